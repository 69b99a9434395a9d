import { SpaceViews } from "@memkit/containers";
import { MemoryGlobals, type MemoryShare } from "@memkit/memory-globals";
import { ERROR_BUFFER_BYTES, PHASE_CONTACTS, PHASE_EXIT, W_ERROR_BYTES, W_FAILED, W_FRAME, W_PENDING, W_PHASE, W_SEQ } from "./job-board.js";
import { JobKernels } from "./kernels.js";

/** What the main thread sends a job worker once, at start (`workerData`). */
export interface JobWorkerData {
  /** memory.share() of the engine's memory. */
  share: MemoryShare;
  /** This thread's name in the memory's thread table: `jobs-1`, `jobs-2`, ... */
  threadName: string;
  /** The job board (job-board.ts) and the buffer a failure's message goes into. */
  board: SharedArrayBuffer;
  errors: SharedArrayBuffer;
  /** This worker's share of every phase (1..workers; the main thread runs share 0), and the number of shares. */
  shareIndex: number;
  shares: number;
}

/** Test hooks: run before each phase (a test makes a worker throw here). */
export interface JobWorkerHooks {
  beforePhase?(phase: number, frame: number, data: JobWorkerData): void;
}

/** Load-spins before sleeping on the board: a phase often follows the last one within microseconds. */
const SPINS = 2000;

/**
 * A job worker's life: attach to the shared memory (its own heap, frame and
 * scratch allocators; a handle on the `ai` scope once it plans), say "ready" (the only
 * message it ever sends), then run its share of each phase the main thread
 * dispatches, until the exit phase, where it detaches. A phase that throws
 * writes the error into the error buffer, flags the board and ends the loop
 * without detaching: the main thread terminates every worker and declares
 * each ended (memory.threadEnded).
 */
export function runJobWorker(data: JobWorkerData, post: (message: string) => void, hooks: JobWorkerHooks = {}): void {
  const board = new Int32Array(data.board);
  const memory = MemoryGlobals.attach(data.share, { threadName: data.threadName });
  const kernels = new JobKernels(SpaceViews.of(memory.space), memory.frame, () => memory.openScope("ai"));
  let seen = Atomics.load(board, W_SEQ);
  post("ready");
  for (;;) {
    seen = nextPhase(board, seen);
    const phase = Atomics.load(board, W_PHASE);
    try {
      hooks.beforePhase?.(phase, board[W_FRAME]!, data);
      if (phase === PHASE_EXIT) {
        memory.detach();
        finish(board);
        return;
      }
      // The main thread (or another worker) may have grown the memory since this thread last looked.
      memory.space.refresh();
      // This thread's frame memory turns over with the main thread's frames: contacts open a frame.
      if (phase === PHASE_CONTACTS) memory.frame.beginFrame();
      kernels.run(board, phase, data.shareIndex, data.shares);
    } catch (err) {
      fail(board, data, err);
      finish(board);
      return;
    }
    finish(board);
  }
}

/** Waits until the board's sequence moves past `seen` (spinning first, then sleeping); returns the new sequence. */
function nextPhase(board: Int32Array, seen: number): number {
  for (let spin = 0; spin < SPINS; spin++) {
    const seq = Atomics.load(board, W_SEQ);
    if (seq !== seen) return seq;
  }
  for (;;) {
    Atomics.wait(board, W_SEQ, seen);
    const seq = Atomics.load(board, W_SEQ);
    if (seq !== seen) return seq;
  }
}

/** Counts this worker's share done; the last one wakes the main thread. */
function finish(board: Int32Array): void {
  if (Atomics.sub(board, W_PENDING, 1) === 1) Atomics.notify(board, W_PENDING);
}

/** Writes the failure (the first one only) where the main thread reads it at the join. */
function fail(board: Int32Array, data: JobWorkerData, err: unknown): void {
  if (Atomics.compareExchange(board, W_FAILED, 0, data.shareIndex) !== 0) return;
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  const bytes = new TextEncoder().encode(text).subarray(0, ERROR_BUFFER_BYTES);
  new Uint8Array(data.errors).set(bytes);
  Atomics.store(board, W_ERROR_BYTES, bytes.length);
}
