import { SeededRandom } from "@memkit/core";
import { SpaceViews, type ContainerOptions } from "@memkit/containers";
import type { MemoryGlobals } from "@memkit/memory-globals";
import type { TraceAllocator } from "@memkit/trace-allocator";
import { subsystemScope, type SubsystemName } from "../engine-memory.js";
import type { GameConfig } from "./config.js";

/**
 * What every memkit subsystem is built with: the engine's memory, the views
 * raw blocks are read through, the run's one random generator and its
 * config. Subsystems take their scope from here and allocate only through it
 * (plus `memory.frame` for per-frame lists and `memory.scratch` for scratch work).
 */
export class Engine {
  readonly memory: MemoryGlobals;
  /** Typed views of the whole space for raw blocks, shared with the containers and refreshed when it grows: hold this object, never a view taken from it across an allocation. */
  readonly views: SpaceViews;
  readonly rng: SeededRandom;
  readonly config: GameConfig;

  constructor(memory: MemoryGlobals, config: GameConfig) {
    this.memory = memory;
    this.config = config;
    this.views = SpaceViews.of(memory.space);
    this.rng = new SeededRandom(config.seed);
  }

  /** The subsystem's scope (`root/<name>`), with its budget. */
  scope(name: SubsystemName): TraceAllocator {
    return subsystemScope(this.memory, name, this.config.entities);
  }

  /** Options for a container: its name, and JS-side leak tracking in debug runs. */
  containerOptions(name: string, capacity = 0): ContainerOptions & { capacity: number } {
    return { name, debug: this.memory.options.debug, capacity };
  }
}
