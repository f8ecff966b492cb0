/** Small statistics for few samples: median, quartiles, min and max. */

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
