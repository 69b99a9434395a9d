/*
 * Everything that sets memkit up for the sample game, in one place: the
 * MemoryGlobals options, the subsystem scopes and their budgets, and the
 * teardown order. Change memory policy here, not in the subsystems.
 */
import { CorruptionError, InvalidArgumentError, alignUp } from "@memkit/core";
import { MemoryGlobals, type TracingLevel } from "@memkit/memory-globals";
import type { TraceAllocator } from "@memkit/trace-allocator";

/** The engine subsystems, each with its own named scope under `root`, in construction order. */
export const SUBSYSTEMS = ["level", "physics", "ai", "gameplay", "render", "audio"] as const;
/** One of {@link SUBSYSTEMS}. */
export type SubsystemName = (typeof SUBSYSTEMS)[number];

/** How the engine's memory is set up for one run. */
export interface EngineMemoryOptions {
  /** Target unit population: sizes the initial address space and the budgets. */
  entities: number;
  /** Tracing level of every scope. */
  tracing: TracingLevel;
  /** Canaries, fill patterns and a quarantine around every scope; recycled frame memory is poisoned. */
  debug: boolean;
  /** A memory worker threads can attach to (`--workers N`): `MemoryGlobals.init({ shared: true })`. @defaultValue false */
  shared?: boolean;
}

const MIB = 1 << 20;

/**
 * Builds the engine's memory. The initial size holds a typical level plus the
 * population, so the address space does not grow (and no typed view goes
 * stale) during play; it may still grow to 1 GiB for big runs.
 */
export function initEngineMemory(options: EngineMemoryOptions): MemoryGlobals {
  const initialBytes = Math.min(512 * MIB, alignUp(32 * MIB + options.entities * 3072, 65536));
  return MemoryGlobals.init({
    initialBytes,
    maximumBytes: 1024 * MIB,
    tracing: options.tracing,
    debug: options.debug,
    shared: options.shared === true,
    // A frame's lists are read only within that frame; two arenas leave one frame of slack.
    frameArenas: 2,
  });
}

/**
 * Budget per subsystem: fixed bytes plus bytes per unit of the target
 * population, two to three times what a default run peaks at. Budgets warn (once per
 * stage) instead of throwing, so an oversized run still finishes and the
 * report shows who went over.
 */
const BUDGETS: Record<SubsystemName, { fixed: number; perEntity: number }> = {
  // 48 assets of 2 KiB..768 KiB (log-uniform): about 5 MiB, more for an unlucky seed.
  level: { fixed: 16 * MIB, perEntity: 0 },
  physics: { fixed: 64 << 10, perEntity: 256 },
  ai: { fixed: 64 << 10, perEntity: 640 },
  gameplay: { fixed: 256 << 10, perEntity: 1024 },
  render: { fixed: 64 << 10, perEntity: 192 },
  audio: { fixed: 320 << 10, perEntity: 0 },
};

/** The budget of `name` for a population of `entities`. */
export function budgetFor(name: SubsystemName, entities: number): number {
  const b = BUDGETS[name];
  return b.fixed + b.perEntity * entities;
}

/** The named scope a subsystem allocates through: a child of `root` with its budget. */
export function subsystemScope(memory: MemoryGlobals, name: SubsystemName, entities: number): TraceAllocator {
  return memory.scope(name, { budget: { bytes: budgetFor(name, entities), onExceed: "warn" } });
}

/**
 * The scope at `path` under root (`"physics"`, `"gameplay/events"`) that
 * already exists: what a restored game opens where a new one creates its
 * scopes (they keep their budgets). A missing scope is a CorruptionError: the
 * memory does not hold the game the record describes.
 */
export function openScope(memory: MemoryGlobals, path: string): TraceAllocator {
  try {
    return memory.openScope(path);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new CorruptionError(`openScope: this memory has no scope root/${path}, which the saved game allocated through; it does not hold that game.`, { cause: err });
  }
}

/** Frame and scratch memory during one stage (they are not scopes, so memory.stages does not list them). */
export interface TempStageReport {
  name: string;
  /** Most bytes live in the frame ring (the current and the previous frame) at once. */
  framePeakBytes: number;
  frameAllocs: number;
  /** Most bytes on the scratch stack at once. */
  scratchPeakBytes: number;
  scratchAllocs: number;
}

/**
 * The engine's side of frames and stages: `beginFrame` recycles the frame
 * ring and stamps the trace frame counter; `beginStage`/`endStage` reset and
 * record every scope's peak (memory.beginStage/endStage) and do the same for
 * frame and scratch memory. In debug runs every stage ends with
 * memory.check(): canaries, quarantine, heap and page invariants.
 */
export class EngineStages {
  /** Frame and scratch figures per stage, in order. */
  readonly temp: TempStageReport[] = [];
  /** memory.check() calls that passed (debug runs). */
  checks = 0;
  readonly #memory: MemoryGlobals;
  #start = { name: "", frameAllocs: 0, scratchAllocs: 0 };

  constructor(memory: MemoryGlobals) {
    this.#memory = memory;
  }

  beginFrame(): void {
    this.#memory.beginFrame();
  }

  beginStage(name: string): void {
    const { frame, scratch } = this.#memory;
    this.#memory.beginStage(name);
    frame.resetPeak();
    scratch.resetPeak();
    this.#start = { name, frameAllocs: frame.stats().allocCount, scratchAllocs: scratch.stats().allocCount };
  }

  endStage(): void {
    const memory = this.#memory;
    memory.endStage();
    const f = memory.frame.stats();
    const s = memory.scratch.stats();
    this.temp.push({
      name: this.#start.name,
      framePeakBytes: f.peakLiveBytes,
      frameAllocs: f.allocCount - this.#start.frameAllocs,
      scratchPeakBytes: s.peakLiveBytes,
      scratchAllocs: s.allocCount - this.#start.scratchAllocs,
    });
    if (memory.options.debug) {
      memory.check();
      this.checks++;
    }
  }
}
