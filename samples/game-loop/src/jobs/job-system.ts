import { SpaceViews } from "@memkit/containers";
import type { MemoryGlobals } from "@memkit/memory-globals";
import { CELLS, DT, MAX_EXTRA_WAYPOINTS, cellAt } from "../game/config.js";
import type { FrameJobs, MemkitGame } from "../game/game.js";
import { BODY_WORDS, X, Y } from "../game/physics.js";
import {
  ERROR_BUFFER_BYTES,
  PHASE_AI_PLAN_STEER,
  PHASE_AI_THINK,
  PHASE_CONTACTS,
  PHASE_EXIT,
  RESULT_WORDS,
  R_CONTACTS,
  R_CONTACT_COUNT,
  R_PLANS,
  R_SENSES,
  W_BODIES,
  W_BRAINS,
  W_CHUNKS,
  W_DONE,
  W_ERROR_BYTES,
  W_FAILED,
  W_FAILED_FRAME,
  W_FAILED_PHASE,
  W_FLOW,
  W_FRAME,
  W_HEADS,
  W_N,
  W_NEXT,
  W_PENDING,
  W_PHASE,
  W_PLANS,
  W_RESULTS,
  W_SEQ,
  W_TARGETS,
  W_UNITS,
  chunkDone,
  chunksFor,
  claimChunk,
  createBoard,
  openClaims,
  phaseName,
} from "./job-board.js";
import { JobKernels, PLAN_WAYPOINTS_SHIFT } from "./kernels.js";
import type { JobWorkerData } from "./worker-loop.js";

/** A job worker failed (its error, with its stack, is in the message), or stopped answering. */
export class JobError extends Error {
  override readonly name = "JobError";
}

export interface JobSystemOptions {
  /** Worker threads (0..MAX_WORKERS); the main thread runs a share too (with 0 it runs the one share). */
  workers: number;
  /** The worker script (Node). @defaultValue job-worker.js next to this module (dist/jobs/); tests pass a bundle of the TypeScript source. */
  script?: string | URL;
  /**
   * Starts one job worker with `data` (it runs `runJobWorker`). @defaultValue a
   * Node worker thread running `script` (node:worker_threads, imported only then);
   * a page passes one that starts a Web Worker.
   */
  spawn?: SpawnJobWorker;
  /**
   * Whether this thread may block in `Atomics.wait` while the workers finish
   * a phase. A browser's main thread may not (it throws there): with false it
   * spins instead, still giving up after the same stall time. @defaultValue true
   */
  canSleep?: boolean;
}

/** One job worker, whatever runs it (a Node worker thread, a Web Worker). */
export interface JobThread {
  /** Resolves once the worker has attached to the memory (its one "ready" message); rejects if it fails to start. */
  readonly ready: Promise<void>;
  /** Resolves when the worker has ended. */
  readonly exited: Promise<void>;
  terminate(): Promise<unknown>;
}

/** Starts the job worker for `data`. */
export type SpawnJobWorker = (data: JobWorkerData) => JobThread;

/** The default spawner: a Node worker thread running `script`. */
async function nodeSpawner(script: string | URL): Promise<SpawnJobWorker> {
  // Imported here, not at the top, so that a page bundling the job system does not load Node's module.
  const { Worker } = await import("node:worker_threads");
  return (data) => {
    const worker = new Worker(script, { workerData: data });
    // Errors after start reach the main thread at a join (the board); these listeners keep a late one from crashing the process.
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.on("error", reject);
      void exited.then(() => reject(new JobError(`job worker ${data.threadName} exited before it attached to the memory.`)));
    });
    return { ready, exited, terminate: () => worker.terminate() };
  };
}

/** Load-spins at a join before sleeping: the other threads' chunks end within microseconds of this thread's. */
const SPINS = 2000;
/** A join sleeps in slices this long; a phase that has not ended after STALL_MS is a failure (a worker died without a word). */
const WAIT_SLICE_MS = 100;
const STALL_MS = 10_000;

/**
 * The sample's job system (`--workers N`): N worker threads attached to the
 * engine's shared memory. Each parallel phase of a frame cuts the units into
 * chunks (index ranges, four per thread) that the workers and the main
 * thread claim until none is left; the main thread then does the rest of the
 * frame alone. Phases are handed over through the job board (job-board.ts:
 * Atomics on a SharedArrayBuffer, no message per frame).
 *
 * A frame ({@link step} runs what `Physics.step`, `Gameplay.applyEvents` and
 * `Ai.update` run in a single-threaded frame):
 * ```
 * main:    integrate, spatial hash ─┐            ┌─ resolve contacts (chunk by chunk), bullets, HIT events,
 *                                   ▼            │  targets' dense indices ─┐         ┌─ draw each plan's waypoint
 * chunks:              [contacts of chunk k] ────┘                          ▼         │  count (unit order) ─┐
 *                                                           [think, sense: chunk k] ──┘                      ▼
 *                                                                                 [plan, steer: chunk k] ──► rest of the frame
 * ```
 * Whoever runs a chunk, its results are merged in unit order (contact lists
 * chunk by chunk, plan draws unit by unit, counters summed), so the game is
 * the one a single-threaded run plays: the same checksum for any number of
 * workers, and however the chunks fell.
 */
export class JobSystem implements FrameJobs {
  readonly workers: number;
  /** Chunks (unit ranges) per parallel phase. */
  readonly chunks: number;
  /** The workers' thread names, `jobs-1` .. `jobs-N`. */
  readonly names: readonly string[];
  readonly #memory: MemoryGlobals;
  readonly #board: Int32Array;
  readonly #errors: SharedArrayBuffer;
  readonly #threads: JobThread[];
  readonly #canSleep: boolean;
  readonly #kernels: JobKernels;
  readonly #views: SpaceViews;
  #frames = 0;
  #stopped = false;
  /** The failure that stopped the system, if one did. */
  #failure: JobError | undefined;

  private constructor(memory: MemoryGlobals, workers: number, board: Int32Array, errors: SharedArrayBuffer, threads: JobThread[], canSleep: boolean) {
    this.#memory = memory;
    this.workers = workers;
    this.#board = board;
    this.#errors = errors;
    this.#threads = threads;
    this.#canSleep = canSleep;
    this.names = Array.from({ length: workers }, (_, k) => `jobs-${k + 1}`);
    this.chunks = chunksFor(workers + 1);
    board[W_CHUNKS] = this.chunks;
    this.#views = SpaceViews.of(memory.space);
    this.#kernels = new JobKernels(this.#views, memory.frame, () => memory.openScope("ai"));
  }

  /**
   * Starts `options.workers` workers on `memory` (made with `shared: true`)
   * and resolves once each has attached; the game may be built before or
   * after. A worker that fails to start rejects it, after every started
   * worker was terminated and declared ended.
   */
  static async start(memory: MemoryGlobals, options: JobSystemOptions): Promise<JobSystem> {
    const { workers } = options;
    const canSleep = options.canSleep ?? true;
    const board = createBoard();
    const errors = new SharedArrayBuffer(ERROR_BUFFER_BYTES);
    // No workers: the main thread runs the one share (the kernels' own test); the memory need not be shared then.
    if (workers === 0) return new JobSystem(memory, 0, board, errors, [], canSleep);
    const spawn = options.spawn ?? (await nodeSpawner(options.script ?? new URL("./job-worker.js", import.meta.url)));
    const share = memory.share();
    const threads: JobThread[] = [];
    const system = new JobSystem(memory, workers, board, errors, threads, canSleep);
    try {
      for (let k = 1; k <= workers; k++) {
        threads.push(spawn({ share, threadName: `jobs-${k}`, board: board.buffer as SharedArrayBuffer, errors, workerIndex: k, workers }));
      }
      await Promise.all(threads.map((t) => t.ready));
    } catch (err) {
      await system.abort();
      throw err instanceof Error && !(err instanceof JobError) ? new JobError(`a job worker failed to start: ${err.stack ?? err.message}`, { cause: err }) : err;
    }
    return system;
  }

  /** One frame's physics, HIT events and AI, the parallel parts across the threads (see the class comment). */
  step(game: MemkitGame): void {
    const { physics, gameplay, ai, level } = game;
    const board = this.#board;
    const frame = this.#memory.frame;
    this.#frames++;
    physics.integrate(DT);
    physics.rebuildGrid();
    // The spatial hash's heads as a dense array the workers can index (the HashMap's handle is this thread's).
    const n = physics.bodies.length;
    const heads = frame.allocate(CELLS * 4, 8);
    this.#fillHeads(heads >>> 2, physics.bodies.ptr >>> 3, n);
    board[W_N] = n;
    board[W_BODIES] = physics.bodies.ptr;
    board[W_UNITS] = gameplay.units.ptr;
    board[W_BRAINS] = ai.brains.ptr;
    board[W_NEXT] = physics.next.ptr;
    board[W_HEADS] = heads;
    board[W_FLOW] = level.flow.ptr;
    this.#run(PHASE_CONTACTS);
    for (let c = 0; c < this.chunks; c++) {
      const row = W_RESULTS + c * RESULT_WORDS;
      physics.resolveContacts(board[row + R_CONTACTS]!, board[row + R_CONTACT_COUNT]!);
    }
    physics.moveBullets(DT);
    gameplay.applyEvents();

    // AI: the pool of handles stays on this thread, so targets are resolved to dense indices here.
    const targets = frame.allocate(n * 4 + 4, 4);
    const plans = frame.allocate(n * 4 + 4, 4);
    this.#resolveTargets(game, targets >>> 2, n);
    board[W_UNITS] = gameplay.units.ptr;
    board[W_BRAINS] = ai.brains.ptr;
    board[W_TARGETS] = targets;
    board[W_PLANS] = plans;
    this.#run(PHASE_AI_THINK);
    for (let c = 0; c < this.chunks; c++) ai.senses += board[W_RESULTS + c * RESULT_WORDS + R_SENSES]!;
    // Planning draws from the game's one generator: here, in unit order, as a single-threaded frame draws.
    const rng = game.engine.rng;
    const i32 = this.#views.i32;
    const p = plans >>> 2;
    for (let i = 0; i < n; i++) {
      const request = i32[p + i]!;
      if (request >= 0) i32[p + i] = request | ((4 + rng.int(0, MAX_EXTRA_WAYPOINTS)) << PLAN_WAYPOINTS_SHIFT);
    }
    this.#run(PHASE_AI_PLAN_STEER);
    for (let c = 0; c < this.chunks; c++) ai.plans += board[W_RESULTS + c * RESULT_WORDS + R_PLANS]!;
  }

  /**
   * Ends the workers: each detaches from the memory (its heap is handed
   * back; the blocks it allocated stay in their scopes) and exits. Call it
   * before memory.shutdown(), which refuses while a worker is attached.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#run(PHASE_EXIT);
    this.#stopped = true;
    await Promise.all(this.#threads.map((t) => t.exited));
  }

  /** Terminates every worker and declares each ended (memory.threadEnded): after a failure. Never throws. */
  async abort(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#threads.map((w) => w.terminate().catch(() => 0)));
    if (!this.#memory.alive) return;
    for (const name of this.names) this.#memory.threadEnded(name);
  }

  /**
   * Dispatches `phase`, claims and runs chunks on this thread like any
   * worker, then waits until every chunk is done (the exit phase: until every
   * worker detached); throws JobError if a worker failed.
   */
  #run(phase: number): void {
    // After a failure (or stop) the workers are gone: dispatching again would wait for nobody.
    if (this.#stopped) throw new JobError(`the job system has ${this.#failure === undefined ? "stopped" : `failed (${this.#failure.message.split("\n")[0]})`}: it runs no more frames.`);
    const board = this.#board;
    const seq = board[W_SEQ]! + 1; // this thread alone writes it
    board[W_FRAME] = this.#frames;
    Atomics.store(board, W_DONE, 0);
    Atomics.store(board, W_PENDING, this.workers);
    Atomics.store(board, W_PHASE, phase);
    openClaims(board, seq);
    Atomics.store(board, W_SEQ, seq);
    Atomics.notify(board, W_SEQ);
    if (phase === PHASE_EXIT) {
      this.#join(phase, W_PENDING, 0);
    } else {
      for (let chunk = claimChunk(board, seq); chunk >= 0; chunk = claimChunk(board, seq)) {
        this.#kernels.run(board, phase, chunk, this.chunks);
        chunkDone(board);
      }
      this.#join(phase, W_DONE, this.chunks);
    }
    // A worker's allocations may have grown the memory: see it before reading what they wrote.
    this.#memory.space.refresh();
    if (Atomics.load(board, W_FAILED) > 0) throw (this.#failure = this.#failed());
  }

  /** Waits until board word `word` reads `target`, or a worker failed; a phase that stalls for STALL_MS is a JobError. */
  #join(phase: number, word: number, target: number): void {
    const board = this.#board;
    for (let spin = 0; spin < SPINS; spin++) if (Atomics.load(board, word) === target) return;
    let slept = 0;
    const start = this.#canSleep ? 0 : performance.now();
    for (;;) {
      const value = Atomics.load(board, word);
      if (value === target || Atomics.load(board, W_FAILED) > 0) return;
      const stalled = this.#canSleep
        ? Atomics.wait(board, word, value, WAIT_SLICE_MS) === "timed-out" && (slept += WAIT_SLICE_MS) >= STALL_MS
        : performance.now() - start >= STALL_MS;
      if (stalled) {
        this.#stopped = true;
        const what = word === W_DONE ? `${target - value} of ${target} chunks unfinished` : `${value} of ${this.workers} workers not detached`;
        throw (this.#failure = new JobError(
          `the job workers did not finish the ${phaseName(phase)} phase of play frame ${this.#frames} in ${STALL_MS / 1000} s ` +
            `(${what}): a worker died without reporting an error, or is stuck.`,
        ));
      }
    }
  }

  #failed(): JobError {
    this.#stopped = true;
    const board = this.#board;
    const text = new TextDecoder().decode(new Uint8Array(this.#errors).slice(0, Atomics.load(board, W_ERROR_BYTES)));
    return new JobError(`job worker jobs-${board[W_FAILED]} failed in the ${phaseName(board[W_FAILED_PHASE]!)} phase of play frame ${board[W_FAILED_FRAME]}:\n${text}`);
  }

  /** heads[cell] = the first (lowest) body index in the cell, -1 when empty: what the spatial hash's HashMap holds. */
  #fillHeads(heads: number, bodies: number, n: number): void {
    const i32 = this.#views.i32;
    const f64 = this.#views.f64;
    i32.fill(-1, heads, heads + CELLS);
    for (let i = n - 1; i >= 0; i--) {
      const o = bodies + i * BODY_WORDS;
      i32[heads + cellAt(f64[o + X]! | 0, f64[o + Y]! | 0)] = i;
    }
  }

  /** targets[i] = the dense index of unit i's target when it is alive, else -1 (what `Ai.#steer` asks the handle pool). */
  #resolveTargets(game: MemkitGame, targets: number, n: number): void {
    const { entities, dense } = game.gameplay;
    const target = game.ai.target;
    const i32 = this.#views.i32;
    for (let i = 0; i < n; i++) {
      const t = target.get(i);
      i32[targets + i] = t !== 0 && entities.isAlive(t) ? dense.get(t) : -1;
    }
  }
}
