/** The prober book and the lame-duck plan (pure functions of the times they are given), and `probed()`'s input. */
import { createLameduck } from '../src/index.js';
import { ASSUMED_INTERVAL, createProberBook, planLameDuck, type ProberBook } from '../src/probers.js';

/** `id` probing every `every` ms from `from` to `to` (inclusive), answered 503 from `failFrom` on. */
function probe(book: ProberBook, id: string, every: number, from: number, to: number, failFrom = Infinity): void {
  for (let at = from; at <= to; at += every) book.record(id, at, at >= failFrom);
}

const plan = (book: ProberBook, start: number, extra: { minimum?: number; cap?: number; failures?: number } = {}) =>
  planLameDuck(book, { start, delay: 'auto', failures: 3, minimum: 0, cap: 15_000, ...extra });

describe('the prober book', () => {
  test("learns each prober's interval as the median of its last intervals", () => {
    const book = createProberBook();
    probe(book, '10.0.0.1', 200, 0, 1_000);
    book.record('10.0.0.2 kube-probe/1.30', 0, false);
    expect(book.get('10.0.0.2 kube-probe/1.30')).toMatchObject({ probes: 1, interval: undefined });
    book.record('10.0.0.2 kube-probe/1.30', 10_000, false);
    book.record('10.0.0.2 kube-probe/1.30', 19_000, false);
    book.record('10.0.0.2 kube-probe/1.30', 19_050, false); // one stray probe does not move the median
    book.record('10.0.0.2 kube-probe/1.30', 29_000, false);
    expect(book.get('10.0.0.1')).toMatchObject({ probes: 6, last: 1_000, interval: 200, failures: 0 });
    expect(book.get('10.0.0.2 kube-probe/1.30')?.interval).toBe(9_000);
  });

  test('two probers behind one address and User-Agent: bursts are not intervals', () => {
    const book = createProberBook();
    for (let at = 0; at <= 10_000; at += 1_000) {
      book.record('10.0.0.9', at, false);
      book.record('10.0.0.9', at + 2, false);
    }
    expect(book.get('10.0.0.9')).toMatchObject({ probes: 22, interval: 998 });
  });

  test('a prober is active until two of its intervals and a second have passed; one seen once, for ASSUMED_INTERVAL', () => {
    const book = createProberBook();
    probe(book, 'lb', 500, 0, 2_000);
    book.record('curl', 1_000, false);
    expect(book.active(4_000).map((prober) => prober.id)).toEqual(['lb', 'curl']);
    expect(book.active(4_001).map((prober) => prober.id)).toEqual(['curl']);
    expect(book.active(1_000 + ASSUMED_INTERVAL + 1)).toEqual([]);
  });

  test('remembers at most 64 probers, forgetting the one seen longest ago', () => {
    const book = createProberBook();
    for (let index = 0; index < 65; index++) book.record(`10.0.0.${index}`, index, false);
    expect(book.get('10.0.0.0')).toBeUndefined();
    expect(book.get('10.0.0.1')).toBeDefined();
    expect(book.get('10.0.0.64')).toBeDefined();
  });
});

describe('the lame-duck plan', () => {
  test('a fixed readinessDelay lasts exactly that long, probers or not', () => {
    const book = createProberBook();
    probe(book, 'lb', 200, 0, 1_000);
    const fixed = planLameDuck(book, { start: 1_000, delay: 5_000, failures: 3, minimum: 0, cap: 15_000 });
    expect(fixed.mode).toBe('fixed');
    expect(fixed.check(5_999)).toEqual({ done: false, next: 6_000 });
    expect(fixed.check(6_000)).toEqual({ done: true });
  });

  test('nobody probed: skipped at once', () => {
    const empty = plan(createProberBook(), 1_000);
    expect(empty).toMatchObject({ mode: 'no probers', probers: [] });
    expect(empty.check(1_000)).toEqual({ done: true });
  });

  test('a prober that stopped long before the signal does not count', () => {
    const book = createProberBook();
    probe(book, 'lb', 200, 0, 1_000);
    expect(plan(book, 60_000).mode).toBe('no probers');
  });

  test('the platform minimum holds the phase when nobody probes', () => {
    const minimum = plan(createProberBook(), 1_000, { minimum: 5_000 });
    expect(minimum.mode).toBe('platform minimum');
    expect(minimum.check(1_000)).toEqual({ done: false, next: 6_000 });
    expect(minimum.check(6_000)).toEqual({ done: true });
  });

  test('lasts until the prober got `failures` 503s, plus one of its intervals', () => {
    const book = createProberBook();
    probe(book, 'lb', 200, 0, 1_000);
    const probers = plan(book, 1_050);
    expect(probers.mode).toBe('probers');
    expect(probers.probers).toEqual([expect.objectContaining({ id: 'lb', interval: 200 })]);
    // Not yet probed since the signal: held until it has been missing for two intervals and a second.
    expect(probers.check(1_100)).toEqual({ done: false, next: 2_400 });
    book.record('lb', 1_200, true);
    book.record('lb', 1_400, true);
    expect(probers.check(1_450)).toEqual({ done: false, next: 2_800 });
    book.record('lb', 1_600, true);
    expect(probers.check(1_600)).toEqual({ done: false, next: 1_800 });
    expect(probers.check(1_799)).toEqual({ done: false, next: 1_800 });
    expect(probers.check(1_800)).toEqual({ done: true });
  });

  test('a prober that keeps probing after its third 503 does not push the end further', () => {
    const book = createProberBook();
    probe(book, 'haproxy', 2_000, 0, 10_000);
    const phase = plan(book, 10_500);
    probe(book, 'haproxy', 2_000, 12_000, 20_000, 12_000); // 503s at 12, 14, 16, 18 and 20 s
    expect(phase.check(17_999)).toEqual({ done: false, next: 18_000 });
    expect(phase.check(18_000)).toEqual({ done: true });
  });

  test('waits for every active prober; one that stops probing is released two intervals and a second after its last probe', () => {
    const book = createProberBook();
    probe(book, 'fast', 500, 0, 10_000);
    probe(book, 'slow', 2_000, 0, 10_000);
    const both = plan(book, 10_100);
    expect(both.probers.map((prober) => prober.id)).toEqual(['fast', 'slow']);
    probe(book, 'fast', 500, 10_500, 11_500, 10_500);
    // 'fast' is satisfied at 11_500 + 500; 'slow' has not probed since 10_000.
    expect(both.check(12_000)).toEqual({ done: false, next: 15_000 });
    // 'slow' never comes back (taken out of service, say): it does not hold the phase past 10_000 + 2 × 2_000 + 1_000.
    expect(both.check(15_000)).toEqual({ done: true });
  });

  test("the kubelet's probes do not hold the phase: Kubernetes takes a terminating pod out whatever they answer", () => {
    const book = createProberBook();
    probe(book, '10.244.0.1 kube-probe/1.30', 10_000, 0, 60_000);
    probe(book, '10.0.0.7 ELB-HealthChecker/2.0', 5_000, 0, 60_000);
    const pod = plan(book, 60_100, { minimum: 5_000 });
    expect(pod.probers.map((prober) => prober.id)).toEqual(['10.0.0.7 ELB-HealthChecker/2.0']);
    expect(plan(createProberBook(), 0).mode).toBe('no probers');
    const kubeletOnly = createProberBook();
    probe(kubeletOnly, '10.244.0.1 kube-probe/1.30', 10_000, 0, 60_000);
    expect(plan(kubeletOnly, 60_100, { minimum: 5_000 })).toMatchObject({ mode: 'platform minimum', probers: [] });
  });

  test('a prober first seen after the signal does not hold the phase', () => {
    const book = createProberBook();
    const late = plan(book, 1_000);
    book.record('curl', 1_100, true);
    expect(late.check(1_100)).toEqual({ done: true });
  });

  test('never longer than the cap, nor a minimum beyond it', () => {
    const book = createProberBook();
    probe(book, 'slow', 10_000, 0, 30_000);
    const capped = plan(book, 30_000, { cap: 8_000, minimum: 20_000 });
    expect(capped.minimum).toBe(8_000);
    expect(capped.check(37_999)).toEqual({ done: false, next: 38_000 });
    expect(capped.check(38_000)).toEqual({ done: true });
  });

  test('readinessFailures 1: one 503 and one interval', () => {
    const book = createProberBook();
    probe(book, 'lb', 500, 0, 2_000);
    const one = plan(book, 2_100, { failures: 1 });
    book.record('lb', 2_500, true);
    expect(one.check(2_999)).toEqual({ done: false, next: 3_000 });
    expect(one.check(3_000)).toEqual({ done: true });
  });
});

describe('lameduck.probed()', () => {
  test('bad input: an error that names the field and what it received', () => {
    const lameduck = createLameduck({ silent: true });
    expect(() => lameduck.probed(undefined as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION', option: 'from', received: undefined }),
    );
    expect(() => lameduck.probed({ address: 10 as never, userAgent: undefined })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION', option: 'address', received: 10 }),
    );
    expect(() => lameduck.probed({ address: '10.0.0.7', userAgent: ['Envoy/HC'] as never })).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_OPTION',
        option: 'userAgent',
        message: expect.stringContaining('"userAgent" must be a string or undefined'),
      }),
    );
    expect(() => lameduck.probed({ address: '10.0.0.7', userAgent: undefined })).not.toThrow();
  });
});
