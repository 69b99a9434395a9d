import { SeededRandom } from "@memkit/core";
import {
  ASSET_COUNT,
  ASSET_LOAD_FRAMES,
  BULLET_LIFE,
  BULLET_SPEED,
  DT,
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
  SOUND_COUNT,
  SOUND_LENGTH,
  SPAWNS_PER_TEAM,
  THINK_INTERVAL,
  WORLD_SIZE,
  mix32,
  mixFloat,
  soundSample,
  type GameConfig,
  type SimSummary,
} from "../game/config.js";
import { LOAD_STEP_AUDIO, LOAD_STEP_LAST, LOAD_STEP_TERRAIN, LOAD_STEP_UNITS, type Simulation } from "../game/simulation.js";
import { BaselineLevel } from "./baseline-level.js";

/*
 * The same game written the way plain JavaScript is usually written: a unit
 * is an object, lists are arrays, the spatial hash is a Map of arrays rebuilt
 * every frame, events and draw items are small objects, the draw list is
 * sorted with a comparator, candidate lists and paths are fresh arrays. No
 * memkit. Idiomatic, not deliberately wasteful: long-lived objects (units,
 * bullets, particles) are kept, only per-frame data is re-created.
 *
 * Every rule, every random draw and every floating-point operation happens
 * in the same order as in the memkit game, so both runs end with the same
 * checksum: they do exactly the same work.
 */
import { type Unit, type Bullet, type Particle, type GameEvent, type Voice, INVENTORY_MIN, INVENTORY_MAX, UNLOAD_STEP_LAST } from "./baseline-types.js";
import { stepAi } from "./baseline-ai.js";
import { stepAudio } from "./baseline-audio.js";
import { stepPhysics } from "./baseline-physics.js";
import { stepRender } from "./baseline-render.js";
import { swapRemove } from "./baseline-types.js";

/** The sample game over plain JS objects and arrays, for comparison. */
export class BaselineGame implements Simulation {
  readonly kind = "baseline" as const;
  readonly config: GameConfig;
  readonly rng: SeededRandom;
  readonly level: BaselineLevel;
  units: Unit[] = [];
  bullets: Bullet[] = [];
  particles: Particle[] = [];
  events: GameEvent[] = [];
  grid = new Map<number, number[]>();
  bank: Float32Array[] = [];
  active: Voice[] = [];
  starts = new Map<number, number>();
  spawned = 0;
  died = 0;
  shots = 0;
  hits = 0;
  team0 = 0;
  team1 = 0;
  soundsPlayed = 0;
  drawItems = 0;
  drawBatches = 0;
  /** Play frames simulated, warm-up included. */
  framesPlayed = 0;
  drawHash = 0;
  mixHash = 0;
  /** Walls in the level's tiles (render), counted once. */
  wallCount = -1;

  constructor(config: GameConfig) {
    this.config = config;
    this.rng = new SeededRandom(config.seed);
    this.level = new BaselineLevel(this.rng);
  }

  loadFrame(step: number): boolean {
    const perFrame = ASSET_COUNT / ASSET_LOAD_FRAMES;
    const entities = this.config.entities;
    if (step < LOAD_STEP_TERRAIN) {
      this.level.loadAssets(step * perFrame, (step + 1) * perFrame);
    } else if (step === LOAD_STEP_TERRAIN) {
      this.level.buildTerrain();
      this.level.buildFlowFields();
    } else if (step === LOAD_STEP_AUDIO) {
      for (let s = 0; s < SOUND_COUNT; s++) {
        const samples = new Float32Array(SOUND_LENGTH[s]!);
        for (let i = 0; i < samples.length; i++) samples[i] = soundSample(s, i);
        this.bank.push(samples);
      }
    } else if (step === LOAD_STEP_UNITS) {
      this.#spawnInitial(Math.floor(entities / 2));
    } else {
      this.#spawnInitial(entities - Math.floor(entities / 2));
    }
    this.events = [];
    return step >= LOAD_STEP_LAST;
  }

  playFrame(): void {
    this.framesPlayed++;
    this.#respawn();
    stepPhysics(this, DT);
    this.#applyEvents();
    stepAi(this, DT);
    this.#combat(DT);
    stepRender(this, DT);
    stepAudio(this);
    for (const e of this.events) if (e.type === EVENT_DEATH) this.#despawn(e.a);
    this.events = [];
  }

  unloadFrame(step: number): boolean {
    if (step === 0) {
      while (this.units.length > 0) this.#despawn(this.units[this.units.length - 1]!);
      this.bullets = [];
      this.events = [];
    } else if (step === 1) {
      this.particles = [];
      this.grid = new Map();
    } else if (step === 2) {
      this.bank = [];
      this.active = [];
      this.starts = new Map();
    } else {
      this.level.unload();
    }
    return step >= UNLOAD_STEP_LAST;
  }

  summary(): SimSummary {
    let hash = 0x811c9dc5;
    for (const u of this.units) {
      hash = mixFloat(hash, u.x);
      hash = mixFloat(hash, u.y);
      hash = mixFloat(hash, u.health);
      hash = mix32(hash, u.kind | (u.team << 8) | (u.kills << 16));
    }
    hash = mix32(hash, this.drawHash);
    hash = mix32(hash, this.mixHash);
    hash = mix32(hash, this.level.assetHash);
    return {
      unitsAlive: this.units.length,
      spawned: this.spawned,
      died: this.died,
      shots: this.shots,
      hits: this.hits,
      soundsPlayed: this.soundsPlayed,
      particlesAlive: this.particles.length,
      bulletsAlive: this.bullets.length,
      frames: this.framesPlayed,
      drawItems: this.drawItems,
      drawBatches: this.drawBatches,
      checksum: hash >>> 0,
    };
  }

  [Symbol.dispose](): void {
    this.units = [];
    this.bullets = [];
    this.particles = [];
  }

  // ------------------------------------------------------------ gameplay

  #spawnUnit(team: number, inField: boolean): void {
    const rng = this.rng;
    const kind = rng.int(0, KIND_COUNT - 1);
    let x: number;
    let y: number;
    if (inField) {
      for (let tries = 1; ; tries++) {
        x = (team === 0 ? FIELD_MARGIN : WORLD_SIZE / 2) + rng.int(0, FRACTION_MAX) * FRACTION * (WORLD_SIZE / 2 - FIELD_MARGIN);
        y = FIELD_MARGIN + rng.int(0, FRACTION_MAX) * FRACTION * (WORLD_SIZE - 2 * FIELD_MARGIN);
        if (!this.level.blocked(x, y) || tries >= FIELD_TRIES) break;
      }
    } else {
      const spawn = this.level.spawns[team * SPAWNS_PER_TEAM + rng.int(0, SPAWNS_PER_TEAM - 1)]!;
      x = spawn.x + rng.int(0, FRACTION_MAX) * FRACTION * 32 - 16;
      y = spawn.y + rng.int(0, FRACTION_MAX) * FRACTION * 32 - 16;
    }
    const inventoryBytes = rng.logUniform(INVENTORY_MIN, INVENTORY_MAX);
    const think = rng.int(0, FRACTION_MAX) * FRACTION * THINK_INTERVAL;
    const inventory = new Array<number>(Math.ceil(inventoryBytes / 4)).fill(0);
    inventory[0] = kind;
    const unit: Unit = {
      alive: true,
      x,
      y,
      vx: 0,
      vy: 0,
      tvx: 0,
      tvy: 0,
      radius: KIND_RADIUS[kind]!,
      team,
      kind,
      health: KIND_HEALTH[kind]!,
      cooldown: 0,
      kills: 0,
      inventory,
      think,
      target: null,
      path: [],
      pathPos: 0,
    };
    this.units.push(unit);
    this.events.push({ type: EVENT_SPAWN, a: unit, b: null, x, y, value: 0 });
    this.spawned++;
    if (team === 0) this.team0++;
    else this.team1++;
  }

  #spawnInitial(count: number): void {
    for (let i = 0; i < count; i++) this.#spawnUnit(this.team0 <= this.team1 ? 0 : 1, true);
  }

  #respawn(): void {
    const target = this.config.entities;
    for (let k = 0; k < RESPAWNS_PER_FRAME && this.units.length < target; k++) this.#spawnUnit(this.team0 <= this.team1 ? 0 : 1, false);
  }

  #despawn(unit: Unit): void {
    const i = this.units.indexOf(unit);
    unit.alive = false;
    if (unit.team === 0) this.team0--;
    else this.team1--;
    swapRemove(this.units, i);
  }

  #applyEvents(): void {
    const events = this.events;
    for (let e = 0; e < events.length; e++) {
      const event = events[e]!;
      if (event.type !== EVENT_HIT) continue;
      const target = event.a;
      if (!target.alive) continue;
      const before = target.health;
      if (before <= 0) continue;
      const after = before - event.value;
      target.health = after;
      this.hits++;
      if (after > 0) continue;
      const killer = event.b;
      events.push({ type: EVENT_DEATH, a: target, b: killer, x: target.x, y: target.y, value: 0 });
      this.died++;
      if (killer !== null && killer.alive) {
        killer.kills = (killer.kills + 1) & 0xffff;
        killer.inventory[1]!++;
      }
    }
  }

  #combat(dt: number): void {
    for (const unit of this.units) {
      if (unit.health <= 0) continue;
      let cd = unit.cooldown - dt;
      if (cd < 0) cd = 0;
      const target = unit.target;
      if (cd <= 0 && target !== null && target.alive && target.health > 0) {
        const ex = target.x - unit.x;
        const ey = target.y - unit.y;
        const d2 = ex * ex + ey * ey;
        if (d2 < FIRE_RANGE * FIRE_RANGE && d2 > 1e-9) {
          const d = Math.sqrt(d2);
          const dirX = ex / d;
          const dirY = ey / d;
          const r = unit.radius + 2;
          this.bullets.push({
            x: unit.x + dirX * r,
            y: unit.y + dirY * r,
            vx: dirX * BULLET_SPEED,
            vy: dirY * BULLET_SPEED,
            life: BULLET_LIFE,
            owner: unit,
            team: unit.team,
            damage: KIND_DAMAGE[unit.kind]!,
          });
          cd = KIND_COOLDOWN[unit.kind]!;
          this.events.push({ type: EVENT_FIRE, a: unit, b: null, x: unit.x, y: unit.y, value: 0 });
          this.shots++;
        }
      }
      unit.cooldown = cd;
    }
  }
}
