import { alignUp, type SeededRandom } from "@memkit/core";
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
  assetId,
  cellOf,
  mix32,
} from "../game/config.js";
import { neighbor } from "../game/level.js";

/**
 * The level of the baseline run: the same walls, flow fields, spawn points
 * and assets as the memkit Level, held the way plain JavaScript holds them —
 * number arrays, objects, a Map, and a typed array per asset.
 */
export class BaselineLevel {
  tiles: number[] = [];
  flow: number[] = [];
  spawns: { x: number; y: number }[] = [];
  assets: Uint32Array[] = [];
  assetIndex = new Map<number, number>();
  assetHash = 0;
  readonly #rng: SeededRandom;

  constructor(rng: SeededRandom) {
    this.#rng = rng;
  }

  loadAssets(from: number, to: number): void {
    for (let i = from; i < to && i < ASSET_COUNT; i++) this.#loadAsset(assetId(i));
  }

  #loadAsset(id: number): void {
    const rng = this.#rng;
    const bytes = alignUp(rng.logUniform(ASSET_MIN_BYTES, ASSET_MAX_BYTES), 16);
    const words = bytes >>> 4;
    const packed = new Uint32Array(bytes >>> 4);
    const asset = new Uint32Array(bytes >>> 2);
    for (let w = 0; w < words; w++) packed[w] = rng.nextU32();
    let hash = this.assetHash;
    for (let w = 0; w < words; w++) {
      const v = packed[w]!;
      asset[w * 4] = v;
      asset[w * 4 + 1] = v ^ 0x9e3779b9;
      asset[w * 4 + 2] = Math.imul(v, 3);
      asset[w * 4 + 3] = ~v;
      if ((w & 255) === 0) hash = mix32(hash, v);
    }
    this.assetHash = hash;
    this.assetIndex.set(id, this.assets.length);
    this.assets.push(asset);
  }

  buildTerrain(): void {
    const rng = this.#rng;
    this.tiles = new Array<number>(CELLS).fill(0);
    for (let w = 0; w < WALL_COUNT; w++) {
      const horizontal = rng.chance(0.5);
      const length = rng.int(3, 10);
      const cx = rng.int(BASE_COLS, GRID_COLS - BASE_COLS - 1);
      const cy = rng.int(1, GRID_COLS - 2);
      for (let k = 0; k < length; k++) {
        const x = horizontal ? cx + k : cx;
        const y = horizontal ? cy : cy + k;
        if (x >= BASE_COLS && x < GRID_COLS - BASE_COLS && y < GRID_COLS) this.tiles[y * GRID_COLS + x] = 1;
      }
    }
    for (let team = 0; team < TEAMS; team++) {
      for (let k = 0; k < SPAWNS_PER_TEAM; k++) {
        const offset = 48 + rng.int(0, 96);
        this.spawns.push({ x: team === 0 ? offset : WORLD_SIZE - offset, y: 128 + k * 256 });
      }
    }
  }

  buildFlowFields(): void {
    this.flow = new Array<number>(TEAMS * CELLS).fill(-1);
    for (let team = 0; team < TEAMS; team++) {
      const dist: number[] = [];
      const queue: number[] = [];
      for (let c = 0; c < CELLS; c++) {
        const col = c % GRID_COLS;
        const goal = team === 0 ? col >= GRID_COLS - BASE_COLS : col < BASE_COLS;
        if (goal && this.tiles[c] === 0) {
          dist.push(0);
          queue.push(c);
        } else {
          dist.push(-1);
        }
      }
      for (let head = 0; head < queue.length; head++) {
        const c = queue[head]!;
        const d = dist[c]! + 1;
        for (let k = 0; k < 4; k++) {
          const n = neighbor(c, k);
          if (n >= 0 && dist[n]! < 0 && this.tiles[n] === 0) {
            dist[n] = d;
            queue.push(n);
          }
        }
      }
      for (let c = 0; c < CELLS; c++) {
        const d = dist[c]!;
        let next = -1;
        if (d > 0) {
          for (let k = 0; k < 4 && next < 0; k++) {
            const n = neighbor(c, k);
            if (n >= 0 && dist[n] === d - 1) next = n;
          }
        }
        this.flow[team * CELLS + c] = next;
      }
    }
  }

  /** Binds a texture: the first word of the asset with id `id` as an int32, or -1. */
  textureWord(id: number): number {
    const index = this.assetIndex.get(id);
    return index === undefined ? -1 : this.assets[index]![0]! | 0;
  }

  blocked(x: number, y: number): boolean {
    return this.tiles[cellOf(x, y)] !== 0;
  }

  nextCell(team: number, cell: number): number {
    return this.flow[team * CELLS + cell]!;
  }

  unload(): void {
    this.assets = [];
    this.assetIndex.clear();
    this.spawns = [];
    this.flow = [];
    this.tiles = [];
  }
}
