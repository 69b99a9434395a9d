import { alignUp } from "@memkit/core";
import { DynamicArray, HashMap, StructArray, defineStruct, type StructField } from "@memkit/containers";
import type { TraceAllocator } from "@memkit/trace-allocator";
import {
  ASSET_COUNT,
  ASSET_MAX_BYTES,
  ASSET_MIN_BYTES,
  BASE_COLS,
  CELLS,
  GRID_COLS,
  SPAWNS_PER_TEAM,
  TEAMS,
  WALL_COUNT,
  WORLD_SIZE,
  cellAt,
  assetId,
  cellOf,
  mix32,
} from "./config.js";
import type { Engine } from "./engine.js";
import { restoreContainer, type GameState } from "./game-record.js";

const SpawnPoint = defineStruct({ x: "f64", y: "f64" });
const Asset = defineStruct({ ptr: "u32", bytes: "u32", id: "u32" });

/**
 * The level: walls (one u8 per cell), a flow field per team (the next cell
 * toward the enemy base, -1 at the goal or where it is unreachable), spawn
 * points, and the level's assets — ASSET_COUNT blobs of 2 KiB..768 KiB, the
 * bulk allocations of the load stage (the biggest are whole page spans).
 *
 * Memory: everything in scope `root/level`. Each asset is "decoded" through a
 * temporary child scope `root/level/decode` opened with `using`, so its
 * teardown asserts the decode buffer was freed. The flow-field search (a BFS)
 * takes its distance array and queue from the scratch stack.
 */
export class Level implements Disposable {
  readonly mem: TraceAllocator;
  readonly tiles: DynamicArray<"u8">;
  readonly flow: DynamicArray<"i32">;
  readonly spawns: StructArray<typeof SpawnPoint>;
  readonly assets: StructArray<typeof Asset>;
  /** Asset id (see assetId) -> index in `assets`. */
  readonly assetIndex: HashMap<"u32", "u32">;
  /** A hash of every asset's bytes, folded as they load. */
  assetHash = 0;
  readonly #engine: Engine;
  readonly #spawnX: StructField<"f64">;
  readonly #spawnY: StructField<"f64">;
  readonly #assetPtr: StructField<"u32">;
  #unloaded = false;

  /** `saved`: the state of a saved game, whose containers this level takes over (MemkitGame.restore). */
  constructor(engine: Engine, saved?: GameState) {
    this.#engine = engine;
    const mem = (this.mem = engine.scope("level"));
    if (saved === undefined) {
      this.tiles = new DynamicArray(mem, "u8", engine.containerOptions("tiles"));
      this.flow = new DynamicArray(mem, "i32", engine.containerOptions("flow"));
      this.spawns = new StructArray(mem, SpawnPoint, engine.containerOptions("spawns"));
      this.assets = new StructArray(mem, Asset, engine.containerOptions("assets"));
      this.assetIndex = new HashMap(mem, { key: "u32", value: "u32", ...engine.containerOptions("asset index") });
    } else {
      const options = engine.restoreOptions();
      this.tiles = restoreContainer(saved, "level.tiles", (p) => DynamicArray.restore(mem, p, { kind: "u8", ...options }));
      this.flow = restoreContainer(saved, "level.flow", (p) => DynamicArray.restore(mem, p, { kind: "i32", ...options }));
      this.spawns = restoreContainer(saved, "level.spawns", (p) => StructArray.restore(mem, p, SpawnPoint, options));
      this.assets = restoreContainer(saved, "level.assets", (p) => StructArray.restore(mem, p, Asset, options));
      this.assetIndex = restoreContainer(saved, "level.assetIndex", (p) => HashMap.restore(mem, p, { key: "u32", value: "u32", ...options }));
      this.assetHash = saved.numbers["level.assetHash"];
    }
    this.#spawnX = this.spawns.field("x");
    this.#spawnY = this.spawns.field("y");
    this.#assetPtr = this.assets.field("ptr");
  }

  /** Streams in assets `[from, to)` (of ASSET_COUNT). */
  loadAssets(from: number, to: number): void {
    for (let i = from; i < to && i < ASSET_COUNT; i++) this.#loadAsset(assetId(i));
  }

  /**
   * Loads one asset: reads its "packed" form into a decode buffer, expands it
   * 4x into the asset's own block, frees the decode buffer. The decode scope
   * is disposed (and leak-checked) at the end of the block.
   */
  #loadAsset(id: number): void {
    const rng = this.#engine.rng;
    const bytes = alignUp(rng.logUniform(ASSET_MIN_BYTES, ASSET_MAX_BYTES), 16);
    const words = bytes >>> 4;
    using decode = this.mem.child("decode");
    const packed = decode.allocate(bytes >>> 2);
    const ptr = this.mem.allocate(bytes);
    // Views read after both allocations: either may have grown the space.
    const u32 = this.#engine.views.u32;
    const src = packed >>> 2;
    for (let w = 0; w < words; w++) u32[src + w] = rng.nextU32();
    const dst = ptr >>> 2;
    let hash = this.assetHash;
    for (let w = 0; w < words; w++) {
      const v = u32[src + w]!;
      const o = dst + w * 4;
      u32[o] = v;
      u32[o + 1] = v ^ 0x9e3779b9;
      u32[o + 2] = Math.imul(v, 3);
      u32[o + 3] = ~v;
      if ((w & 255) === 0) hash = mix32(hash, v);
    }
    this.assetHash = hash;
    decode.deallocate(packed);
    const index = this.assets.push();
    this.assets.set(index, "ptr", ptr);
    this.assets.set(index, "bytes", bytes);
    this.assets.set(index, "id", id);
    this.assetIndex.set(id, index);
  }

  /** Places the walls and the spawn points. */
  buildTerrain(): void {
    const rng = this.#engine.rng;
    this.tiles.resize(CELLS);
    for (let w = 0; w < WALL_COUNT; w++) {
      const horizontal = rng.chance(0.5);
      const length = rng.int(3, 10);
      const cx = rng.int(BASE_COLS, GRID_COLS - BASE_COLS - 1);
      const cy = rng.int(1, GRID_COLS - 2);
      for (let k = 0; k < length; k++) {
        const x = horizontal ? cx + k : cx;
        const y = horizontal ? cy : cy + k;
        if (x >= BASE_COLS && x < GRID_COLS - BASE_COLS && y < GRID_COLS) this.tiles.set(y * GRID_COLS + x, 1);
      }
    }
    for (let team = 0; team < TEAMS; team++) {
      for (let k = 0; k < SPAWNS_PER_TEAM; k++) {
        const offset = 48 + rng.int(0, 96);
        const i = this.spawns.push();
        this.#spawnX.set(i, team === 0 ? offset : WORLD_SIZE - offset);
        this.#spawnY.set(i, 128 + k * 256);
      }
    }
  }

  /**
   * One flow field per team: a breadth-first search from the enemy base over
   * free cells. Its distance array and queue are scratch memory, released
   * when the field is built.
   */
  buildFlowFields(): void {
    const scratch = this.#engine.memory.scratch;
    this.flow.resize(TEAMS * CELLS);
    for (let team = 0; team < TEAMS; team++) {
      const mark = scratch.mark();
      const dist = scratch.allocate(CELLS * 4) >>> 2;
      const queue = scratch.allocate(CELLS * 4) >>> 2;
      const i32 = this.#engine.views.i32;
      let tail = 0;
      for (let c = 0; c < CELLS; c++) {
        const col = c % GRID_COLS;
        const goal = team === 0 ? col >= GRID_COLS - BASE_COLS : col < BASE_COLS;
        if (goal && this.tiles.get(c) === 0) {
          i32[dist + c] = 0;
          i32[queue + tail++] = c;
        } else {
          i32[dist + c] = -1;
        }
      }
      for (let head = 0; head < tail; head++) {
        const c = i32[queue + head]!;
        const d = i32[dist + c]! + 1;
        for (let k = 0; k < 4; k++) {
          const n = neighbor(c, k);
          if (n >= 0 && i32[dist + n]! < 0 && this.tiles.get(n) === 0) {
            i32[dist + n] = d;
            i32[queue + tail++] = n;
          }
        }
      }
      for (let c = 0; c < CELLS; c++) {
        const d = i32[dist + c]!;
        let next = -1;
        if (d > 0) {
          for (let k = 0; k < 4 && next < 0; k++) {
            const n = neighbor(c, k);
            if (n >= 0 && i32[dist + n] === d - 1) next = n;
          }
        }
        this.flow.set(team * CELLS + c, next);
      }
      scratch.release(mark);
    }
  }

  /** True when world position (x, y) is inside a wall. */
  blocked(x: number, y: number): boolean {
    return this.tiles.get(cellOf(x, y)) !== 0;
  }

  /** True when the truncated position (x | 0, y | 0) is inside a wall: the hot loops' form (integer arguments). */
  blockedAt(ix: number, iy: number): boolean {
    return this.tiles.get(cellAt(ix, iy)) !== 0;
  }

  /** The next cell from `cell` toward the enemy base of `team`, or -1. */
  nextCell(team: number, cell: number): number {
    return this.flow.get(team * CELLS + cell);
  }

  spawnX(team: number, k: number): number {
    return this.#spawnX.get(team * SPAWNS_PER_TEAM + k);
  }

  spawnY(team: number, k: number): number {
    return this.#spawnY.get(team * SPAWNS_PER_TEAM + k);
  }

  /**
   * Binds a texture: finds the asset by id in the asset index and returns
   * its first word as an int32 (what a GPU upload would read). -1 for an id
   * the level does not have.
   */
  textureWord(id: number): number {
    const index = this.assetIndex.get(id, -1);
    return index < 0 ? -1 : this.#engine.views.i32[this.#assetPtr.get(index) >>> 2]!;
  }

  /** Persists the level's containers into `state` (MemkitGame.persist). */
  saveState(state: GameState): void {
    state.containers["level.tiles"] = this.tiles.persist();
    state.containers["level.flow"] = this.flow.persist();
    state.containers["level.spawns"] = this.spawns.persist();
    state.containers["level.assets"] = this.assets.persist();
    state.containers["level.assetIndex"] = this.assetIndex.persist();
    state.numbers["level.assetHash"] = this.assetHash;
  }

  /** Frees every asset and container. Idempotent. */
  unload(): void {
    if (this.#unloaded) return;
    this.#unloaded = true;
    for (let i = this.assets.length - 1; i >= 0; i--) this.mem.deallocate(this.#assetPtr.get(i));
    this.assets.clear();
    this.assetIndex.dispose();
    this.assets.dispose();
    this.spawns.dispose();
    this.flow.dispose();
    this.tiles.dispose();
  }

  /** Unloads, then closes the scope: a LeakError here names what the level kept. */
  [Symbol.dispose](): void {
    this.unload();
    this.mem.dispose();
  }
}

/** Neighbor `k` of `cell` (0 up, 1 down, 2 left, 3 right), or -1 at the edge. */
export function neighbor(cell: number, k: number): number {
  const col = cell % GRID_COLS;
  if (k === 0) return cell >= GRID_COLS ? cell - GRID_COLS : -1;
  if (k === 1) return cell < CELLS - GRID_COLS ? cell + GRID_COLS : -1;
  if (k === 2) return col > 0 ? cell - 1 : -1;
  return col < GRID_COLS - 1 ? cell + 1 : -1;
}
