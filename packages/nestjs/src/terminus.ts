/** Interop with @nestjs/terminus, by the shape of its results (no import): its indicators as lameduck checks, lameduck's state as an indicator. */
import type { Lameduck, ReadinessCheck } from '@lameduck/core';

/** What a terminus health indicator resolves to: `{ [key]: { status: 'up' | 'down', ...details } }`. */
export type HealthIndicatorResult = Record<
  string,
  {
    /** `down` fails the lameduck readiness check built from the indicator. */
    status: 'up' | 'down';
    [detail: string]: unknown;
  }
>;

/**
 * A terminus health indicator as a lameduck readiness check: a `down` result, or a thrown
 * `HealthCheckError` (terminus before 10.1), fails readiness.
 * @example
 * LameduckModule.forRootAsync({
 *   inject: [TypeOrmHealthIndicator],
 *   useFactory: (db: TypeOrmHealthIndicator) => ({ checks: { db: fromIndicator(() => db.pingCheck('db')) } }),
 * })
 */
export function fromIndicator(indicate: () => HealthIndicatorResult | Promise<HealthIndicatorResult>): ReadinessCheck {
  return async function terminusIndicator() {
    const result = await indicate();
    return Object.values(result).every((entry) => entry.status === 'up');
  };
}

/**
 * lameduck's state as a terminus indicator: `up` while serving, `down` from the moment shutdown
 * starts, with the state as a detail. For a terminus health controller that should fail during
 * the drain: `health.check([() => lameduckIndicator(this.lameduck)])`.
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => lameduckIndicator(this.lameduck)]); }
 */
export function lameduckIndicator(lameduck: Lameduck, key = 'lameduck'): HealthIndicatorResult {
  return { [key]: { status: lameduck.state === 'serving' ? 'up' : 'down', state: lameduck.state } };
}
