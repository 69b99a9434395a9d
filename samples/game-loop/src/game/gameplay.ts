import { HandlePool, StructArray, defineStruct, type Handle, type PoolField, type StructField } from "@memkit/containers";
import type { TraceAllocator } from "@memkit/trace-allocator";
import {
  BULLET_LIFE,
  BULLET_SPEED,
  EVENT_DEATH,
  EVENT_FIRE,
  EVENT_HIT,
  EVENT_SPAWN,
  FIELD_MARGIN,
  FIELD_TRIES,
  FIRE_RANGE,
  FRACTION,
  FRACTION_MAX,
  KIND_COOLDOWN,
  KIND_COUNT,
  KIND_DAMAGE,
  KIND_HEALTH,
  KIND_RADIUS,
  RESPAWNS_PER_FRAME,
  SPAWNS_PER_TEAM,
  THINK_INTERVAL,
  WORLD_SIZE,
} from "./config.js";
import type { Ai } from "./ai.js";
import type { Engine } from "./engine.js";
import { EventQueue } from "./events.js";
import { restoreContainer, type GameState } from "./game-record.js";
import type { Level } from "./level.js";
import { BODY_WORDS, BULLET_WORDS, B_LIFE, B_VX, B_VY, B_X, B_Y, RADIUS, X, Y, type Physics } from "./physics.js";
import { fieldWord, strideWords } from "./record-words.js";

const EntityRecord = defineStruct({ dense: "u32" });
const Unit = defineStruct({ health: "f64", cooldown: "f64", handle: "u32", inventory: "u32", kills: "u16", team: "u8", kind: "u8" });
/** Unit records as f64 words, for the hot loops' typed-view access (see record-words.ts). */
export const UNIT_WORDS = strideWords(Unit, 8);
export const HEALTH = fieldWord(Unit, "health", 8);
const COOLDOWN = fieldWord(Unit, "cooldown", 8);
/** A unit's handle (u32 word) and kind (byte) offsets in its record, and its size in bytes: for the job kernels' raw reads. */
export const UNIT_HANDLE_WORD = fieldWord(Unit, "handle", 4);
export const UNIT_KIND_BYTE = Unit.offsetOf("kind");
export const UNIT_BYTES = Unit.size;

/** Inventory blocks: 24 B .. 1.5 KiB per unit, most of them small (slot allocator), some medium (heap). */
const INVENTORY_MIN = 24;
const INVENTORY_MAX = 1536;

/**
 * Units, their handles, spawning and despawning, combat and the event queue.
 *
 * Memory (scope `root/gameplay`):
 * - `entities`: a HandlePool whose record holds the unit's dense index. A
 *   unit is named by its handle everywhere (targets, bullet owners, events);
 *   a handle kept past the unit's death is detected as stale, never served.
 * - `units`: dense records (health, cooldown, team, kind, ...), parallel to
 *   physics' bodies and AI's brains. Despawning swap-removes the same index in
 *   all three and re-points the moved unit's handle.
 * - an inventory block per unit, allocated on spawn and freed on despawn:
 *   the slot and heap churn of a game whose population turns over.
 * - the event queue, in its own child scope `root/gameplay/events`.
 */
export class Gameplay implements Disposable {
  readonly mem: TraceAllocator;
  readonly events: EventQueue;
  readonly entities: HandlePool<typeof EntityRecord>;
  readonly units: StructArray<typeof Unit>;
  readonly dense: PoolField<"u32">;
  readonly health: StructField<"f64">;
  readonly cooldown: StructField<"f64">;
  readonly handle: StructField<"u32">;
  readonly inventory: StructField<"u32">;
  readonly kills: StructField<"u16">;
  readonly team: StructField<"u8">;
  readonly kind: StructField<"u8">;
  spawned = 0;
  died = 0;
  shots = 0;
  hits = 0;
  /** Live units per team. */
  team0 = 0;
  team1 = 0;
  readonly #engine: Engine;
  readonly #level: Level;
  #physics!: Physics;
  #ai!: Ai;

  /** `saved`: the state of a saved game, whose units and events this takes over (MemkitGame.restore). */
  constructor(engine: Engine, level: Level, saved?: GameState) {
    this.#engine = engine;
    this.#level = level;
    const mem = (this.mem = engine.scope("gameplay"));
    const population = engine.config.entities;
    this.events = new EventQueue(engine.childScope(mem, "events"), engine.views, engine.memory.options.debug, Math.max(256, population), saved);
    if (saved === undefined) {
      this.entities = new HandlePool(mem, EntityRecord, engine.containerOptions("entities", population));
      this.units = new StructArray(mem, Unit, engine.containerOptions("units", population));
    } else {
      const options = engine.restoreOptions();
      this.entities = restoreContainer(saved, "gameplay.entities", (p) => HandlePool.restore(mem, p, EntityRecord, options));
      this.units = restoreContainer(saved, "gameplay.units", (p) => StructArray.restore(mem, p, Unit, options));
      const n = saved.numbers;
      this.spawned = n["gameplay.spawned"];
      this.died = n["gameplay.died"];
      this.shots = n["gameplay.shots"];
      this.hits = n["gameplay.hits"];
      this.team0 = n["gameplay.team0"];
      this.team1 = n["gameplay.team1"];
    }
    this.dense = this.entities.field("dense");
    this.health = this.units.field("health");
    this.cooldown = this.units.field("cooldown");
    this.handle = this.units.field("handle");
    this.inventory = this.units.field("inventory");
    this.kills = this.units.field("kills");
    this.team = this.units.field("team");
    this.kind = this.units.field("kind");
  }

  /** Wires physics and the AI, which are built after gameplay (they post to and read from its events and units). */
  attach(physics: Physics, ai: Ai): void {
    this.#physics = physics;
    this.#ai = ai;
  }

  /** Spawns one unit of `team`: in its half of the field (the opening line-up) or at one of its spawn points. Returns its handle. */
  spawnUnit(team: number, inField: boolean): Handle {
    const rng = this.#engine.rng;
    const level = this.#level;
    const kind = rng.int(0, KIND_COUNT - 1);
    let x: number;
    let y: number;
    if (inField) {
      for (let tries = 1; ; tries++) {
        x = (team === 0 ? FIELD_MARGIN : WORLD_SIZE / 2) + rng.int(0, FRACTION_MAX) * FRACTION * (WORLD_SIZE / 2 - FIELD_MARGIN);
        y = FIELD_MARGIN + rng.int(0, FRACTION_MAX) * FRACTION * (WORLD_SIZE - 2 * FIELD_MARGIN);
        if (!level.blocked(x, y) || tries >= FIELD_TRIES) break;
      }
    } else {
      const k = rng.int(0, SPAWNS_PER_TEAM - 1);
      x = level.spawnX(team, k) + rng.int(0, FRACTION_MAX) * FRACTION * 32 - 16;
      y = level.spawnY(team, k) + rng.int(0, FRACTION_MAX) * FRACTION * 32 - 16;
    }
    const inventoryBytes = rng.logUniform(INVENTORY_MIN, INVENTORY_MAX);
    const think = rng.int(0, FRACTION_MAX) * FRACTION * THINK_INTERVAL;
    const handle = this.entities.create();
    const i = this.units.push();
    this.dense.set(handle, i);
    this.health.set(i, KIND_HEALTH[kind]!);
    this.handle.set(i, handle);
    this.team.set(i, team);
    this.kind.set(i, kind);
    const inventory = this.mem.allocate(inventoryBytes);
    const u32 = this.#engine.views.u32;
    u32[inventory >>> 2] = kind;
    u32[(inventory >>> 2) + 1] = 0;
    this.inventory.set(i, inventory);
    const body = this.#physics.addBody(handle, team, x, y, KIND_RADIUS[kind]!);
    this.#ai.addBrain(think);
    this.events.post(EVENT_SPAWN, handle, 0, 0, (this.#physics.bodies.ptr >>> 3) + body * BODY_WORDS + X);
    this.spawned++;
    if (team === 0) this.team0++;
    else this.team1++;
    return handle;
  }

  /** Spawns `count` units of the opening line-up, alternating teams (the load stage). */
  spawnInitial(count: number): void {
    for (let i = 0; i < count; i++) this.spawnUnit(this.team0 <= this.team1 ? 0 : 1, true);
  }

  /** Tops the population up toward the target, a few units per frame, into the smaller team. */
  respawn(): void {
    const target = this.#engine.config.entities;
    for (let k = 0; k < RESPAWNS_PER_FRAME && this.units.length < target; k++) this.spawnUnit(this.team0 <= this.team1 ? 0 : 1, false);
  }

  /** Applies HIT events: damage, and a DEATH event (plus a kill for the attacker) when health runs out. */
  applyEvents(): void {
    const events = this.events;
    const { entities, dense, kills, inventory } = this;
    const views = this.#engine.views;
    for (let e = 0; e < events.length; e++) {
      if (events.type.get(e) !== EVENT_HIT) continue;
      const target = events.a.get(e);
      if (!entities.isAlive(target)) continue;
      const j = dense.get(target);
      // Views and bases per event: posting a DEATH may grow the queue (and the space).
      const f64 = views.f64;
      const h = (this.units.ptr >>> 3) + j * UNIT_WORDS + HEALTH;
      const before = f64[h]!;
      if (before <= 0) continue;
      const after = before - events.value.get(e);
      f64[h] = after;
      this.hits++;
      if (after > 0) continue;
      const killer = events.b.get(e);
      events.post(EVENT_DEATH, target, killer, 0, (this.#physics.bodies.ptr >>> 3) + j * BODY_WORDS + X);
      this.died++;
      if (entities.isAlive(killer)) {
        const k = dense.get(killer);
        kills.set(k, kills.get(k) + 1);
        // Loot: the killer's inventory counts it.
        const slot = (inventory.get(k) >>> 2) + 1;
        const u32 = views.u32;
        u32[slot] = u32[slot]! + 1;
      }
    }
  }

  /** Cooldowns, and firing at the AI's target when it is alive and in range. */
  combat(dt: number): void {
    const { entities, dense, handle, team, kind } = this;
    const physics = this.#physics;
    const ai = this.#ai;
    const views = this.#engine.views;
    const n = this.units.length;
    for (let i = 0; i < n; i++) {
      // Views and bases per unit: a shot grows the bullets and the events (and maybe the space).
      let f64 = views.f64;
      const units = this.units.ptr >>> 3;
      const u = units + i * UNIT_WORDS;
      if (f64[u + HEALTH]! <= 0) continue;
      let cd = f64[u + COOLDOWN]! - dt;
      if (cd < 0) cd = 0;
      const target = ai.target.get(i);
      if (cd <= 0 && target !== 0 && entities.isAlive(target)) {
        const j = dense.get(target);
        if (f64[units + j * UNIT_WORDS + HEALTH]! > 0) {
          const bodies = physics.bodies.ptr >>> 3;
          const o = bodies + i * BODY_WORDS;
          const p = bodies + j * BODY_WORDS;
          const xi = f64[o + X]!;
          const yi = f64[o + Y]!;
          const ex = f64[p + X]! - xi;
          const ey = f64[p + Y]! - yi;
          const d2 = ex * ex + ey * ey;
          if (d2 < FIRE_RANGE * FIRE_RANGE && d2 > 1e-9) {
            const d = Math.sqrt(d2);
            const dirX = ex / d;
            const dirY = ey / d;
            const r = f64[o + RADIUS]! + 2;
            const b = physics.addBullet(handle.get(i), team.get(i), KIND_DAMAGE[kind.get(i)]!);
            f64 = views.f64;
            const q = (physics.bullets.ptr >>> 3) + b * BULLET_WORDS;
            f64[q + B_X] = xi + dirX * r;
            f64[q + B_Y] = yi + dirY * r;
            f64[q + B_VX] = dirX * BULLET_SPEED;
            f64[q + B_VY] = dirY * BULLET_SPEED;
            f64[q + B_LIFE] = BULLET_LIFE;
            cd = KIND_COOLDOWN[kind.get(i)]!;
            this.events.post(EVENT_FIRE, handle.get(i), 0, 0, (physics.bodies.ptr >>> 3) + i * BODY_WORDS + X);
            this.shots++;
            f64 = views.f64;
          }
        }
      }
      f64[(this.units.ptr >>> 3) + i * UNIT_WORDS + COOLDOWN] = cd;
    }
  }

  /** Despawns every unit that died this frame. */
  despawnDead(): void {
    const events = this.events;
    for (let e = 0; e < events.length; e++) {
      if (events.type.get(e) === EVENT_DEATH) this.despawn(events.a.get(e));
    }
  }

  /** Removes the unit: frees its inventory, swap-removes its records everywhere, and destroys its handle. */
  despawn(handle: Handle): void {
    const i = this.dense.get(handle);
    const last = this.units.length - 1;
    this.mem.deallocate(this.inventory.get(i));
    if (this.team.get(i) === 0) this.team0--;
    else this.team1--;
    this.#physics.removeBody(i);
    this.#ai.removeBrain(i);
    this.units.swapRemove(i);
    if (i !== last) this.dense.set(this.handle.get(i), i);
    this.entities.destroy(handle);
  }

  /** Despawns every unit, last first (the unload stage). */
  despawnAll(): void {
    while (this.units.length > 0) this.despawn(this.handle.get(this.units.length - 1));
  }

  /** Persists the units, handles and events into `state` (MemkitGame.persist). */
  saveState(state: GameState): void {
    this.events.saveState(state);
    state.containers["gameplay.entities"] = this.entities.persist();
    state.containers["gameplay.units"] = this.units.persist();
    const n = state.numbers;
    n["gameplay.spawned"] = this.spawned;
    n["gameplay.died"] = this.died;
    n["gameplay.shots"] = this.shots;
    n["gameplay.hits"] = this.hits;
    n["gameplay.team0"] = this.team0;
    n["gameplay.team1"] = this.team1;
  }

  /** Frees every container. Idempotent. */
  unload(): void {
    if (!this.units.disposed) this.despawnAll();
    this.events.unload();
    this.units.dispose();
    this.entities.dispose();
  }

  /** Unloads, closes the events' scope, then gameplay's own. */
  [Symbol.dispose](): void {
    this.unload();
    this.events.mem.dispose();
    this.mem.dispose();
  }
}
