import { LeakError } from "@memkit/core";
import type { MemoryGlobals, MemoryReport, TracingLevel } from "@memkit/memory-globals";
import { EngineStages, JobSystem, MemkitGame, initEngineMemory, type SpawnJobWorker } from "@memkit/game-loop/browser";

/** What the page runs the game with; changing any of them builds a new memory and a new game. */
export interface WebGameSettings {
  tracing: TracingLevel;
  /** Canaries, fill patterns and a quarantine around every scope; memory.check() at every stage's end. */
  debug: boolean;
  entities: number;
  seed: number;
  /** MemoryGlobals.init({ shared: true }): needs a cross-origin isolated page (SharedArrayBuffer). */
  shared: boolean;
  /** Job workers sharing each play frame's physics and AI (game-loop's --workers N); needs a shared memory. */
  workers: number;
  /** game-loop's --leak: the audio system forgets to free the death sound's samples, which stop() reports. */
  leak: boolean;
}

/** Stops a runaway unload (a bug, not a slow level), as the headless driver does. */
const MAX_UNLOAD_FRAMES = 1000;

/**
 * The sample game of samples/game-loop with its memory, one frame per call,
 * as the page's animation loop drives it: the load stage a frame at a time,
 * then play frames for as long as the page runs. Stages as in the headless
 * run: "load", then "play" (its peaks are what the overlay shows); stop()
 * plays "unload", disposes every subsystem and shuts the memory down, which
 * is where a leak would be caught.
 */
export class WebGame {
  readonly settings: Readonly<WebGameSettings>;
  readonly memory: MemoryGlobals;
  readonly game: MemkitGame;
  readonly #stages: EngineStages;
  #loadStep = 0;
  #loaded = false;
  #stopping: Promise<LeakError | undefined> | undefined;
  #jobsStarting: Promise<JobSystem> | undefined;
  #jobs: JobSystem | undefined;
  /** Play frames so far. */
  playFrames = 0;
  /** Play frames whose physics and AI ran through the job workers. */
  jobFrames = 0;

  constructor(settings: WebGameSettings) {
    if (settings.workers > 0 && !settings.shared) throw new Error(`WebGame: ${settings.workers} job workers need a shared memory (settings.shared).`);
    this.settings = { ...settings };
    this.memory = initEngineMemory({ entities: settings.entities, tracing: settings.tracing, debug: settings.debug, shared: settings.shared });
    this.#stages = new EngineStages(this.memory);
    try {
      // The game is built inside the load stage, so the stage counts what its construction allocates.
      this.#stages.beginStage("load");
      this.game = new MemkitGame(this.memory, { frames: 0, entities: settings.entities, seed: settings.seed, leak: settings.leak });
    } catch (err) {
      this.memory.shutdown();
      throw err;
    }
  }

  /** True once the load stage is over. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** True once stop() was called. */
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  /** The job system, once its workers have attached. */
  get jobs(): JobSystem | undefined {
    return this.#jobs;
  }

  /**
   * Starts settings.workers job workers with `spawn` (the page's Web
   * Workers). The load stage goes on meanwhile; play waits for them (step()
   * does nothing until they have all attached), then every play frame runs
   * physics and AI through them. The main thread spins at a phase's join
   * instead of sleeping: a browser's main thread may not Atomics.wait.
   */
  startJobs(spawn: SpawnJobWorker): Promise<JobSystem> {
    if (this.#jobsStarting !== undefined || this.stopped) throw new Error("WebGame.startJobs: the job workers start once, before stop().");
    this.#jobsStarting = JobSystem.start(this.memory, { workers: this.settings.workers, spawn, canSleep: false }).then((jobs) => {
      if (!this.stopped) {
        this.#jobs = jobs;
        this.game.jobs = jobs;
      }
      return jobs;
    });
    return this.#jobsStarting;
  }

  /** One frame: a load frame until the level is loaded, then a play frame. */
  step(): void {
    if (this.stopped) throw new Error("WebGame.step: this game was stopped; start a new one.");
    this.#step();
  }

  /** True while play waits for the job workers to attach. */
  get waitingForJobs(): boolean {
    return this.#loaded && this.settings.workers > 0 && this.#jobs === undefined;
  }

  #step(): void {
    // Play starts once the workers asked for are there, so every play frame runs the same way.
    if (this.waitingForJobs) return;
    this.#stages.beginFrame();
    if (this.#loaded) {
      this.game.playFrame();
      this.playFrames++;
      if (this.game.jobs !== undefined) this.jobFrames++;
    } else if (this.game.loadFrame(this.#loadStep++)) {
      this.#stages.endStage();
      this.#stages.beginStage("play");
      this.#loaded = true;
    }
  }

  /** What the report is labelled with. */
  label(): string {
    const s = this.settings;
    const workers = this.#jobs === undefined ? "" : ` --workers ${this.#jobs.workers}`;
    return `web-game --entities ${s.entities} --seed ${s.seed} --tracing ${s.tracing}${s.debug ? " --debug" : ""}${s.leak ? " --leak" : ""}${workers}${s.shared ? " (shared memory)" : ""} (play frame ${this.playFrames})`;
  }

  /** memory.snapshot(): the JSON document `npm run memreport -- --html` renders. */
  report(): MemoryReport {
    return this.memory.snapshot(this.label());
  }

  /**
   * Ends the game: the unload stage (every unit despawns, the subsystems free
   * their containers), the job workers detach (memory.shutdown refuses while
   * one is attached; after a failure they are terminated and declared ended),
   * then each subsystem's dispose (its scope's leak assert) and
   * memory.shutdown(). Resolves to the LeakError if memory was still held;
   * other errors reject, after the memory is shut down. Calling it again
   * gives the same outcome.
   */
  stop(): Promise<LeakError | undefined> {
    return (this.#stopping ??= this.#stop());
  }

  async #stop(): Promise<LeakError | undefined> {
    let leak: LeakError | undefined;
    let failure: unknown;
    let failed = false;
    const fail = (err: unknown): void => {
      if (err instanceof LeakError) leak = err;
      else if (!failed) {
        failure = err;
        failed = true;
      }
    };
    try {
      // A game stopped while loading finishes its load first: unload frees a loaded level.
      while (!this.#loaded) this.#step();
      this.#stages.endStage();
      this.#stages.beginStage("unload");
      for (let step = 0; ; step++) {
        this.#stages.beginFrame();
        if (this.game.unloadFrame(step)) break;
        if (step >= MAX_UNLOAD_FRAMES) throw new Error(`WebGame.stop: the unload stage did not finish in ${MAX_UNLOAD_FRAMES} frames.`);
      }
      this.#stages.endStage();
    } catch (err) {
      fail(err);
    }
    // Workers still starting are waited for (a failed start has ended them already), then detach.
    const jobs = await this.#jobsStarting?.catch(() => undefined);
    if (jobs !== undefined) {
      try {
        await jobs.stop();
      } catch (err) {
        await jobs.abort();
        fail(err);
      }
    }
    try {
      this.game[Symbol.dispose]();
    } catch (err) {
      fail(err);
    }
    try {
      // shutdown's LeakError names every scope still holding memory: it supersedes a subsystem's.
      this.memory.shutdown();
    } catch (err) {
      if (err instanceof LeakError) leak = err;
      else fail(err);
    }
    if (failed) throw failure;
    return leak;
  }
}
