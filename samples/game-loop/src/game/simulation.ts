import { ASSET_LOAD_FRAMES, type SimSummary } from "./config.js";

/**
 * One implementation of the sample game, as the frame driver sees it: the
 * memkit game and the plain-JS baseline both implement it, so the same
 * driver loads, plays and unloads both and times them the same way.
 */
export interface Simulation extends Disposable {
  /** "memkit" or "baseline". */
  readonly kind: "memkit" | "baseline";
  /** One frame of the load stage; true once the level is loaded and the first units have spawned. */
  loadFrame(step: number): boolean;
  /** One frame of play. */
  playFrame(): void;
  /** One frame of the unload stage; true once everything the level and the units held is freed. */
  unloadFrame(step: number): boolean;
  /** Counters and a checksum of the game state (called after play, before unload). */
  summary(): SimSummary;
}

/**
 * What the driver tells the engine's memory as the run goes on: frames and
 * stages. The memkit run passes its EngineStages (frame ring, trace frame
 * counter, per-stage peaks); the baseline has no memory to tell.
 */
export interface StageHooks {
  /** Called at the start of every frame of every stage. */
  beginFrame(): void;
  /** A stage starts: peaks restart from the current use. */
  beginStage(name: string): void;
  /** The stage ends: its peaks are recorded. */
  endStage(): void;
}

/** Stage hooks that do nothing (the baseline). */
export const NO_STAGE_HOOKS: StageHooks = {
  beginFrame: () => {},
  beginStage: () => {},
  endStage: () => {},
};

/** Load-stage frames: assets stream in over the first ones, then terrain, the voice bank and the first units. */
export const LOAD_STEP_TERRAIN = ASSET_LOAD_FRAMES;
export const LOAD_STEP_AUDIO = LOAD_STEP_TERRAIN + 1;
export const LOAD_STEP_UNITS = LOAD_STEP_AUDIO + 1;
/** The last load frame (units spawn over two frames). */
export const LOAD_STEP_LAST = LOAD_STEP_UNITS + 1;
