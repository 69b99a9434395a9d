/*
 * The rules of the sample game, shared by the memkit run and the plain-JS
 * baseline so both simulate exactly the same thing.
 *
 * The arena: a square world of WORLD_SIZE units cut into GRID_COLS x GRID_COLS
 * cells of CELL_SIZE units. Cells are both the level's tiles (walls) and the
 * spatial hash's buckets. Team 0's base is the left edge, team 1's the right;
 * units walk the level's flow field toward the enemy base, fight what they see
 * and respawn at their base.
 *
 *   x = 0                                                      x = WORLD_SIZE
 *   +------------------------------------------------------------------+
 *   | base 0 |        walls, units, bullets, particles        | base 1 |
 *   | cols   |                                                | cols   |
 *   | 0..5   |   (64 x 64 cells of 32 x 32 units)             | 58..63 |
 *   +------------------------------------------------------------------+
 */

/** World width and height in units. */
export const WORLD_SIZE = 2048;
/** Cell (tile and spatial-hash bucket) edge in units: 1 << CELL_SHIFT. */
export const CELL_SHIFT = 5;
export const CELL_SIZE = 1 << CELL_SHIFT;
/** Cells per row and per column. */
export const GRID_COLS = WORLD_SIZE / CELL_SIZE;
/** Cells in the world. */
export const CELLS = GRID_COLS * GRID_COLS;
/** Columns kept free of walls at each edge: the bases. */
export const BASE_COLS = 6;

/**
 * Random fractions are drawn as integers and scaled: `rng.int(0, FRACTION_MAX) * FRACTION`
 * is in [0, 1) in steps of 1/65536. A call that returns a small integer never
 * boxes its result, even where V8 declines to inline it (`rng.next()` would
 * return a fresh heap number then). The play loop draws few numbers per frame
 * anyway: a draw still costs about 8 bytes of garbage inside SeededRandom.
 */
export const FRACTION_MAX = 0xffff;
export const FRACTION = 1 / 0x10000;

/** Most units a game may have: what the sample's containers and a 1 GiB address space hold (--entities, and a restored record). */
export const MAX_ENTITIES = 200_000;

/** Fixed simulation step: 60 frames per simulated second, whatever the wall clock does. */
export const DT = 1 / 60;
/** Teams in the arena. */
export const TEAMS = 2;
/** Spawn points per team. */
export const SPAWNS_PER_TEAM = 8;
/** Units spawned per frame at most while the population is below its target. */
export const RESPAWNS_PER_FRAME = 4;

/** Unit kinds: scout, soldier, tank. Indexed by kind. */
export const KIND_COUNT = 3;
export const KIND_SPEED: readonly number[] = [90, 60, 40];
export const KIND_HEALTH: readonly number[] = [40, 80, 160];
export const KIND_RADIUS: readonly number[] = [6, 8, 12];
export const KIND_DAMAGE: readonly number[] = [8, 10, 20];

/** Seconds between a unit's thoughts (each unit starts at a random phase, so thinking is spread over frames). */
export const THINK_INTERVAL = 0.375;
/** Seconds between shots, by kind. */
export const KIND_COOLDOWN: readonly number[] = [0.8, 1.0, 1.4];
/** Seconds a bullet flies. */
export const BULLET_LIFE = 0.625;

/**
 * Particle bursts take one random draw each; particle k of a burst with draw
 * `b` flies at angle (b / 65536 + k * BURST_TURN) turns, at speed
 * 40 + 10 * ((b + 5k) mod 13) and lives 0.3 + 0.025 * ((b + 7k) mod 13)
 * seconds: varied, and the same in both runs.
 */
export const BURST_TURN = 0.381966;

/** How far a unit sees (units): enemies beyond it are not targeted. */
export const SIGHT = 160;
/** Cells searched around a unit when sensing (ceil(SIGHT / CELL_SIZE)). */
export const SIGHT_CELLS = Math.ceil(SIGHT / CELL_SIZE);
/** Most candidates one sensing pass keeps (the scratch buffer's size). */
export const MAX_CANDIDATES = 64;
/** A target further than this is dropped. */
export const LOSE_SIGHT = SIGHT * 1.25;
/** Units fire at targets within this range. */
export const FIRE_RANGE = 176;
/** Units close in until this distance, and back off when nearer than 60% of it. */
export const KEEP_DISTANCE = 96;
/** A waypoint counts as reached within this distance. */
export const WAYPOINT_REACHED = 12;
/** Waypoints per planned path: 4 + 0..MAX_EXTRA_WAYPOINTS. */
export const MAX_EXTRA_WAYPOINTS = 20;
/** Velocity approaches the desired velocity at this rate (per second). */
export const STEERING = 6;

export const BULLET_SPEED = 420;
/** Bullet radius for hits. */
export const BULLET_RADIUS = 2;

/** Sparks per hit and debris per death (render particles). */
export const SPARKS_PER_HIT = 3;
export const DEBRIS_PER_DEATH = 12;

/** Audio: samples mixed per frame (44.1 kHz at 60 frames/s) and voices playing at once. */
export const SAMPLE_RATE = 44100;
export const SAMPLES_PER_FRAME = 735;
export const MAX_VOICES = 32;
/** Voices one sound may start in one frame. */
export const MAX_STARTS_PER_SOUND = 3;
/** Sounds in the voice bank: fire, hit, death, spawn; lengths in samples. */
export const SOUND_COUNT = 4;
export const SOUND_LENGTH: readonly number[] = [4410, 8820, 22050, 2205];
export const SOUND_PITCH: readonly number[] = [880, 440, 110, 660];

/** Level assets (textures, meshes) loaded as bulk allocations. */
export const ASSET_COUNT = 48;
export const ASSET_MIN_BYTES = 2 << 10;
export const ASSET_MAX_BYTES = 768 << 10;
/**
 * The id of asset `n`: a hash of its name, as an engine names resources.
 * Ids stay below 2^31, so they are small integers wherever they go.
 */
export function assetId(n: number): number {
  return Math.imul(n + 1, 0x9e3779b1) & 0x7fffffff;
}

/** Walls placed by the level generator. */
export const WALL_COUNT = 40;

/** Frames the load and unload stages take (loading streams assets over several frames). */
export const ASSET_LOAD_FRAMES = 8;

/** Event types (the event queue's `type` field). */
export const EVENT_FIRE = 1;
export const EVENT_HIT = 2;
export const EVENT_DEATH = 3;
export const EVENT_SPAWN = 4;

/** Draw-list layers (the top 2 bits of a draw key). */
export const LAYER_TILES = 0;
export const LAYER_UNITS = 1;
export const LAYER_BULLETS = 2;
export const LAYER_PARTICLES = 3;

/**
 * The cell holding the integer position (ix, iy) — a world position truncated
 * with `x | 0` — clamped into the grid. Hot loops pass integers: a call that
 * V8 does not inline boxes double arguments, never small integers.
 */
export function cellAt(ix: number, iy: number): number {
  let cx = ix >> CELL_SHIFT;
  let cy = iy >> CELL_SHIFT;
  if (cx < 0) cx = 0;
  else if (cx >= GRID_COLS) cx = GRID_COLS - 1;
  if (cy < 0) cy = 0;
  else if (cy >= GRID_COLS) cy = GRID_COLS - 1;
  return cy * GRID_COLS + cx;
}

/** The cell holding world position (x, y), clamped into the grid (the same cell as `cellAt(x | 0, y | 0)`). */
export function cellOf(x: number, y: number): number {
  return cellAt(x | 0, y | 0);
}

/** World x of a cell's centre. */
export function cellCenterX(cell: number): number {
  return (cell % GRID_COLS) * CELL_SIZE + CELL_SIZE / 2;
}

/** World y of a cell's centre. */
export function cellCenterY(cell: number): number {
  return Math.floor(cell / GRID_COLS) * CELL_SIZE + CELL_SIZE / 2;
}

/**
 * A draw-list sort key: layer (2 bits) | material (13 bits) | depth (16 bits).
 * 2 + 13 + 16 = 31 bits, so a key is always a small integer (never a boxed
 * number); sorting by it groups layers, then materials (one batch each), then
 * draws back to front. `depth` is `(y * 16) | 0`, clamped here.
 */
export function drawKey(layer: number, depth: number, material: number): number {
  const d = depth < 0 ? 0 : depth > 0xffff ? 0xffff : depth;
  return (layer << 29) | ((material & 0x1fff) << 16) | d;
}

/** The material of a draw key. */
export function drawMaterial(key: number): number {
  return (key >>> 16) & 0x1fff;
}

/**
 * The opening line-up stands anywhere in its team's half (this far from the
 * edges), so the armies meet at once; later units spawn at their base.
 */
export const FIELD_MARGIN = 32;
/** Draws of an opening position before a spot inside a wall is accepted. */
export const FIELD_TRIES = 8;

/** One step of the FNV-1a-style hash the render "submit" and the checksums fold values into (int32 in, int32 out). */
export function mix32(hash: number, value: number): number {
  return Math.imul(hash ^ value, 16777619);
}

/** Sample `i` of sound `sound` in the voice bank: a decaying tone, the same in both runs. */
export function soundSample(sound: number, i: number): number {
  const length = SOUND_LENGTH[sound]!;
  const t = i / SAMPLE_RATE;
  const envelope = 1 - i / length;
  return Math.sin(2 * Math.PI * SOUND_PITCH[sound]! * t) * envelope * envelope;
}

/** Listener gain of a sound at (x, y): the listener sits at the centre of the world. */
export function soundGain(x: number, y: number): number {
  const dx = x - WORLD_SIZE / 2;
  const dy = y - WORLD_SIZE / 2;
  return 1 / (1 + Math.sqrt(dx * dx + dy * dy) / 512);
}

/** What a game run is asked to do. */
export interface GameConfig {
  /** Frames in the play stage. */
  frames: number;
  /** Target unit population. */
  entities: number;
  /** Seed of the one SeededRandom every random choice comes from. */
  seed: number;
  /** Deliberately leak the audio voice bank (memkit run only). */
  leak: boolean;
}

/** Counters both runs keep; equal counters and checksum mean both simulated the same game. */
export interface SimSummary {
  unitsAlive: number;
  spawned: number;
  died: number;
  shots: number;
  hits: number;
  soundsPlayed: number;
  particlesAlive: number;
  bulletsAlive: number;
  /** Play frames simulated so far, warm-up included (and, after a restore, the frames before the save). */
  frames: number;
  /** Draw items submitted over those frames, and draw batches (material changes). */
  drawItems: number;
  drawBatches: number;
  /** A hash of everything: unit state, draw order, audio mix, level content. */
  checksum: number;
}

/** A fresh all-zero summary. */
export function emptySummary(): SimSummary {
  return { unitsAlive: 0, spawned: 0, died: 0, shots: 0, hits: 0, soundsPlayed: 0, particlesAlive: 0, bulletsAlive: 0, frames: 0, drawItems: 0, drawBatches: 0, checksum: 0 };
}

/** Folds a float into a hash, rounded to a 1/1024 grid (equal inputs always fold equally). */
export function mixFloat(hash: number, value: number): number {
  return mix32(hash, Math.round(value * 1024) | 0);
}
