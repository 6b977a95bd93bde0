import type { MetricsRecorder } from '#shared/core/ports/metrics.js';

/** Sums counts by name (and by name plus dimensions). */
export class MemoryMetrics implements MetricsRecorder {
  readonly counts = new Map<string, number>();
  readonly durations = new Map<string, number[]>();

  count(name: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    const id =
      dimensions === undefined
        ? name
        : `${name}{${Object.entries(dimensions)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}}`;
    this.counts.set(id, (this.counts.get(id) ?? 0) + value);
  }

  milliseconds(name: string, value: number): void {
    this.durations.set(name, [...(this.durations.get(name) ?? []), value]);
  }

  get(id: string): number {
    return this.counts.get(id) ?? 0;
  }
}
