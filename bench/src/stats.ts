/** Small statistics for few samples: median, quantiles, spread, and a bootstrap interval of a median. */

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new Error('no samples');
  return [...values].sort((a, b) => a - b);
}

/** The q-quantile (0..1) by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  const ordered = sorted(values);
  const position = (ordered.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return ordered[low]! + (ordered[high]! - ordered[low]!) * (position - low);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
export const min = (values: readonly number[]): number => sorted(values)[0]!;
export const max = (values: readonly number[]): number => sorted(values).at(-1)!;
export const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

/** The sample standard deviation (n − 1). */
export function stdev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = sum(values) / values.length;
  return Math.sqrt(sum(values.map((value) => (value - mean) ** 2)) / (values.length - 1));
}

/**
 * How far apart two medians of `samples.length` paired differences can be by chance alone: twice the
 * standard error of a median (≈ 1.25 σ/√n for roughly normal noise), σ estimated from an A/A comparison's
 * per-round differences; never less than how far that A/A comparison's own median is from zero.
 */
export function noiseMargin(differences: readonly number[]): number {
  const standardError = (1.25 * stdev(differences)) / Math.sqrt(differences.length);
  return Math.max(2 * standardError, Math.abs(median(differences)));
}

/** A median with its bootstrap confidence interval. */
export interface Estimate {
  median: number;
  low: number;
  high: number;
}

/** A small seeded generator (mulberry32), so that a report's intervals do not move between renders. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The median of `values` and its percentile bootstrap interval (`confidence`, 95% by default): the
 * median of `resamples` resamples with replacement, their 2.5th and 97.5th percentiles.
 */
export function bootstrapMedian(values: readonly number[], confidence = 0.95, resamples = 2_000): Estimate {
  const random = generator(values.length * 7919 + 17);
  const medians: number[] = [];
  const resample = new Array<number>(values.length);
  for (let i = 0; i < resamples; i++) {
    for (let j = 0; j < values.length; j++) resample[j] = values[Math.floor(random() * values.length)]!;
    medians.push(median(resample));
  }
  const tail = (1 - confidence) / 2;
  return { median: median(values), low: quantile(medians, tail), high: quantile(medians, 1 - tail) };
}

/**
 * The median of every value of every group, with a two-level (cluster) bootstrap interval: each resample
 * draws groups with replacement, then values within each drawn group, so that groups that disagree (runs
 * in separate processes) widen the interval as much as they should.
 */
export function clusterBootstrapMedian(
  groups: readonly (readonly number[])[],
  confidence = 0.95,
  resamples = 2_000,
): Estimate {
  const filled = groups.filter((group) => group.length > 0);
  const all = filled.flat();
  const random = generator(all.length * 7919 + filled.length * 104_729 + 17);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const medians: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const resample: number[] = [];
    for (let g = 0; g < filled.length; g++) {
      const group = pick(filled);
      for (let j = 0; j < group.length; j++) resample.push(pick(group));
    }
    medians.push(median(resample));
  }
  const tail = (1 - confidence) / 2;
  return { median: median(all), low: quantile(medians, tail), high: quantile(medians, 1 - tail) };
}
