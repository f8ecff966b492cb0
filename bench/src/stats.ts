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
