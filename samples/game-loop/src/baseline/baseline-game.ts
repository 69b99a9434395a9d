import { SeededRandom } from "@memkit/core";
import {
  ASSET_COUNT,
  ASSET_LOAD_FRAMES,
  BULLET_LIFE,
  BULLET_RADIUS,
  BULLET_SPEED,
  BURST_TURN,
  CELLS,
  DEBRIS_PER_DEATH,
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
  GRID_COLS,
  KEEP_DISTANCE,
  KIND_COOLDOWN,
  KIND_COUNT,
  KIND_DAMAGE,
  KIND_HEALTH,
  KIND_RADIUS,
  KIND_SPEED,
  LAYER_BULLETS,
  LAYER_PARTICLES,
  LAYER_TILES,
  LAYER_UNITS,
  LOSE_SIGHT,
  MAX_CANDIDATES,
  MAX_EXTRA_WAYPOINTS,
  MAX_STARTS_PER_SOUND,
  MAX_VOICES,
  RESPAWNS_PER_FRAME,
  SAMPLES_PER_FRAME,
  SIGHT,
  SIGHT_CELLS,
  SOUND_COUNT,
  SOUND_LENGTH,
  SPARKS_PER_HIT,
  SPAWNS_PER_TEAM,
  STEERING,
  THINK_INTERVAL,
  WAYPOINT_REACHED,
  WORLD_SIZE,
  assetId,
  cellCenterX,
  cellCenterY,
  cellOf,
  drawKey,
  drawMaterial,
  mix32,
  mixFloat,
  soundGain,
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

interface Unit {
  alive: boolean;
  x: number;
  y: number;
  vx: number;
  vy: number;
  tvx: number;
  tvy: number;
  radius: number;
  team: number;
  kind: number;
  health: number;
  cooldown: number;
  kills: number;
  inventory: number[];
  think: number;
  target: Unit | null;
  path: { x: number; y: number }[];
  pathPos: number;
}

interface Bullet {
  x: number;
  y: number;
  vx: number;
  vy: number;
  life: number;
  owner: Unit;
  team: number;
  damage: number;
}

interface Particle {
  x: number;
  y: number;
  vx: number;
  vy: number;
  life: number;
  color: number;
}

interface GameEvent {
  type: number;
  a: Unit;
  b: Unit | null;
  x: number;
  y: number;
  value: number;
}

interface Voice {
  sound: number;
  gain: number;
  pos: number;
}

interface DrawItem {
  key: number;
  payload: number;
}

const INVENTORY_MIN = 24;
const INVENTORY_MAX = 1536;
const ITEM_TILE = 0 << 24;
const ITEM_UNIT = 1 << 24;
const ITEM_BULLET = 2 << 24;
const ITEM_PARTICLE = 3 << 24;
const UNLOAD_STEP_LAST = 3;

/** Removes `list[i]` by moving the last element into its place (the arrays' swapRemove). */
function swapRemove<T>(list: T[], i: number): void {
  const last = list.pop()!;
  if (i < list.length) list[i] = last;
}

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
  #wallCount = -1;

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
    this.#physics(DT);
    this.#applyEvents();
    this.#ai(DT);
    this.#combat(DT);
    this.#render(DT);
    this.#audio();
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

  // ------------------------------------------------------------- physics

  #physics(dt: number): void {
    const units = this.units;
    const level = this.level;
    const k = STEERING * dt;
    for (const u of units) {
      let nvx = u.vx;
      let nvy = u.vy;
      nvx += (u.tvx - nvx) * k;
      nvy += (u.tvy - nvy) * k;
      const r = u.radius;
      let nx = u.x + nvx * dt;
      let ny = u.y + nvy * dt;
      if (nx < r) nx = r;
      else if (nx > WORLD_SIZE - r) nx = WORLD_SIZE - r;
      if (ny < r) ny = r;
      else if (ny > WORLD_SIZE - r) ny = WORLD_SIZE - r;
      if (level.blocked(nx, ny)) {
        nx = u.x;
        ny = u.y;
        nvx = -nvx * 0.5;
        nvy = -nvy * 0.5;
      }
      u.x = nx;
      u.y = ny;
      u.vx = nvx;
      u.vy = nvy;
    }
    // The spatial hash: a Map from cell to the indexes of the units in it.
    const grid = new Map<number, number[]>();
    for (let i = 0; i < units.length; i++) {
      const cell = cellOf(units[i]!.x, units[i]!.y);
      const list = grid.get(cell);
      if (list === undefined) grid.set(cell, [i]);
      else list.push(i);
    }
    this.grid = grid;
    // Separation: collect overlapping pairs, then push each pair apart.
    const contacts: [number, number][] = [];
    for (let i = 0; i < units.length; i++) {
      const a = units[i]!;
      const home = cellOf(a.x, a.y);
      const cx = home % GRID_COLS;
      const cy = (home - cx) / GRID_COLS;
      for (let dy = -1; dy <= 1; dy++) {
        const row = cy + dy;
        if (row < 0 || row >= GRID_COLS) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const col = cx + dx;
          if (col < 0 || col >= GRID_COLS) continue;
          const list = grid.get(row * GRID_COLS + col);
          if (list === undefined) continue;
          for (const j of list) {
            if (j <= i) continue;
            const b = units[j]!;
            const ex = b.x - a.x;
            const ey = b.y - a.y;
            const rr = a.radius + b.radius;
            if (ex * ex + ey * ey < rr * rr) contacts.push([i, j]);
          }
        }
      }
    }
    for (const [i, j] of contacts) {
      const a = units[i]!;
      const b = units[j]!;
      const ex = b.x - a.x;
      const ey = b.y - a.y;
      const d2 = ex * ex + ey * ey;
      const rr = a.radius + b.radius;
      if (d2 >= rr * rr || d2 < 1e-9) continue;
      const d = Math.sqrt(d2);
      const push = ((rr - d) * 0.5) / d;
      const nxi = a.x - ex * push;
      const nyi = a.y - ey * push;
      if (!level.blocked(nxi, nyi)) {
        a.x = nxi;
        a.y = nyi;
      }
      const nxj = b.x + ex * push;
      const nyj = b.y + ey * push;
      if (!level.blocked(nxj, nyj)) {
        b.x = nxj;
        b.y = nyj;
      }
    }
    // Bullets.
    const bullets = this.bullets;
    for (let i = 0; i < bullets.length; ) {
      const bullet = bullets[i]!;
      const life = bullet.life - dt;
      const nx = bullet.x + bullet.vx * dt;
      const ny = bullet.y + bullet.vy * dt;
      if (life <= 0 || nx < 0 || nx >= WORLD_SIZE || ny < 0 || ny >= WORLD_SIZE || level.blocked(nx, ny)) {
        swapRemove(bullets, i);
        continue;
      }
      bullet.life = life;
      bullet.x = nx;
      bullet.y = ny;
      const home = cellOf(nx, ny);
      const cx = home % GRID_COLS;
      const cy = (home - cx) / GRID_COLS;
      let best = -1;
      let bestD2 = Infinity;
      for (let dy = -1; dy <= 1; dy++) {
        const row = cy + dy;
        if (row < 0 || row >= GRID_COLS) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const col = cx + dx;
          if (col < 0 || col >= GRID_COLS) continue;
          const list = grid.get(row * GRID_COLS + col);
          if (list === undefined) continue;
          for (const j of list) {
            const u = units[j]!;
            if (u.team === bullet.team) continue;
            const ex = u.x - nx;
            const ey = u.y - ny;
            const d2 = ex * ex + ey * ey;
            const rr = u.radius + BULLET_RADIUS;
            if (d2 < rr * rr && d2 < bestD2) {
              best = j;
              bestD2 = d2;
            }
          }
        }
      }
      if (best >= 0) {
        this.events.push({ type: EVENT_HIT, a: units[best]!, b: bullet.owner, x: nx, y: ny, value: bullet.damage });
        swapRemove(bullets, i);
        continue;
      }
      i++;
    }
  }

  // ------------------------------------------------------------------ AI

  #ai(dt: number): void {
    for (const unit of this.units) {
      if (unit.health <= 0) continue;
      let t = unit.think - dt;
      if (t <= 0) {
        t += THINK_INTERVAL;
        this.#sense(unit);
      }
      unit.think = t;
      this.#steer(unit);
    }
  }

  #sense(unit: Unit): void {
    const units = this.units;
    const home = cellOf(unit.x, unit.y);
    const cx = home % GRID_COLS;
    const cy = (home - cx) / GRID_COLS;
    const candidates: number[] = [];
    for (let dy = -SIGHT_CELLS; dy <= SIGHT_CELLS; dy++) {
      const row = cy + dy;
      if (row < 0 || row >= GRID_COLS) continue;
      for (let dx = -SIGHT_CELLS; dx <= SIGHT_CELLS; dx++) {
        const col = cx + dx;
        if (col < 0 || col >= GRID_COLS) continue;
        const list = this.grid.get(row * GRID_COLS + col);
        if (list === undefined) continue;
        for (const j of list) {
          if (candidates.length >= MAX_CANDIDATES) break;
          const other = units[j]!;
          if (other.team !== unit.team && other.health > 0) candidates.push(j);
        }
      }
    }
    let best = -1;
    let bestD2 = SIGHT * SIGHT;
    for (const j of candidates) {
      const ex = units[j]!.x - unit.x;
      const ey = units[j]!.y - unit.y;
      const d2 = ex * ex + ey * ey;
      if (d2 < bestD2) {
        best = j;
        bestD2 = d2;
      }
    }
    if (best >= 0) {
      unit.target = units[best]!;
      return;
    }
    unit.target = null;
    if (unit.pathPos >= unit.path.length) this.#plan(unit);
  }

  #plan(unit: Unit): void {
    const waypoints = 4 + this.rng.int(0, MAX_EXTRA_WAYPOINTS);
    const path: { x: number; y: number }[] = [];
    let cell = cellOf(unit.x, unit.y);
    for (let k = 0; k < waypoints; k++) {
      const n = this.level.nextCell(unit.team, cell);
      if (n < 0) break;
      cell = n;
      path.push({ x: cellCenterX(cell), y: cellCenterY(cell) });
    }
    unit.path = path;
    unit.pathPos = 0;
  }

  #steer(unit: Unit): void {
    const speed = KIND_SPEED[unit.kind]!;
    const target = unit.target;
    if (target !== null) {
      if (target.alive && target.health > 0) {
        const ex = target.x - unit.x;
        const ey = target.y - unit.y;
        const d2 = ex * ex + ey * ey;
        if (d2 <= LOSE_SIGHT * LOSE_SIGHT) {
          let s = 0;
          if (d2 > 1e-9) {
            const d = Math.sqrt(d2);
            if (d > KEEP_DISTANCE) s = speed / d;
            else if (d < KEEP_DISTANCE * 0.6) s = (-speed * 0.5) / d;
          }
          unit.tvx = ex * s;
          unit.tvy = ey * s;
          return;
        }
      }
      unit.target = null;
    }
    let pos = unit.pathPos;
    const path = unit.path;
    if (pos < path.length) {
      let ex = path[pos]!.x - unit.x;
      let ey = path[pos]!.y - unit.y;
      if (ex * ex + ey * ey < WAYPOINT_REACHED * WAYPOINT_REACHED) {
        pos++;
        unit.pathPos = pos;
        if (pos < path.length) {
          ex = path[pos]!.x - unit.x;
          ey = path[pos]!.y - unit.y;
        }
      }
      const d2 = ex * ex + ey * ey;
      if (pos < path.length && d2 > 1e-9) {
        const s = speed / Math.sqrt(d2);
        unit.tvx = ex * s;
        unit.tvy = ey * s;
        return;
      }
    }
    unit.tvx = 0;
    unit.tvy = 0;
  }

  // -------------------------------------------------------------- render

  #render(dt: number): void {
    const rng = this.rng;
    for (const e of this.events) {
      const count = e.type === EVENT_HIT ? SPARKS_PER_HIT : e.type === EVENT_DEATH ? DEBRIS_PER_DEATH : 0;
      const color = e.type === EVENT_HIT ? 0 : 1;
      if (count === 0) continue;
      const draw = rng.int(0, FRACTION_MAX);
      for (let k = 0; k < count; k++) {
        const angle = (draw * FRACTION + k * BURST_TURN) * 2 * Math.PI;
        const speed = 40 + 10 * ((draw + 5 * k) % 13);
        const life = 0.3 + 0.025 * ((draw + 7 * k) % 13);
        this.particles.push({ x: e.x, y: e.y, vx: Math.cos(angle) * speed, vy: Math.sin(angle) * speed, life, color: color + k * 2 });
      }
    }
    const particles = this.particles;
    for (let i = 0; i < particles.length; ) {
      const p = particles[i]!;
      const life = p.life - dt;
      if (life <= 0) {
        swapRemove(particles, i);
        continue;
      }
      p.life = life;
      p.vx = p.vx * 0.96;
      p.vy = p.vy * 0.96;
      p.x = p.x + p.vx * dt;
      p.y = p.y + p.vy * dt;
      i++;
    }
    const tiles = this.level.tiles;
    if (this.#wallCount < 0) this.#wallCount = tiles.filter((t) => t !== 0).length;
    const list: DrawItem[] = [];
    for (let c = 0; c < CELLS; c++) {
      if (tiles[c] !== 0) list.push({ key: drawKey(LAYER_TILES, cellCenterY(c) * 16, 1), payload: ITEM_TILE | c });
    }
    this.units.forEach((u, i) => list.push({ key: drawKey(LAYER_UNITS, (u.y * 16) | 0, 16 + u.kind * 2 + u.team), payload: ITEM_UNIT | i }));
    this.bullets.forEach((b, i) => list.push({ key: drawKey(LAYER_BULLETS, (b.y * 16) | 0, 32 + b.team), payload: ITEM_BULLET | i }));
    particles.forEach((p, i) => list.push({ key: drawKey(LAYER_PARTICLES, (p.y * 16) | 0, 40 + p.color), payload: ITEM_PARTICLE | i }));
    list.sort((a, b) => a.key - b.key);
    let hash = this.drawHash;
    let material = -1;
    let batches = 0;
    for (const item of list) {
      const m = drawMaterial(item.key);
      if (m !== material) {
        material = m;
        batches++;
        hash = mix32(hash, this.level.textureWord(assetId(m % ASSET_COUNT)));
      }
      hash = mix32(hash, item.key);
      hash = mix32(hash, item.payload);
    }
    this.drawHash = hash;
    this.drawItems += list.length;
    this.drawBatches += batches;
  }

  // --------------------------------------------------------------- audio

  #audio(): void {
    const starts = this.starts;
    for (const e of this.events) {
      if (e.type !== EVENT_FIRE && e.type !== EVENT_HIT && e.type !== EVENT_DEATH && e.type !== EVENT_SPAWN) continue;
      const sound = e.type - 1;
      const started = starts.get(sound) ?? 0;
      if (started >= MAX_STARTS_PER_SOUND) continue;
      starts.set(sound, started + 1);
      if (this.active.length >= MAX_VOICES) this.active.shift();
      this.active.push({ sound, gain: soundGain(e.x, e.y), pos: 0 });
      this.soundsPlayed++;
    }
    starts.clear();
    const out = new Float32Array(SAMPLES_PER_FRAME);
    this.active = this.active.filter((voice) => {
      const samples = this.bank[voice.sound]!;
      const n = Math.min(SAMPLES_PER_FRAME, samples.length - voice.pos);
      for (let k = 0; k < n; k++) out[k] = out[k]! + samples[voice.pos + k]! * voice.gain;
      voice.pos += SAMPLES_PER_FRAME;
      return voice.pos < samples.length;
    });
    let hash = this.mixHash;
    for (let k = 0; k < SAMPLES_PER_FRAME; k += 49) hash = mixFloat(hash, out[k]!);
    this.mixHash = hash;
  }
}
