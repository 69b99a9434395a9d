import { SeededRandom, formatCount as count } from "@memkit/core";
import { TRACE_IDS } from "./traces/catalog.js";
import type { TraceId } from "./traces/catalog.js";

/** The five synthetic workloads. */
export type SyntheticId = "A" | "B" | "C" | "D" | "E";

/** Every workload: the synthetic ones and the recorded programs' traces (src/traces/catalog.ts). */
export type WorkloadId = SyntheticId | TraceId;

/** The synthetic workloads, in print order. */
export const WORKLOAD_IDS: readonly SyntheticId[] = ["A", "B", "C", "D", "E"];

/** Every workload, in print order. */
export const ALL_WORKLOAD_IDS: readonly WorkloadId[] = [...WORKLOAD_IDS, ...TRACE_IDS];

/**
 * A pre-generated op sequence, so generating random numbers costs nothing
 * inside the timed loop and every subject sees exactly the same ops.
 *
 * Op `i` works on slot `slots[i]` (an index into the runner's handle table):
 * `sizes[i] > 0` allocates that many bytes into the (empty) slot,
 * `sizes[i] === 0` frees the slot's block, and
 * `sizes[i] < 0` reallocates the slot's block to `-sizes[i]` bytes.
 */
export interface OpSequence {
  readonly slots: Int32Array;
  readonly sizes: Int32Array;
  /** Number of ops (the arrays' length). */
  readonly count: number;
  /** Size of the handle table the ops index. */
  readonly slotCount: number;
  /**
   * Traces only (src/traces/replay.ts): per allocating op, bit 0x80 = zero the
   * block (calloc), low 5 bits = log2 of the alignment asked for (0: default).
   * Without it the runner uses its plain loop.
   */
  readonly flags?: Uint8Array;
}

/** A workload: what it models, and its ops. */
export interface Workload {
  readonly id: WorkloadId;
  /** One line: sizes, live blocks, op count. */
  readonly title: string;
  /** The seed the ops were generated from. */
  readonly seed: number;
  readonly ops: OpSequence;
}

/** How big each workload is. The full sizes are the benchmark's definition; quick ones are for smoke runs and tests. */
export interface WorkloadParams {
  /** A: 32-byte blocks, `live` of them live, `ops` ops. */
  A: { live: number; ops: number };
  /** B: uniform 8..256 B. */
  B: { live: number; ops: number };
  /** C: log-uniform 16 B..64 KiB. */
  C: { live: number; ops: number };
  /** D: `blocks` of 16..512 B per frame, all freed at frame end, for `frames` frames. */
  D: { blocks: number; frames: number };
  /** E: `arrays` arrays, each reallocated from 16 B, doubling, up to 64 KiB. */
  E: { arrays: number };
}

/** The benchmark's definition (the numbers). */
export const FULL_PARAMS: WorkloadParams = {
  A: { live: 10_000, ops: 1_000_000 },
  B: { live: 10_000, ops: 1_000_000 },
  C: { live: 2_000, ops: 200_000 },
  D: { blocks: 1_000, frames: 1_000 },
  E: { arrays: 1_000 },
};

/** A fast smoke run: same shapes, a few percent of the ops. */
export const QUICK_PARAMS: WorkloadParams = {
  A: { live: 1_000, ops: 20_000 },
  B: { live: 1_000, ops: 20_000 },
  C: { live: 200, ops: 4_000 },
  D: { blocks: 100, frames: 20 },
  E: { arrays: 50 },
};

/** The default seed of `npm run bench`. */
export const DEFAULT_SEED = 0x6d656d6b; // "memk"

/** Generates workload `id` from `seed`: the same arguments give the same ops, byte for byte. */
export function generateWorkload(id: SyntheticId, seed: number = DEFAULT_SEED, params: WorkloadParams = FULL_PARAMS): Workload {
  // Each workload draws from its own stream, so --only A,C gives the same ops as a full run.
  const rng = new SeededRandom((seed ^ Math.imul(WORKLOAD_IDS.indexOf(id) + 1, 0x9e3779b9)) >>> 0);
  switch (id) {
    case "A": {
      const { live, ops } = params.A;
      return { id, seed, title: `32 B alloc/free, ${count(live)} live, ${count(ops)} ops`, ops: steadyState(rng, live, ops, () => 32) };
    }
    case "B": {
      const { live, ops } = params.B;
      return { id, seed, title: `8..256 B uniform, ${count(live)} live, ${count(ops)} ops`, ops: steadyState(rng, live, ops, () => rng.int(8, 256)) };
    }
    case "C": {
      const { live, ops } = params.C;
      return {
        id,
        seed,
        title: `16 B..64 KiB log-uniform, ${count(live)} live, ${count(ops)} ops`,
        ops: steadyState(rng, live, ops, () => rng.logUniform(16, 65536)),
      };
    }
    case "D": {
      const { blocks, frames } = params.D;
      return { id, seed, title: `frame churn: ${count(blocks)} x 16..512 B per frame freed at frame end, ${count(frames)} frames`, ops: frameChurn(rng, blocks, frames) };
    }
    case "E": {
      const { arrays } = params.E;
      return { id, seed, title: `realloc growth: ${count(arrays)} arrays doubling 16 B -> 64 KiB`, ops: reallocGrowth(rng, arrays, 16, 65536) };
    }
  }
}

/**
 * Fill `live` slots, then replace a random live block `(ops - 2 live) / 2`
 * times (free it, allocate a new one of a fresh size), then free everything
 * in random order. The live count stays at `live` through the steady part.
 */
function steadyState(rng: SeededRandom, live: number, ops: number, nextSize: () => number): OpSequence {
  checkCount("live", live);
  const pairs = Math.max(0, Math.floor((ops - 2 * live) / 2));
  const b = new OpBuilder(2 * live + 2 * pairs, live);
  for (let s = 0; s < live; s++) b.push(s, nextSize());
  for (let k = 0; k < pairs; k++) {
    const s = rng.int(0, live - 1);
    b.push(s, 0);
    b.push(s, nextSize());
  }
  const order = shuffled(rng, live);
  for (let k = 0; k < live; k++) b.push(order[k]!, 0);
  return b.finish();
}

/** Per frame: allocate `blocks` blocks of 16..512 B, then free them in allocation order. */
function frameChurn(rng: SeededRandom, blocks: number, frames: number): OpSequence {
  checkCount("blocks", blocks);
  const b = new OpBuilder(2 * blocks * frames, blocks);
  for (let f = 0; f < frames; f++) {
    for (let s = 0; s < blocks; s++) b.push(s, rng.int(16, 512));
    for (let s = 0; s < blocks; s++) b.push(s, 0);
  }
  return b.finish();
}

/**
 * Allocate `arrays` blocks of `from` bytes; then, until all have reached `to`,
 * pick a random array that is still growing and double it (so sizes interleave
 * as they do when many arrays grow at their own pace); then free them all.
 */
function reallocGrowth(rng: SeededRandom, arrays: number, from: number, to: number): OpSequence {
  checkCount("arrays", arrays);
  const steps = Math.round(Math.log2(to / from));
  const b = new OpBuilder(arrays * (steps + 2), arrays);
  const size = new Int32Array(arrays);
  const growing = new Int32Array(arrays);
  for (let s = 0; s < arrays; s++) {
    b.push(s, from);
    size[s] = from;
    growing[s] = s;
  }
  let remaining = arrays;
  while (remaining > 0) {
    const k = rng.int(0, remaining - 1);
    const s = growing[k]!;
    const next = size[s]! * 2;
    size[s] = next;
    b.push(s, -next);
    if (next >= to) growing[k] = growing[--remaining]!;
  }
  for (let s = 0; s < arrays; s++) b.push(s, 0);
  return b.finish();
}

/** Live-set facts of the first `count` ops of a sequence (not timed). */
export interface LiveProfile {
  /** Highest sum of live block sizes. */
  peakLiveBytes: number;
  /** Index of the op after which the live bytes first reached their peak. */
  peakOp: number;
  /** Most blocks live at once. */
  maxLive: number;
  /** Largest single request. */
  maxSize: number;
  allocs: number;
  frees: number;
  reallocs: number;
}

/** Replays the sizes of the first `count` ops (default: all) to find the live peak. */
export function liveProfile(ops: OpSequence, count: number = ops.count): LiveProfile {
  const slotSize = new Float64Array(ops.slotCount);
  let live = 0;
  let liveCount = 0;
  const p: LiveProfile = { peakLiveBytes: 0, peakOp: 0, maxLive: 0, maxSize: 0, allocs: 0, frees: 0, reallocs: 0 };
  for (let i = 0; i < count; i++) {
    const s = ops.slots[i]!;
    const n = ops.sizes[i]!;
    if (n > 0) {
      live += n;
      slotSize[s] = n;
      liveCount++;
      p.allocs++;
      if (n > p.maxSize) p.maxSize = n;
    } else if (n === 0) {
      live -= slotSize[s]!;
      slotSize[s] = 0;
      liveCount--;
      p.frees++;
    } else {
      live += -n - slotSize[s]!;
      slotSize[s] = -n;
      p.reallocs++;
      if (-n > p.maxSize) p.maxSize = -n;
    }
    if (live > p.peakLiveBytes) {
      p.peakLiveBytes = live;
      p.peakOp = i;
    }
    if (liveCount > p.maxLive) p.maxLive = liveCount;
  }
  return p;
}

/** The slots still live after the first `count` ops (a capped prefix leaves blocks live). */
export function liveSlotsAfter(ops: OpSequence, count: number = ops.count): Int32Array {
  const live = new Uint8Array(ops.slotCount);
  for (let i = 0; i < count; i++) {
    const n = ops.sizes[i]!;
    if (n > 0) live[ops.slots[i]!] = 1;
    else if (n === 0) live[ops.slots[i]!] = 0;
  }
  const out: number[] = [];
  live.forEach((v, s) => {
    if (v === 1) out.push(s);
  });
  return Int32Array.from(out);
}

/** Appends ops into typed arrays of a known final length. */
class OpBuilder {
  private readonly slots: Int32Array;
  private readonly sizes: Int32Array;
  private n = 0;

  constructor(
    capacity: number,
    private readonly slotCount: number,
  ) {
    this.slots = new Int32Array(capacity);
    this.sizes = new Int32Array(capacity);
  }

  push(slot: number, size: number): void {
    this.slots[this.n] = slot;
    this.sizes[this.n] = size;
    this.n++;
  }

  finish(): OpSequence {
    if (this.n !== this.slots.length) throw new Error(`workload generator produced ${this.n} ops, expected ${this.slots.length}`);
    return { slots: this.slots, sizes: this.sizes, count: this.n, slotCount: this.slotCount };
  }
}

function shuffled(rng: SeededRandom, n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`workload parameter ${what} must be a positive integer, received ${n}`);
}
