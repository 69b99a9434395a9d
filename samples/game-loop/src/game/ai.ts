import { StructArray, defineStruct, type StructField } from "@memkit/containers";
import type { TraceAllocator } from "@memkit/trace-allocator";
import {
  GRID_COLS,
  KIND_SPEED,
  MAX_CANDIDATES,
  MAX_EXTRA_WAYPOINTS,
  SIGHT_CELLS,
  THINK_INTERVAL,
  cellAt,
  cellCenterX,
  cellCenterY,
} from "./config.js";
import type { SpaceViews } from "@memkit/containers";
import type { Engine } from "./engine.js";
import { restoreContainer, type GameState } from "./game-record.js";
import { HEALTH, UNIT_WORDS, type Gameplay } from "./gameplay.js";
import type { Level } from "./level.js";
import { BODY_WORDS, X, Y, type Physics } from "./physics.js";
import { fieldWord, strideWords } from "./record-words.js";
import { engage, followPath, nearest } from "./ai-math.js";

const Brain = defineStruct({ think: "f64", target: "u32", path: "u32", pathLen: "u32", pathPos: "u32" });
const BRAIN_WORDS = strideWords(Brain, 8);
const THINK = fieldWord(Brain, "think", 8);
/** Brain records for the job kernels' raw access (src/jobs): size in f64 and u32 words, and the u32 words of the fields. */
export const BRAIN_F64_WORDS = BRAIN_WORDS;
export const BRAIN_THINK = THINK;
export const BRAIN_U32_WORDS = strideWords(Brain, 4);
export const BRAIN_TARGET = fieldWord(Brain, "target", 4);
export const BRAIN_PATH = fieldWord(Brain, "path", 4);
export const BRAIN_PATH_LEN = fieldWord(Brain, "pathLen", 4);
export const BRAIN_PATH_POS = fieldWord(Brain, "pathPos", 4);

/**
 * Decisions: every unit thinks a few times a second (staggered), senses the
 * nearest enemy through the spatial hash, and either engages it or walks a
 * path planned along the level's flow field toward the enemy base. Every
 * frame it turns its decision into a desired velocity for physics.
 *
 * Memory:
 * - `brains` (scope `root/ai`): dense records parallel to the units.
 * - a path block per unit (x, y f64 per waypoint), resized with
 *   `reallocate` at every re-plan and freed on despawn: small-block churn.
 * - sensing collects candidates into a per-frame list: one buffer of
 *   frame memory per update, gone when its frame is recycled.
 */
export class Ai implements Disposable {
  readonly mem: TraceAllocator;
  readonly brains: StructArray<typeof Brain>;
  readonly think: StructField<"f64">;
  readonly target: StructField<"u32">;
  readonly path: StructField<"u32">;
  readonly pathLen: StructField<"u32">;
  readonly pathPos: StructField<"u32">;
  /** Sensing passes and path plans since the run started. */
  senses = 0;
  plans = 0;
  readonly #engine: Engine;
  readonly #level: Level;
  readonly #physics: Physics;
  readonly #gameplay: Gameplay;
  readonly #views: SpaceViews;

  /** `saved`: the state of a saved game, whose brains (and the paths they point to) this takes over (MemkitGame.restore). */
  constructor(engine: Engine, level: Level, physics: Physics, gameplay: Gameplay, saved?: GameState) {
    this.#engine = engine;
    this.#level = level;
    this.#physics = physics;
    this.#gameplay = gameplay;
    this.#views = engine.views;
    const mem = (this.mem = engine.scope("ai"));
    if (saved === undefined) {
      this.brains = new StructArray(mem, Brain, engine.containerOptions("brains", engine.config.entities));
    } else {
      this.brains = restoreContainer(saved, "ai.brains", (p) => StructArray.restore(mem, p, Brain, engine.restoreOptions()));
      this.senses = saved.numbers["ai.senses"];
      this.plans = saved.numbers["ai.plans"];
    }
    this.think = this.brains.field("think");
    this.target = this.brains.field("target");
    this.path = this.brains.field("path");
    this.pathLen = this.brains.field("pathLen");
    this.pathPos = this.brains.field("pathPos");
  }

  /** Adds a brain for a new unit (its index matches the unit's). */
  addBrain(think: number): void {
    const i = this.brains.push();
    this.think.set(i, think);
  }

  /** Frees the unit's path and swap-removes its brain. */
  removeBrain(i: number): void {
    const path = this.path.get(i);
    if (path !== 0) this.mem.deallocate(path);
    this.brains.swapRemove(i);
  }

  /**
   * Thinks (when due) and steers every living unit. Every sensing pass of
   * the frame collects its candidates in one buffer of frame memory.
   */
  update(dt: number): void {
    const views = this.#views;
    const candidates = this.#engine.memory.frame.allocate(MAX_CANDIDATES * 4) >>> 2;
    const n = this.brains.length;
    for (let i = 0; i < n; i++) {
      // Read views and bases per unit: planning reallocates paths (which may grow the space).
      const f64 = views.f64;
      if (f64[(this.#gameplay.units.ptr >>> 3) + i * UNIT_WORDS + HEALTH]! <= 0) continue;
      const t = (this.brains.ptr >>> 3) + i * BRAIN_WORDS + THINK;
      let think = f64[t]! - dt;
      if (think <= 0) {
        think += THINK_INTERVAL;
        this.#sense(i, candidates);
      }
      views.f64[(this.brains.ptr >>> 3) + i * BRAIN_WORDS + THINK] = think;
      this.#steer(i);
    }
  }

  /** Targets the nearest living enemy within sight; with none, plans a path once the current one is walked. */
  #sense(i: number, candidates: number): void {
    const physics = this.#physics;
    const { grid, next, team } = physics;
    const u32 = this.#views.u32;
    const f64 = this.#views.f64;
    const bodies = physics.bodies.ptr >>> 3;
    const units = this.#gameplay.units.ptr >>> 3;
    const side = team.get(i);
    const xi = f64[bodies + i * BODY_WORDS + X]!;
    const yi = f64[bodies + i * BODY_WORDS + Y]!;
    const home = cellAt(xi | 0, yi | 0);
    const cx = home % GRID_COLS;
    const cy = (home - cx) / GRID_COLS;
    let count = 0;
    for (let dy = -SIGHT_CELLS; dy <= SIGHT_CELLS; dy++) {
      const row = cy + dy;
      if (row < 0 || row >= GRID_COLS) continue;
      for (let dx = -SIGHT_CELLS; dx <= SIGHT_CELLS; dx++) {
        const col = cx + dx;
        if (col < 0 || col >= GRID_COLS) continue;
        for (let j = grid.get(row * GRID_COLS + col, -1); j >= 0 && count < MAX_CANDIDATES; j = next.get(j)) {
          if (team.get(j) !== side && f64[units + j * UNIT_WORDS + HEALTH]! > 0) u32[candidates + count++] = j;
        }
      }
    }
    const best = nearest(f64, u32, bodies, candidates, count, xi, yi);
    this.senses++;
    if (best >= 0) {
      this.target.set(i, this.#gameplay.handle.get(best));
      return;
    }
    this.target.set(i, 0);
    if (this.pathPos.get(i) >= this.pathLen.get(i)) this.#plan(i, home);
  }

  /** Follows the flow field for 4..24 cells from `cell` and stores the cell centres as waypoints, resizing the path block. */
  #plan(i: number, cell: number): void {
    const rng = this.#engine.rng;
    const level = this.#level;
    const waypoints = 4 + rng.int(0, MAX_EXTRA_WAYPOINTS);
    const path = this.mem.reallocate(this.path.get(i), waypoints * 16);
    this.path.set(i, path);
    const side = this.#physics.team.get(i);
    // Read after reallocate: it may have grown the space.
    const f64 = this.#views.f64;
    const base = path >>> 3;
    let at = cell;
    let length = 0;
    for (let k = 0; k < waypoints; k++) {
      const n = level.nextCell(side, at);
      if (n < 0) break;
      at = n;
      f64[base + length * 2] = cellCenterX(at);
      f64[base + length * 2 + 1] = cellCenterY(at);
      length++;
    }
    this.pathLen.set(i, length);
    this.pathPos.set(i, 0);
    this.plans++;
  }

  /** Sets the desired velocity: engage the target, else walk the path, else stand. */
  #steer(i: number): void {
    const physics = this.#physics;
    const gameplay = this.#gameplay;
    const f64 = this.#views.f64;
    const o = (physics.bodies.ptr >>> 3) + i * BODY_WORDS;
    const xi = f64[o + X]!;
    const yi = f64[o + Y]!;
    const speed = KIND_SPEED[gameplay.kind.get(i)]!;
    const target = this.target.get(i);
    if (target !== 0) {
      if (gameplay.entities.isAlive(target)) {
        const j = gameplay.dense.get(target);
        if (f64[(gameplay.units.ptr >>> 3) + j * UNIT_WORDS + HEALTH]! > 0) {
          const p = (physics.bodies.ptr >>> 3) + j * BODY_WORDS;
          if (engage(f64, o, f64[p + X]! - xi, f64[p + Y]! - yi, speed)) return;
        }
      }
      this.target.set(i, 0);
    }
    const pos = this.pathPos.get(i);
    const aimed = followPath(f64, o, xi, yi, speed, this.path.get(i) >>> 3, pos, this.pathLen.get(i));
    if (aimed !== pos) this.pathPos.set(i, aimed);
  }

  /** Persists the brains into `state` (MemkitGame.persist); the path blocks are raw blocks of the scope, named by the brains. */
  saveState(state: GameState): void {
    state.containers["ai.brains"] = this.brains.persist();
    state.numbers["ai.senses"] = this.senses;
    state.numbers["ai.plans"] = this.plans;
  }

  /** Frees every path and the brains. Idempotent. */
  unload(): void {
    if (this.brains.disposed) return;
    for (let i = 0; i < this.brains.length; i++) {
      const path = this.path.get(i);
      if (path !== 0) this.mem.deallocate(path);
    }
    this.brains.dispose();
  }

  [Symbol.dispose](): void {
    this.unload();
    this.mem.dispose();
  }
}
