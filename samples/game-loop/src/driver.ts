import { performance } from "node:perf_hooks";
import { GCProfiler, getHeapSpaceStatistics } from "node:v8";
import type { SimSummary } from "./game/config.js";
import type { Simulation, StageHooks } from "./game/simulation.js";
import { FrameTimes, type FrameTimeSummary } from "./stats/frame-times.js";
import type { GcObserver, GcSummary } from "./stats/gc-observer.js";
import { Progress, type ProgressStream } from "./stats/progress.js";

/** Wall-clock time of one stage. */
export interface StageTiming {
  name: string;
  frames: number;
  ms: number;
}

/** What the warm-up stage measured. */
export interface WarmupReport {
  frames: number;
  /** Garbage collections that started during warm-up (mostly V8 compiling the game's hot loops). */
  gc: GcSummary;
}

/** What the play stage measured. */
export interface PlayReport {
  times: FrameTimeSummary;
  /** Garbage collections that started during the play stage. */
  gc: GcSummary;
  /**
   * Bytes allocated in V8's young generation during the play stage: the JS
   * garbage the frames made (the frame timer's own `performance.now()` calls
   * included; code V8 compiles meanwhile is not counted). Collections are
   * added back from v8.GCProfiler's before/after figures; undefined when a
   * collection ran and that profiler is missing.
   */
  youngBytes: number | undefined;
  /** True when a major collection ran just before play (node --expose-gc), so play starts with an empty young generation. */
  gcBeforePlay: boolean;
}

/** Everything one run of the game measured. */
export interface DriveResult {
  stages: StageTiming[];
  warmup: WarmupReport;
  play: PlayReport;
  summary: SimSummary;
}

export interface DriveOptions {
  /** Frames in the play stage. */
  frames: number;
  /** Frames played, unmeasured, between load and play, while V8 compiles the hot loops. */
  warmup: number;
  /** The process's GC observer (started before the run). */
  gc: GcObserver;
  /** Where the progress line goes; none when quiet. */
  progress: ProgressStream | undefined;
  /** Names the run in the progress line. */
  label: string;
  /** Runs after the play stage ends, before unload (the memkit run reads its scope tree, writes its report and saves here). */
  afterPlay?: () => void;
  /**
   * True when `create` returns a game that is loaded already (restored from
   * a save): no load stage, and the stage timings start with "restore" (0
   * frames: the time `create` took). @defaultValue false
   */
  loaded?: boolean;
}

/** What {@link drive} returns: the measurements and the game it built. */
export interface Driven<S extends Simulation> extends DriveResult {
  sim: S;
}

/** Stops a runaway load or unload stage (a bug, not a slow level). */
const MAX_STAGE_FRAMES = 1000;

/**
 * Runs one game through its stages — load, warm-up, play, unload — with the
 * same timing for either implementation. Warm-up frames are play frames
 * that are not judged: V8 runs new code in its interpreter (where every
 * floating-point result is a heap allocation) until it has compiled it, so
 * the first frames of any JavaScript game make garbage. The play loop
 * records each frame's duration into a preallocated array and does nothing
 * else per frame, so what it measures is the game.
 */
export async function drive<S extends Simulation>(create: () => S, hooks: StageHooks, options: DriveOptions, created?: (sim: S) => void): Promise<Driven<S>> {
  const stages: StageTiming[] = [];
  const loadStart = performance.now();
  let sim: S;
  if (options.loaded === true) {
    sim = create();
    created?.(sim);
    stages.push({ name: "restore", frames: 0, ms: performance.now() - loadStart });
  } else {
    // The game is built inside the load stage, so the stage counts what its construction allocates.
    hooks.beginStage("load");
    sim = create();
    created?.(sim);
    stages.push(runFrames(sim, hooks, "load", MAX_STAGE_FRAMES, loadStart, (step) => sim.loadFrame(step)));
  }
  const warmStart = performance.now();
  if (options.warmup > 0) {
    hooks.beginStage("warmup");
    stages.push(
      runFrames(sim, hooks, "warmup", options.warmup, warmStart, (step) => {
        sim.playFrame();
        return step + 1 >= options.warmup;
      }),
    );
  }
  const warmEnd = performance.now();

  // A major collection before play, so play starts on an empty young generation. Not a bare gc():
  // that one also discards compiled code (V8's memory-reducing collection), and the hot loops
  // would then start play in the interpreter, making the very garbage this run measures.
  const gc = (globalThis as { gc?: (options?: { type?: "major" | "minor" }) => void }).gc;
  if (typeof gc === "function") gc({ type: "major" });
  hooks.beginStage("play");
  const times = new FrameTimes(options.frames);
  const playStart = performance.now();
  const progress = options.progress === undefined ? undefined : new Progress(options.progress, options.label, options.frames, playStart);
  const profiler = typeof GCProfiler === "function" ? new GCProfiler() : undefined;
  profiler?.start();
  const youngBefore = youngGenerationBytes();
  // One clock read per frame: each frame ends where the next begins (performance.now() allocates a little).
  let t0 = performance.now();
  for (let frame = 0; frame < options.frames; frame++) {
    hooks.beginFrame();
    sim.playFrame();
    const t1 = performance.now();
    times.record(t1 - t0);
    if (progress !== undefined) progress.tick(frame + 1, t1);
    t0 = t1;
  }
  const playEnd = t0;
  const youngAfter = youngGenerationBytes();
  const collected = profiler === undefined ? undefined : youngCollected(profiler.stop());
  progress?.done();
  hooks.endStage();
  stages.push({ name: "play", frames: options.frames, ms: playEnd - playStart });
  options.afterPlay?.();
  const summary = sim.summary();

  const unloadStart = performance.now();
  hooks.beginStage("unload");
  stages.push(runFrames(sim, hooks, "unload", MAX_STAGE_FRAMES, unloadStart, (step) => sim.unloadFrame(step)));
  await options.gc.flush();
  const gcDuringPlay = options.gc.between(playStart, playEnd);
  return {
    sim,
    stages,
    warmup: { frames: options.warmup, gc: options.gc.between(warmStart, warmEnd) },
    play: {
      times: times.summary(),
      gc: gcDuringPlay,
      youngBytes: collected !== undefined ? youngAfter - youngBefore + collected : gcDuringPlay.count === 0 ? youngAfter - youngBefore : undefined,
      gcBeforePlay: typeof gc === "function",
    },
    summary,
  };
}

/** Bytes in use in V8's young generation (new space and new large-object space). */
function youngGenerationBytes(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (isYoung(space.space_name)) bytes += space.space_used_size;
  }
  return bytes;
}

function isYoung(spaceName: string): boolean {
  return spaceName === "new_space" || spaceName === "new_large_object_space";
}

/** What GCProfiler reports per space (camelCase at run time, whatever the typings say). */
interface ProfiledSpace {
  spaceName: string;
  spaceUsedSize: number;
}

/** Bytes the collections in a GCProfiler result took out of the young generation (used before minus used after). */
function youngCollected(result: { statistics: { beforeGC: { heapSpaceStatistics: unknown[] }; afterGC: { heapSpaceStatistics: unknown[] } }[] }): number {
  const young = (spaces: unknown[]): number => {
    let bytes = 0;
    for (const space of spaces as ProfiledSpace[]) if (isYoung(space.spaceName)) bytes += space.spaceUsedSize;
    return bytes;
  };
  let bytes = 0;
  for (const gc of result.statistics) bytes += young(gc.beforeGC.heapSpaceStatistics) - young(gc.afterGC.heapSpaceStatistics);
  return bytes;
}

/** Runs `frame(step)` once per frame until it returns true, then ends the stage (begun by the caller); more than `maxFrames` frames is a bug. */
function runFrames(sim: Simulation, hooks: StageHooks, name: string, maxFrames: number, start: number, frame: (step: number) => boolean): StageTiming {
  let step = 0;
  for (;;) {
    hooks.beginFrame();
    const done = frame(step++);
    if (done) break;
    if (step >= maxFrames) throw new Error(`${sim.kind}: the ${name} stage did not finish in ${maxFrames} frames.`);
  }
  hooks.endStage();
  return { name, frames: step, ms: performance.now() - start };
}
