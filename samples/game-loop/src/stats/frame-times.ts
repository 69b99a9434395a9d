/** Frame-time figures of one stage, in milliseconds. */
export interface FrameTimeSummary {
  frames: number;
  totalMs: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Frames per second of wall-clock time spent in frames. */
  framesPerSecond: number;
}

/**
 * Frame durations recorded into a preallocated Float64Array, so recording a
 * frame creates nothing on the JS heap; the percentiles are computed once the
 * stage is over.
 */
export class FrameTimes {
  readonly samples: Float64Array;
  count = 0;

  constructor(capacity: number) {
    this.samples = new Float64Array(capacity);
  }

  /** Records one frame's duration (ms). Frames past the capacity are dropped. */
  record(ms: number): void {
    if (this.count < this.samples.length) this.samples[this.count++] = ms;
  }

  summary(): FrameTimeSummary {
    const sorted = this.samples.slice(0, this.count).sort();
    let total = 0;
    for (const ms of sorted) total += ms;
    const frames = this.count;
    return {
      frames,
      totalMs: total,
      meanMs: frames === 0 ? 0 : total / frames,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: frames === 0 ? 0 : sorted[frames - 1]!,
      framesPerSecond: total === 0 ? 0 : (frames * 1000) / total,
    };
  }
}

/** The nearest-rank percentile `p` (0..100) of ascending `sorted` values; 0 when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}
