import { LeakError } from "@memkit/core";
import type { MemoryGlobals, MemoryReport, TracingLevel } from "@memkit/memory-globals";
import { EngineStages, MemkitGame, initEngineMemory } from "@memkit/game-loop/browser";

/** What the page runs the game with; changing any of them builds a new memory and a new game. */
export interface WebGameSettings {
  tracing: TracingLevel;
  /** Canaries, fill patterns and a quarantine around every scope; memory.check() at every stage's end. */
  debug: boolean;
  entities: number;
  seed: number;
  /** MemoryGlobals.init({ shared: true }): needs a cross-origin isolated page (SharedArrayBuffer). */
  shared: boolean;
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
  #stopped = false;
  /** Play frames so far. */
  playFrames = 0;

  constructor(settings: WebGameSettings) {
    this.settings = { ...settings };
    this.memory = initEngineMemory({ entities: settings.entities, tracing: settings.tracing, debug: settings.debug, shared: settings.shared });
    this.#stages = new EngineStages(this.memory);
    try {
      // The game is built inside the load stage, so the stage counts what its construction allocates.
      this.#stages.beginStage("load");
      this.game = new MemkitGame(this.memory, { frames: 0, entities: settings.entities, seed: settings.seed, leak: false });
    } catch (err) {
      this.memory.shutdown();
      throw err;
    }
  }

  /** True once the load stage is over. */
  get loaded(): boolean {
    return this.#loaded;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** One frame: a load frame until the level is loaded, then a play frame. */
  step(): void {
    if (this.#stopped) throw new Error("WebGame.step: this game was stopped; start a new one.");
    this.#stages.beginFrame();
    if (this.#loaded) {
      this.game.playFrame();
      this.playFrames++;
    } else if (this.game.loadFrame(this.#loadStep++)) {
      this.#stages.endStage();
      this.#stages.beginStage("play");
      this.#loaded = true;
    }
  }

  /** What the report is labelled with. */
  label(): string {
    const s = this.settings;
    return `web-game --entities ${s.entities} --seed ${s.seed} --tracing ${s.tracing}${s.debug ? " --debug" : ""}${s.shared ? " (shared memory)" : ""} (play frame ${this.playFrames})`;
  }

  /** memory.snapshot(): the JSON document `npm run memreport -- --html` renders. */
  report(): MemoryReport {
    return this.memory.snapshot(this.label());
  }

  /**
   * Ends the game: the unload stage (every unit despawns, the subsystems free
   * their containers), then each subsystem's dispose (its scope's leak
   * assert) and memory.shutdown(). Returns the LeakError if memory was still
   * held; other errors are thrown, after the memory is shut down.
   */
  stop(): LeakError | undefined {
    if (this.#stopped) return undefined;
    let leak: LeakError | undefined;
    let failure: unknown;
    let failed = false;
    try {
      // A game stopped while loading finishes its load first: unload frees a loaded level.
      while (!this.#loaded) this.step();
      this.#stages.endStage();
      this.#stages.beginStage("unload");
      for (let step = 0; ; step++) {
        this.#stages.beginFrame();
        if (this.game.unloadFrame(step)) break;
        if (step >= MAX_UNLOAD_FRAMES) throw new Error(`WebGame.stop: the unload stage did not finish in ${MAX_UNLOAD_FRAMES} frames.`);
      }
      this.#stages.endStage();
      this.game[Symbol.dispose]();
    } catch (err) {
      if (err instanceof LeakError) leak = err;
      else {
        failure = err;
        failed = true;
      }
    }
    this.#stopped = true;
    try {
      this.memory.shutdown();
    } catch (err) {
      // shutdown's LeakError names every scope still holding memory: it supersedes a subsystem's.
      if (err instanceof LeakError) leak = err;
      else if (!failed) {
        failure = err;
        failed = true;
      }
    }
    if (failed) throw failure;
    return leak;
  }
}
