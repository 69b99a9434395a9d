import { SeededRandom } from "@memkit/core";
import { SpaceViews, type ContainerOptions } from "@memkit/containers";
import type { MemoryGlobals } from "@memkit/memory-globals";
import type { TraceAllocator } from "@memkit/trace-allocator";
import { openScope, subsystemScope, type SubsystemName } from "../engine-memory.js";
import type { GameConfig } from "./config.js";
import type { GameState } from "./game-record.js";

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
  /** True when the engine was built from a saved game: its scopes exist already, and are opened, not created. */
  readonly restoring: boolean;

  /** `saved`: the state of a saved game (MemkitGame.restore); the generator resumes where it was. */
  constructor(memory: MemoryGlobals, config: GameConfig, saved?: GameState) {
    this.memory = memory;
    this.config = config;
    this.views = SpaceViews.of(memory.space);
    // SeededRandom's state is its seed: a generator built from a saved state continues the same sequence.
    this.rng = new SeededRandom(saved === undefined ? config.seed : saved.rng);
    this.restoring = saved !== undefined;
  }

  /** The subsystem's scope (`root/<name>`), with its budget; the existing one when restoring. */
  scope(name: SubsystemName): TraceAllocator {
    return this.restoring ? openScope(this.memory, name) : subsystemScope(this.memory, name, this.config.entities);
  }

  /** Child scope `name` of a subsystem's scope; the existing one when restoring. */
  childScope(parent: TraceAllocator, name: string): TraceAllocator {
    return this.restoring ? openScope(this.memory, `${parent.path.slice(parent.path.indexOf("/") + 1)}/${name}`) : parent.child(name);
  }

  /** Options for a container: its name, and JS-side leak tracking in debug runs. */
  containerOptions(name: string, capacity = 0): ContainerOptions & { capacity: number } {
    return { name, debug: this.memory.options.debug, capacity };
  }

  /** Options for a container's restore: JS-side leak tracking in debug runs, as for a new one. */
  restoreOptions(): { debug: boolean } {
    return { debug: this.memory.options.debug };
  }
}
