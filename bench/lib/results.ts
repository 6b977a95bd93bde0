import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';

/** One measured number, with what it measures and the parameters it was measured with. */
export interface Figure {
  /** Benchmark group, e.g. `sweep`, `dynamodb`, `consumer`, `bundles`, `sdk`. */
  readonly bench: string;
  /** Stable id within the run, e.g. `sweep.10000.100ms.ratio`. */
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  readonly params: Readonly<Record<string, string | number | boolean>>;
}

/** Figures of one run, plus free-form details per benchmark (raw counters, distributions). */
export class Results {
  readonly figures: Figure[] = [];
  readonly details: Record<string, unknown> = {};

  add(
    bench: string,
    id: string,
    label: string,
    value: number,
    unit: string,
    params: Readonly<Record<string, string | number | boolean>> = {},
  ): void {
    this.figures.push({
      bench,
      id,
      label,
      value: Number.isFinite(value) ? Number(value.toFixed(4)) : value,
      unit,
      params,
    });
  }

  detail(key: string, value: unknown): void {
    this.details[key] = value;
  }
}

/** What the numbers were measured on. */
export function machineInfo(): Record<string, unknown> {
  const cpu = cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout: the figures still stand, without a commit to pin them to.
  }
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cpuCount: cpu.length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    freeMemoryGiB: Number((freemem() / 2 ** 30).toFixed(1)),
    platform: `${platform()} ${release()}`,
    /** 1, 5 and 15 minute load averages when the report was written: other work on the machine skews figures. */
    loadAverage: loadavg().map((n) => Number(n.toFixed(2))),
    node: process.version,
    commit,
  };
}
