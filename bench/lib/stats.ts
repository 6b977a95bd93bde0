/** Small statistics for benchmark samples (nearest-rank percentiles, no interpolation). */

/** The p-th percentile (0 < p ≤ 100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Median, p95, p99, min and max of samples, rounded to `digits` decimals. */
export function distribution(
  samples: readonly number[],
  digits = 3,
): { n: number; median: number; p95: number; p99: number; min: number; max: number } {
  const round = (value: number) => Number(value.toFixed(digits));
  return {
    n: samples.length,
    median: round(median(samples)),
    p95: round(percentile(samples, 95)),
    p99: round(percentile(samples, 99)),
    min: round(samples.length === 0 ? Number.NaN : Math.min(...samples)),
    max: round(samples.length === 0 ? Number.NaN : Math.max(...samples)),
  };
}

/** mulberry32, the emulator's seeded PRNG: a run with the same seed makes the same choices. */
export { seededRandom } from '#local/emulator/faults.js';

/** Runs `task` for every item with at most `concurrency` at a time; results keep the items' order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next;
      next += 1;
      if (index >= items.length) return;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
