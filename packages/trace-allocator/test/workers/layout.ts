// The shared-memory layout of the thread tests of scopes (test/threads.test.ts and
// scopes-worker.ts): the thread table, the tree lock, a few control words and the rings that
// carry blocks from one worker to another (single producer, single consumer each), below the
// page allocator's control block.

export const TABLE = 1024;
export const LOCK = 8192;
export const LOCK_CAPACITY = 8;
/** Control words (u32 index from CTRL >>> 2). */
export const CTRL = 8448;
export const C_TREE = 0; // the tree's control block
export const C_ROUTES = 1; // the routes table of the generic allocators
export const C_DONE = 2; // workers that finished sending
export const C_BARRIER = 3; // arrivals at the barrier
export const C_BARRIER_GEN = 4; // barrier generation
export const C_SHARED_PTR = 5; // the block both workers free (double-free test)
export const C_STARTED = 6; // workers attached
/** Per worker, from C_WORKER + w * WORKER_WORDS: */
export const C_WORKER = 16;
export const WORKER_WORDS = 16;
export const W_OPS = 0; // operations done
export const W_ALLOCS = 1; // allocations made
export const W_FREES = 2; // frees made
export const W_BAD = 3; // broken patterns or unexpected errors
export const W_FREED = 4; // double-free test: frees that succeeded
export const W_DOUBLE = 5; // double-free test: DoubleFreeError
export const W_OOM = 6; // budget test: OutOfMemoryError refusals
export const W_OVER = 7; // budget test: reports seen over the budget
export const W_SLOT = 8; // thread-table slot
export const W_GEN = 9; // its generation
/** Live bytes and blocks held at the end, per scope: from C_LIVE + scope * 2. */
export const C_LIVE = 96;
export const RINGS = 16384;
export const RING = 512;
export const MAX_WORKERS = 4;
export const PAGES_CONTROL = 131072;
export const INITIAL_BYTES = 8 << 20;
export const MAX_BYTES = 256 << 20;
/** Scope paths below the root the workers use (index = scope number in rings and C_LIVE). */
export const SCOPES = ["physics", "physics/broadphase", "ai"] as const;

/** Word index of the ring from worker `from` to worker `to`: head, tail, then RING entries (ptr, size, scope). */
export function ringBase(from: number, to: number): number {
  return (RINGS >>> 2) + (from * MAX_WORKERS + to) * (2 + RING * 3);
}

export function workerWord(w: number, field: number): number {
  return (CTRL >>> 2) + C_WORKER + w * WORKER_WORDS + field;
}

export interface ScopesJob {
  memory: WebAssembly.Memory;
  mode: "stress" | "budget" | "double";
  worker: number;
  workers: number;
  ops: number;
  seed: number;
  /** budget mode: block size */
  size?: number;
}
