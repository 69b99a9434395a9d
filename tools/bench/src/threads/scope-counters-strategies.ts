/*
 * The candidates for a scope's counters when threads share it (docs/threads.md,
 * "Scopes across threads"). One "pair" is an allocation and, `LIVE` pairs
 * later, its free: each updates live bytes, live count, the peak and the
 * event count of every scope up a 3-level chain, and the leaf checks a
 * budget, as a trace scope does.
 *
 *   plain   float64 adds into one row per scope: today's single-thread code (wrong with 2 threads)
 *   atomic  Atomics.add on int32 live bytes/count, a compare-and-swap loop for the peak, atomic events
 *   shard   float64 adds into this thread's own row per scope; totals merged on read (peak per shard only)
 *   hybrid  atomic live bytes + peak (what budgets and an exact peak need), sharded event counts
 */

export type StrategyId = "plain" | "atomic" | "shard" | "hybrid";

export interface CounterJob {
  strategy: StrategyId;
  /** Shared counters: int32 words for atomics, float64 rows for the rest. */
  buffer: SharedArrayBuffer;
  /** Start barrier: [ready count, go]. */
  sync: SharedArrayBuffer;
  thread: number;
  pairs: number;
}

/** Scope levels updated per operation (root/physics/broadphase). */
export const DEPTH = 3;
/** Blocks live at once per thread. */
const LIVE = 1024;
/** Float64 slots per row: live bytes, live count, peak, events. A row is one 64-byte cache line. */
const ROW = 8;
/** Int32 words per scope for the atomic counters: one cache line each. */
const WORDS = 16;
/** Rows per thread in the sharded layouts. */
export const SHARD_ROWS = DEPTH;
/** Float64 slot where the rows start: after the atomic words. */
const ROWS_AT = (DEPTH * WORDS * 4) / 8;
/** Bytes the counters need for `threads` threads. */
export function counterBytes(threads: number): number {
  return (ROWS_AT + threads * SHARD_ROWS * ROW) * 8;
}
const BUDGET = 2 ** 30;

function sizes(): Int32Array {
  const s = new Int32Array(LIVE);
  let x = 0x9e3779b9;
  for (let i = 0; i < LIVE; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s[i] = 16 + ((x >>> 0) % 240);
  }
  return s;
}

function plain(job: CounterJob, rowBase: number): void {
  const f64 = new Float64Array(job.buffer);
  const size = sizes();
  for (let i = 0; i < job.pairs; i++) {
    const s = size[i & (LIVE - 1)]!;
    for (let d = 0; d < DEPTH; d++) {
      const r = ROWS_AT + (rowBase + d) * ROW;
      const live = f64[r]! + s;
      f64[r] = live;
      f64[r + 1]!++;
      if (live > f64[r + 2]!) f64[r + 2] = live;
      f64[r + 3]!++;
      if (d === DEPTH - 1 && live > BUDGET) throw new Error("budget");
    }
    for (let d = 0; d < DEPTH; d++) {
      const r = ROWS_AT + (rowBase + d) * ROW;
      f64[r] = f64[r]! - s;
      f64[r + 1]!--;
      f64[r + 3]!++;
    }
  }
}

function atomic(job: CounterJob, events: boolean): void {
  const i32 = new Int32Array(job.buffer);
  const f64 = new Float64Array(job.buffer);
  const size = sizes();
  const rowBase = job.thread * SHARD_ROWS;
  for (let i = 0; i < job.pairs; i++) {
    const s = size[i & (LIVE - 1)]!;
    for (let d = 0; d < DEPTH; d++) {
      const w = d * WORDS;
      const live = Atomics.add(i32, w, s) + s;
      Atomics.add(i32, w + 1, 1);
      let peak = Atomics.load(i32, w + 2);
      while (live > peak) {
        const seen = Atomics.compareExchange(i32, w + 2, peak, live);
        if (seen === peak) break;
        peak = seen;
      }
      if (events) Atomics.add(i32, w + 3, 1);
      else f64[ROWS_AT + (rowBase + d) * ROW + 3]!++;
      if (d === DEPTH - 1 && live > BUDGET) throw new Error("budget");
    }
    for (let d = 0; d < DEPTH; d++) {
      const w = d * WORDS;
      Atomics.sub(i32, w, s);
      Atomics.sub(i32, w + 1, 1);
      if (events) Atomics.add(i32, w + 3, 1);
      else f64[ROWS_AT + (rowBase + d) * ROW + 3]!++;
    }
  }
}

export const STRATEGIES: Record<StrategyId, (job: CounterJob) => void> = {
  plain: (job) => plain(job, 0),
  shard: (job) => plain(job, job.thread * SHARD_ROWS),
  atomic: (job) => atomic(job, true),
  hybrid: (job) => atomic(job, false),
};
