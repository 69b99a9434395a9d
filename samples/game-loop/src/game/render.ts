import { StructArray, defineStruct, type StructField } from "@memkit/containers";
import type { TraceAllocator } from "@memkit/trace-allocator";
import {
  ASSET_COUNT,
  BURST_TURN,
  CELLS,
  DEBRIS_PER_DEATH,
  EVENT_DEATH,
  EVENT_HIT,
  FRACTION,
  FRACTION_MAX,
  LAYER_BULLETS,
  LAYER_PARTICLES,
  LAYER_TILES,
  LAYER_UNITS,
  SPARKS_PER_HIT,
  assetId,
  cellCenterY,
  drawKey,
  drawMaterial,
  mix32,
} from "./config.js";
import type { Engine } from "./engine.js";
import { E_X, E_Y, type EventQueue } from "./events.js";
import { FrameList } from "./frame-list.js";
import { restoreContainer, type GameState } from "./game-record.js";
import type { Gameplay } from "./gameplay.js";
import type { Level } from "./level.js";
import { BODY_WORDS, BULLET_WORDS, B_Y, Y, type Physics } from "./physics.js";
import { fieldWord, strideWords } from "./record-words.js";
import type { SpaceViews } from "@memkit/containers";
import { radixSortPairs } from "./radix-sort.js";

const Particle = defineStruct({ x: "f64", y: "f64", vx: "f64", vy: "f64", life: "f64", color: "u8" });
const PARTICLE_WORDS = strideWords(Particle, 8);
const P_X = fieldWord(Particle, "x", 8);
const P_Y = fieldWord(Particle, "y", 8);
const P_VX = fieldWord(Particle, "vx", 8);
const P_VY = fieldWord(Particle, "vy", 8);
const P_LIFE = fieldWord(Particle, "life", 8);
/** A particle record's byte layout, for kernels that move particles outside JS (src/wasm/). */
export const PARTICLE_LAYOUT = { stride: Particle.size, x: Particle.offsetOf("x"), y: Particle.offsetOf("y"), vx: Particle.offsetOf("vx"), vy: Particle.offsetOf("vy"), life: Particle.offsetOf("life") } as const;

/** Moves and ages `length` particles at `ptr` (PARTICLE_LAYOUT) exactly as moveParticles does; returns the new length. */
export type ParticleKernel = (ptr: number, length: number, dt: number) => number;

/** Draw-list payload: what an item is (top 8 bits) and its index (low 24 bits). */
const ITEM_TILE = 0 << 24;
const ITEM_UNIT = 1 << 24;
const ITEM_BULLET = 2 << 24;
const ITEM_PARTICLE = 3 << 24;

/**
 * Particles and the per-frame draw list.
 *
 * Memory:
 * - `particles` (scope `root/render`): sparks and debris with lives of a few
 *   tenths of a second, swap-removed when they expire.
 * - the draw list: two u32 lists (sort keys, payloads) in frame memory,
 *   sized exactly for the frame's items; sorted by a radix sort whose
 *   ping-pong buffers are scratch memory; "submitted" by folding every item
 *   into a hash and counting material changes (batches), as a GPU backend
 *   would bind a texture per batch.
 *
 * ```
 * key (u32):   layer 2 | depth 14 | material 16      payload (u32):  kind 8 | index 24
 * ```
 */
export class Render implements Disposable {
  readonly mem: TraceAllocator;
  readonly particles: StructArray<typeof Particle>;
  readonly keys: FrameList;
  readonly payloads: FrameList;
  /** Totals over the run, and the hash of everything submitted. */
  drawItems = 0;
  drawBatches = 0;
  drawHash = 0;
  readonly #pcolor: StructField<"u8">;
  readonly #engine: Engine;
  readonly #level: Level;
  readonly #physics: Physics;
  readonly #gameplay: Gameplay;
  readonly #events: EventQueue;
  readonly #views: SpaceViews;
  #wallCount = -1;

  /** `saved`: the state of a saved game, whose particles this takes over (MemkitGame.restore). */
  constructor(engine: Engine, level: Level, physics: Physics, gameplay: Gameplay, saved?: GameState) {
    this.#engine = engine;
    this.#level = level;
    this.#physics = physics;
    this.#gameplay = gameplay;
    this.#events = gameplay.events;
    this.#views = engine.views;
    const mem = (this.mem = engine.scope("render"));
    if (saved === undefined) {
      // Sized for a busy battle up front (growing mid-loop would deoptimise the loop).
      this.particles = new StructArray(mem, Particle, engine.containerOptions("particles", 2 * engine.config.entities));
    } else {
      this.particles = restoreContainer(saved, "render.particles", (p) => StructArray.restore(mem, p, Particle, engine.restoreOptions()));
      this.drawItems = saved.numbers["render.drawItems"];
      this.drawBatches = saved.numbers["render.drawBatches"];
      this.drawHash = saved.numbers["render.drawHash"];
    }
    this.keys = new FrameList(engine.memory.frame, engine.views);
    this.payloads = new FrameList(engine.memory.frame, engine.views);
    this.#pcolor = this.particles.field("color");
  }

  /** Spawns particles for the frame's hits and deaths, moves and expires them, then builds, sorts and submits the draw list. */
  update(dt: number): void {
    this.spawnParticles();
    this.moveParticles(dt);
    this.buildDrawList();
    this.sortDrawList();
    this.submit();
  }

  spawnParticles(): void {
    const events = this.#events;
    const views = this.#views;
    for (let e = 0; e < events.length; e++) {
      const type = events.type.get(e);
      if (type !== EVENT_HIT && type !== EVENT_DEATH) continue;
      const count = type === EVENT_HIT ? SPARKS_PER_HIT : DEBRIS_PER_DEATH;
      const color = type === EVENT_HIT ? 0 : 1;
      const draw = this.#engine.rng.int(0, FRACTION_MAX);
      for (let k = 0; k < count; k++) {
        const angle = (draw * FRACTION + k * BURST_TURN) * 2 * Math.PI;
        const speed = 40 + 10 * ((draw + 5 * k) % 13);
        const life = 0.3 + 0.025 * ((draw + 7 * k) % 13);
        const i = this.particles.push();
        this.#pcolor.set(i, color + k * 2);
        // Read after the push: growing the particles may have grown the space.
        const f64 = views.f64;
        const from = events.word(e);
        const o = (this.particles.ptr >>> 3) + i * PARTICLE_WORDS;
        f64[o + P_X] = f64[from + E_X]!;
        f64[o + P_Y] = f64[from + E_Y]!;
        f64[o + P_VX] = Math.cos(angle) * speed;
        f64[o + P_VY] = Math.sin(angle) * speed;
        f64[o + P_LIFE] = life;
      }
    }
  }

  /** Set by `--wasm` (src/wasm/): the particles move in a WebAssembly module, over the same bytes. */
  particleKernel: ParticleKernel | undefined = undefined;

  moveParticles(dt: number): void {
    const particles = this.particles;
    if (this.particleKernel !== undefined) {
      particles.resize(this.particleKernel(particles.ptr, particles.length, dt));
      return;
    }
    const f64 = this.#views.f64;
    const base = particles.ptr >>> 3;
    for (let i = 0; i < particles.length; ) {
      const o = base + i * PARTICLE_WORDS;
      const life = f64[o + P_LIFE]! - dt;
      if (life <= 0) {
        particles.swapRemove(i);
        continue;
      }
      f64[o + P_LIFE] = life;
      const vx = f64[o + P_VX]! * 0.96;
      const vy = f64[o + P_VY]! * 0.96;
      f64[o + P_VX] = vx;
      f64[o + P_VY] = vy;
      f64[o + P_X] = f64[o + P_X]! + vx * dt;
      f64[o + P_Y] = f64[o + P_Y]! + vy * dt;
      i++;
    }
  }

  /** Walls, units, bullets, particles: one key and one payload each, in frame memory sized exactly. */
  buildDrawList(): void {
    const tiles = this.#level.tiles;
    if (this.#wallCount < 0) {
      let walls = 0;
      for (let c = 0; c < CELLS; c++) if (tiles.get(c) !== 0) walls++;
      this.#wallCount = walls;
    }
    const physics = this.#physics;
    const units = physics.bodies.length;
    const bullets = physics.bullets.length;
    const particles = this.particles.length;
    const count = this.#wallCount + units + bullets + particles;
    const keys = this.keys;
    const payloads = this.payloads;
    keys.begin(count);
    payloads.begin(count);
    // Both lists have room for every item: nothing below allocates, so the view stays valid.
    const f64 = this.#views.f64;
    for (let c = 0; c < CELLS; c++) {
      if (tiles.get(c) === 0) continue;
      keys.push(drawKey(LAYER_TILES, cellCenterY(c) * 16, 1));
      payloads.push(ITEM_TILE | c);
    }
    const { team } = physics;
    const kind = this.#gameplay.kind;
    const bodies = physics.bodies.ptr >>> 3;
    for (let i = 0; i < units; i++) {
      keys.push(drawKey(LAYER_UNITS, (f64[bodies + i * BODY_WORDS + Y]! * 16) | 0, 16 + kind.get(i) * 2 + team.get(i)));
      payloads.push(ITEM_UNIT | i);
    }
    const bulletTeam = physics.bulletTeam;
    const shots = physics.bullets.ptr >>> 3;
    for (let i = 0; i < bullets; i++) {
      keys.push(drawKey(LAYER_BULLETS, (f64[shots + i * BULLET_WORDS + B_Y]! * 16) | 0, 32 + bulletTeam.get(i)));
      payloads.push(ITEM_BULLET | i);
    }
    const pcolor = this.#pcolor;
    const sparks = this.particles.ptr >>> 3;
    for (let i = 0; i < particles; i++) {
      keys.push(drawKey(LAYER_PARTICLES, (f64[sparks + i * PARTICLE_WORDS + P_Y]! * 16) | 0, 40 + pcolor.get(i)));
      payloads.push(ITEM_PARTICLE | i);
    }
  }

  /** Sorts the draw list by key (radix sort, scratch temp buffers). */
  sortDrawList(): void {
    radixSortPairs(this.#engine.memory.scratch, this.#views, this.keys.ptr, this.payloads.ptr, this.keys.length);
  }

  /** Walks the sorted list: a new batch (and a texture bind) whenever the material changes. */
  submit(): void {
    const keys = this.keys;
    const payloads = this.payloads;
    const level = this.#level;
    let hash = this.drawHash;
    let material = -1;
    let batches = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys.get(i);
      const m = drawMaterial(key);
      if (m !== material) {
        material = m;
        batches++;
        hash = mix32(hash, level.textureWord(assetId(m % ASSET_COUNT)));
      }
      hash = mix32(hash, key);
      hash = mix32(hash, payloads.get(i));
    }
    this.drawHash = hash;
    this.drawItems += keys.length;
    this.drawBatches += batches;
  }

  /**
   * Persists the particles into `state` (MemkitGame.persist). The draw lists
   * are frame memory and the wall count a cache of the tiles: neither is saved.
   */
  saveState(state: GameState): void {
    state.containers["render.particles"] = this.particles.persist();
    state.numbers["render.drawItems"] = this.drawItems;
    state.numbers["render.drawBatches"] = this.drawBatches;
    state.numbers["render.drawHash"] = this.drawHash;
  }

  /** Frees the particles. Idempotent. */
  unload(): void {
    this.particles.dispose();
  }

  [Symbol.dispose](): void {
    this.unload();
    this.mem.dispose();
  }
}
