import { SpaceViews } from "@memkit/containers";
import { MemoryGlobals, type MemoryShare } from "@memkit/memory-globals";
import {
  ERROR_BUFFER_BYTES,
  PHASE_EXIT,
  W_CHUNKS,
  W_DONE,
  W_ERROR_BYTES,
  W_FAILED,
  W_FAILED_FRAME,
  W_FAILED_PHASE,
  W_FRAME,
  W_PENDING,
  W_PHASE,
  W_SEQ,
  chunkDone,
  claimChunk,
} from "./job-board.js";
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
  /** This worker's number (jobs-N) and the number of workers. */
  workerIndex: number;
  workers: number;
}

/** Test hooks: run when the worker wakes for a phase, before it claims chunks (a test makes a worker throw here). */
export interface JobWorkerHooks {
  beforePhase?(phase: number, frame: number, data: JobWorkerData): void;
}

/** Load-spins before sleeping on the board: a phase often follows the last one within microseconds. */
const SPINS = 2000;

/**
 * A job worker's life: attach to the shared memory (its own heap, frame and
 * scratch allocators; a handle on the `ai` scope once it plans), say "ready"
 * (the only message it ever sends), then claim and run chunks of each phase
 * the main thread dispatches, until the exit phase, where it detaches. A
 * chunk that throws writes the error into the error buffer, flags the board
 * and ends the loop without detaching: the main thread terminates every
 * worker and declares each ended (memory.threadEnded).
 */
export function runJobWorker(data: JobWorkerData, post: (message: string) => void, hooks: JobWorkerHooks = {}): void {
  const board = new Int32Array(data.board);
  const memory = MemoryGlobals.attach(data.share, { threadName: data.threadName });
  const kernels = new JobKernels(SpaceViews.of(memory.space), memory.frame, () => memory.openScope("ai"));
  let seen = Atomics.load(board, W_SEQ);
  let frame = -1;
  post("ready");
  for (;;) {
    seen = nextPhase(board, seen);
    const phase = Atomics.load(board, W_PHASE);
    // Read once: a late waker may see the main thread move on to the next frame while it runs.
    const phaseFrame = board[W_FRAME]!;
    try {
      hooks.beforePhase?.(phase, phaseFrame, data);
      if (phase === PHASE_EXIT) {
        memory.detach();
        if (Atomics.sub(board, W_PENDING, 1) === 1) Atomics.notify(board, W_PENDING);
        return;
      }
      for (let chunk = claimChunk(board, seen); chunk >= 0; chunk = claimChunk(board, seen)) {
        if (board[W_FRAME] !== frame) {
          // The main thread (or another worker) may have grown the memory since this thread last looked.
          memory.space.refresh();
          // This thread's frame memory turns over with the main thread's frames.
          frame = board[W_FRAME]!;
          memory.frame.beginFrame();
        }
        kernels.run(board, phase, chunk, board[W_CHUNKS]!);
        chunkDone(board);
      }
    } catch (err) {
      // Flagged before the chunk counts as done, so the join that waits for it sees the failure.
      fail(board, data, phase, phaseFrame, err);
      return;
    }
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

/**
 * Writes the failure (the first one only) where the main thread reads it,
 * and wakes the main thread: its join stops waiting once `failed` is set
 * (this worker will not count a chunk or its exit any more).
 */
function fail(board: Int32Array, data: JobWorkerData, phase: number, frame: number, err: unknown): void {
  // -1 while the message is written: the main thread reads a failure only once `failed` names the worker.
  if (Atomics.compareExchange(board, W_FAILED, 0, -1) === 0) {
    record(board, data, phase, frame, err);
    Atomics.store(board, W_FAILED, data.workerIndex);
  }
  Atomics.notify(board, W_DONE);
  Atomics.notify(board, W_PENDING);
}

function record(board: Int32Array, data: JobWorkerData, phase: number, frame: number, err: unknown): void {
  board[W_FAILED_PHASE] = phase;
  board[W_FAILED_FRAME] = frame;
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  const bytes = new TextEncoder().encode(text).subarray(0, ERROR_BUFFER_BYTES);
  new Uint8Array(data.errors).set(bytes);
  Atomics.store(board, W_ERROR_BYTES, bytes.length);
}
