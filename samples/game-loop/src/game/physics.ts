import { DynamicArray, HashMap, StructArray, defineStruct, type StructField } from "@memkit/containers";
import type { TraceAllocator } from "@memkit/trace-allocator";
import { BULLET_RADIUS, CELLS, EVENT_HIT, GRID_COLS, STEERING, WORLD_SIZE, cellAt } from "./config.js";
import type { Engine } from "./engine.js";
import type { EventQueue } from "./events.js";
import { FrameList } from "./frame-list.js";
import { restoreContainer, type GameState } from "./game-record.js";
import { fieldWord, strideWords } from "./record-words.js";
import type { SpaceViews } from "@memkit/containers";
import type { Level } from "./level.js";

const Body = defineStruct({ x: "f64", y: "f64", vx: "f64", vy: "f64", tvx: "f64", tvy: "f64", radius: "f64", handle: "u32", team: "u8" });
const Bullet = defineStruct({ x: "f64", y: "f64", vx: "f64", vy: "f64", life: "f64", owner: "u32", team: "u8", damage: "u8" });

/** Records as f64 words, for the hot loops' typed-view access (see record-words.ts). */
export const BODY_WORDS = strideWords(Body, 8);
export const X = fieldWord(Body, "x", 8);
export const Y = fieldWord(Body, "y", 8);
export const VX = fieldWord(Body, "vx", 8);
export const VY = fieldWord(Body, "vy", 8);
export const TVX = fieldWord(Body, "tvx", 8);
export const TVY = fieldWord(Body, "tvy", 8);
export const RADIUS = fieldWord(Body, "radius", 8);
/** A body's team: byte offset in its record (u8). */
export const TEAM_BYTE = Body.offsetOf("team");
export const BULLET_WORDS = strideWords(Bullet, 8);
export const B_X = fieldWord(Bullet, "x", 8);
export const B_Y = fieldWord(Bullet, "y", 8);
export const B_VX = fieldWord(Bullet, "vx", 8);
export const B_VY = fieldWord(Bullet, "vy", 8);
export const B_LIFE = fieldWord(Bullet, "life", 8);
// Events copy a position as the (x, y) pair at one index: y must follow x.
if (Y !== X + 1 || B_Y !== B_X + 1) throw new Error("physics: body and bullet records must keep y right after x");

/**
 * Movement, the spatial hash, unit separation and bullets.
 *
 * Memory (scope `root/physics`):
 * - `bodies`: one record per unit, dense and parallel to gameplay's units and
 *   AI's brains (despawn swap-removes the same index in all three).
 * - `bullets`: short-lived records, swap-removed when they expire or hit.
 * - the spatial hash, rebuilt every frame: `grid` maps a cell to the first
 *   body in it and `next` chains the rest (a linked list through an i32
 *   array), so rebuilding is `clear()` plus one `set` per body and allocates
 *   nothing once the table has grown to the population:
 *   ```
 *   grid: cell 130 -> 4      next: [.., 4: 9, .., 9: 17, .., 17: -1]   (bodies 4, 9, 17 in cell 130)
 *   ```
 * - `contacts`: the frame's overlapping pairs, a list in frame memory.
 */
export class Physics implements Disposable {
  readonly mem: TraceAllocator;
  readonly bodies: StructArray<typeof Body>;
  readonly bullets: StructArray<typeof Bullet>;
  /** Cell -> first body index in the cell (-1 when empty). */
  readonly grid: HashMap<"u32", "i32">;
  /** Body index -> next body index in the same cell (-1 at the end). */
  readonly next: DynamicArray<"i32">;
  readonly contacts: FrameList;
  readonly x: StructField<"f64">;
  readonly y: StructField<"f64">;
  readonly vx: StructField<"f64">;
  readonly vy: StructField<"f64">;
  readonly tvx: StructField<"f64">;
  readonly tvy: StructField<"f64">;
  readonly radius: StructField<"f64">;
  readonly handle: StructField<"u32">;
  readonly team: StructField<"u8">;
  readonly #bowner: StructField<"u32">;
  readonly bulletTeam: StructField<"u8">;
  readonly #bdamage: StructField<"u8">;
  readonly #level: Level;
  readonly #events: EventQueue;
  readonly #views: SpaceViews;
  /** Contacts resolved since the run started. */
  contactCount = 0;

  /** `saved`: the state of a saved game, whose bodies, bullets and spatial hash this takes over (MemkitGame.restore). */
  constructor(engine: Engine, level: Level, events: EventQueue, saved?: GameState) {
    this.#level = level;
    this.#events = events;
    this.#views = engine.views;
    const mem = (this.mem = engine.scope("physics"));
    if (saved === undefined) {
      // Sized for the population up front: growing is a path a hot loop would
      // rarely take, and the first time it does V8 deoptimises the loop.
      const population = engine.config.entities;
      this.bodies = new StructArray(mem, Body, engine.containerOptions("bodies", population));
      this.bullets = new StructArray(mem, Bullet, engine.containerOptions("bullets", population));
      this.grid = new HashMap(mem, { key: "u32", value: "i32", ...engine.containerOptions("spatial hash", Math.min(population, CELLS)) });
      this.next = new DynamicArray(mem, "i32", engine.containerOptions("cell chains", population));
      this.next.resize(population);
    } else {
      const options = engine.restoreOptions();
      this.bodies = restoreContainer(saved, "physics.bodies", (p) => StructArray.restore(mem, p, Body, options));
      this.bullets = restoreContainer(saved, "physics.bullets", (p) => StructArray.restore(mem, p, Bullet, options));
      this.grid = restoreContainer(saved, "physics.grid", (p) => HashMap.restore(mem, p, { key: "u32", value: "i32", ...options }));
      this.next = restoreContainer(saved, "physics.next", (p) => DynamicArray.restore(mem, p, { kind: "i32", ...options }));
      this.contactCount = saved.numbers["physics.contactCount"];
    }
    this.contacts = new FrameList(engine.memory.frame, engine.views);
    this.x = this.bodies.field("x");
    this.y = this.bodies.field("y");
    this.vx = this.bodies.field("vx");
    this.vy = this.bodies.field("vy");
    this.tvx = this.bodies.field("tvx");
    this.tvy = this.bodies.field("tvy");
    this.radius = this.bodies.field("radius");
    this.handle = this.bodies.field("handle");
    this.team = this.bodies.field("team");
    this.#bowner = this.bullets.field("owner");
    this.bulletTeam = this.bullets.field("team");
    this.#bdamage = this.bullets.field("damage");
  }

  /** Adds a body at rest; returns its index (the unit's dense index). */
  addBody(handle: number, team: number, x: number, y: number, radius: number): number {
    const i = this.bodies.push();
    this.x.set(i, x);
    this.y.set(i, y);
    this.radius.set(i, radius);
    this.handle.set(i, handle);
    this.team.set(i, team);
    return i;
  }

  /** Removes body `i` by moving the last body into its place. */
  removeBody(i: number): void {
    this.bodies.swapRemove(i);
  }

  /**
   * Adds a bullet record for `owner` (a unit handle) and returns its index;
   * the caller writes its position, velocity and life (f64 words B_X..B_LIFE)
   * straight into the record, as the hot loops do.
   */
  addBullet(owner: number, team: number, damage: number): number {
    const i = this.bullets.push();
    this.#bowner.set(i, owner);
    this.bulletTeam.set(i, team);
    this.#bdamage.set(i, damage);
    return i;
  }

  /** One physics step: move units, rebuild the spatial hash, separate overlapping units, move bullets and post hits. */
  step(dt: number): void {
    this.integrate(dt);
    this.rebuildGrid();
    this.separate();
    this.moveBullets(dt);
  }

  /** Steers each velocity toward the desired one, moves, clamps to the world and bounces off walls. */
  integrate(dt: number): void {
    const level = this.#level;
    const f64 = this.#views.f64;
    const base = this.bodies.ptr >>> 3;
    const k = STEERING * dt;
    const n = this.bodies.length;
    for (let i = 0; i < n; i++) {
      const o = base + i * BODY_WORDS;
      let nvx = f64[o + VX]!;
      let nvy = f64[o + VY]!;
      nvx += (f64[o + TVX]! - nvx) * k;
      nvy += (f64[o + TVY]! - nvy) * k;
      const ox = f64[o + X]!;
      const oy = f64[o + Y]!;
      const r = f64[o + RADIUS]!;
      // Branch-free clamps and bounce: a branch first taken after thousands of
      // frames (a unit reaching the far edge) would deoptimise this loop then.
      const nx = Math.min(Math.max(ox + nvx * dt, r), WORLD_SIZE - r);
      const ny = Math.min(Math.max(oy + nvy * dt, r), WORLD_SIZE - r);
      const blocked = level.blockedAt(nx | 0, ny | 0);
      const bounce = blocked ? -0.5 : 1;
      f64[o + X] = blocked ? ox : nx;
      f64[o + Y] = blocked ? oy : ny;
      f64[o + VX] = nvx * bounce;
      f64[o + VY] = nvy * bounce;
    }
  }

  /** Inserts bodies from last to first, so each cell's chain lists them in ascending index order. */
  rebuildGrid(): void {
    const { grid, next } = this;
    const views = this.#views;
    const n = this.bodies.length;
    grid.clear();
    // `next` keeps the population's length; only [0, n) is written and read.
    if (n > next.length) next.resize(n);
    for (let i = n - 1; i >= 0; i--) {
      // Re-read the view each time: grid.set may grow the table, and growth may grow the space.
      const f64 = views.f64;
      const o = (this.bodies.ptr >>> 3) + i * BODY_WORDS;
      const cell = cellAt(f64[o + X]! | 0, f64[o + Y]! | 0);
      next.set(i, grid.get(cell, -1));
      grid.set(cell, i);
    }
  }

  /** Finds overlapping pairs (a frame-memory list), then pushes each pair apart in order. */
  separate(): void {
    const { grid, next } = this;
    const views = this.#views;
    const contacts = this.contacts;
    const base = this.bodies.ptr >>> 3;
    const n = this.bodies.length;
    // Room for two contacts per body, more than a crowded battle makes: growing
    // is a path this loop would rarely take, and a rare path deoptimises a hot loop.
    contacts.begin(n * 4);
    for (let i = 0; i < n; i++) {
      // contacts.push may chain a frame chunk, which may grow the space: read the view per body.
      const f64 = views.f64;
      const o = base + i * BODY_WORDS;
      const xi = f64[o + X]!;
      const yi = f64[o + Y]!;
      const ri = f64[o + RADIUS]!;
      const home = cellAt(xi | 0, yi | 0);
      const cx = home % GRID_COLS;
      const cy = (home - cx) / GRID_COLS;
      for (let dy = -1; dy <= 1; dy++) {
        const row = cy + dy;
        if (row < 0 || row >= GRID_COLS) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const col = cx + dx;
          if (col < 0 || col >= GRID_COLS) continue;
          for (let j = grid.get(row * GRID_COLS + col, -1); j >= 0; j = next.get(j)) {
            if (j <= i) continue;
            const p = base + j * BODY_WORDS;
            const ex = f64[p + X]! - xi;
            const ey = f64[p + Y]! - yi;
            const rr = ri + f64[p + RADIUS]!;
            if (ex * ex + ey * ey < rr * rr) {
              contacts.push(i);
              contacts.push(j);
            }
          }
        }
      }
    }
    this.resolveContacts(contacts.base, contacts.length);
  }

  /**
   * Pushes apart the overlapping pairs listed at u32 index `list` (`length`
   * values: i, j, i, j, ...), in list order: each push moves bodies that
   * later pairs read, so the order is part of the game. The job system
   * (src/jobs) resolves its per-range lists through this, in range order.
   */
  resolveContacts(list: number, length: number): void {
    const level = this.#level;
    const views = this.#views;
    const base = this.bodies.ptr >>> 3;
    const f64 = views.f64;
    const u32 = views.u32;
    for (let c = 0; c < length; c += 2) {
      const oi = base + u32[list + c]! * BODY_WORDS;
      const oj = base + u32[list + c + 1]! * BODY_WORDS;
      const xi = f64[oi + X]!;
      const yi = f64[oi + Y]!;
      const xj = f64[oj + X]!;
      const yj = f64[oj + Y]!;
      const ex = xj - xi;
      const ey = yj - yi;
      const d2 = ex * ex + ey * ey;
      const rr = f64[oi + RADIUS]! + f64[oj + RADIUS]!;
      if (d2 >= rr * rr || d2 < 1e-9) continue;
      const d = Math.sqrt(d2);
      const push = ((rr - d) * 0.5) / d;
      const nxi = xi - ex * push;
      const nyi = yi - ey * push;
      if (!level.blockedAt(nxi | 0, nyi | 0)) {
        f64[oi + X] = nxi;
        f64[oi + Y] = nyi;
      }
      const nxj = xj + ex * push;
      const nyj = yj + ey * push;
      if (!level.blockedAt(nxj | 0, nyj | 0)) {
        f64[oj + X] = nxj;
        f64[oj + Y] = nyj;
      }
      this.contactCount++;
    }
  }

  /** Moves bullets; a bullet that expires, leaves the world or hits a wall is removed; one that hits an enemy posts HIT. */
  moveBullets(dt: number): void {
    const { grid, next, team, handle } = this;
    const bullets = this.bullets;
    const level = this.#level;
    const events = this.#events;
    const views = this.#views;
    const bodies = this.bodies.ptr >>> 3;
    for (let i = 0; i < bullets.length; ) {
      // events.post may grow the queue, and with it the space: read the view per bullet.
      const f64 = views.f64;
      const o = (bullets.ptr >>> 3) + i * BULLET_WORDS;
      const life = f64[o + B_LIFE]! - dt;
      const nx = f64[o + B_X]! + f64[o + B_VX]! * dt;
      const ny = f64[o + B_Y]! + f64[o + B_VY]! * dt;
      if (life <= 0 || nx < 0 || nx >= WORLD_SIZE || ny < 0 || ny >= WORLD_SIZE || level.blockedAt(nx | 0, ny | 0)) {
        bullets.swapRemove(i);
        continue;
      }
      f64[o + B_LIFE] = life;
      f64[o + B_X] = nx;
      f64[o + B_Y] = ny;
      const side = this.bulletTeam.get(i);
      const home = cellAt(nx | 0, ny | 0);
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
          for (let j = grid.get(row * GRID_COLS + col, -1); j >= 0; j = next.get(j)) {
            if (team.get(j) === side) continue;
            const p = bodies + j * BODY_WORDS;
            const ex = f64[p + X]! - nx;
            const ey = f64[p + Y]! - ny;
            const d2 = ex * ex + ey * ey;
            const rr = f64[p + RADIUS]! + BULLET_RADIUS;
            if (d2 < rr * rr && d2 < bestD2) {
              best = j;
              bestD2 = d2;
            }
          }
        }
      }
      if (best >= 0) {
        events.post(EVENT_HIT, handle.get(best), this.#bowner.get(i), this.#bdamage.get(i), o + B_X);
        bullets.swapRemove(i);
        continue;
      }
      i++;
    }
  }

  /** Persists the bodies, bullets and spatial hash into `state` (MemkitGame.persist). The contact list is frame memory: not saved. */
  saveState(state: GameState): void {
    state.containers["physics.bodies"] = this.bodies.persist();
    state.containers["physics.bullets"] = this.bullets.persist();
    state.containers["physics.grid"] = this.grid.persist();
    state.containers["physics.next"] = this.next.persist();
    state.numbers["physics.contactCount"] = this.contactCount;
  }

  /** Empties the bullets (the unload stage). */
  clearBullets(): void {
    this.bullets.clear();
  }

  /** Frees every container. Idempotent. */
  unload(): void {
    this.next.dispose();
    this.grid.dispose();
    this.bullets.dispose();
    this.bodies.dispose();
  }

  [Symbol.dispose](): void {
    this.unload();
    this.mem.dispose();
  }
}
