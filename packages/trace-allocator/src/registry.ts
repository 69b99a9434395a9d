import type { AddressSpace } from "@memkit/core";
import { BlockRecords, HEADER_BYTES, OWNER_MASK, RETAINED, ROW_MASK, R_PTR, R_SITE, R_SIZE, R_WORD } from "./block-records.js";
import { CallStacks } from "./call-stacks.js";
import { LabelTable, type LabelTally } from "./labels.js";
import { Site } from "./sites.js";
import type { BudgetWarning } from "./types.js";
import type { TraceAllocator } from "./trace-allocator.js";

/*
 * Per-scope counters: one row of 16 float64 per scope in `counters`, so the
 * hot path adds into a typed array (no boxed doubles, no objects) and a
 * subtree roll-up is a walk up `parents`.
 *
 *   own blocks                      subtree (the scope and all descendants)
 *   +0  LIVE_BYTES                  +10 TOTAL_BYTES
 *   +1  LIVE_COUNT                  +11 TOTAL_COUNT
 *   +2  PEAK_BYTES                  +12 TOTAL_PEAK
 *   +3  PEAK_FRAME                  +13 TOTAL_PEAK_FRAME
 *   +4  ALLOC_COUNT                 +14 EPOCH    bumped at each new subtree peak (see sites.ts)
 *   +5  FREE_COUNT                  +15 LIMIT    budget the hot path checks: Infinity when none
 *   +6  REALLOC_COUNT                            (or when a "warn" budget already warned)
 *   +7  ALLOC_BYTES
 *   +8  RETAINED_BYTES
 *   +9  RETAINED_COUNT
 *
 * Rows are recycled when a scope is disposed; `generations[row]` goes up each
 * time so a site that outlived its scope can tell the row now means another.
 */
export const ROW_SHIFT = 4;
export const C_LIVE_BYTES = 0;
export const C_LIVE_COUNT = 1;
export const C_PEAK_BYTES = 2;
export const C_PEAK_FRAME = 3;
export const C_ALLOC_COUNT = 4;
export const C_FREE_COUNT = 5;
export const C_REALLOC_COUNT = 6;
export const C_ALLOC_BYTES = 7;
export const C_RETAINED_BYTES = 8;
export const C_RETAINED_COUNT = 9;
export const C_TOTAL_BYTES = 10;
export const C_TOTAL_COUNT = 11;
export const C_TOTAL_PEAK = 12;
export const C_TOTAL_PEAK_FRAME = 13;
export const C_EPOCH = 14;
export const C_LIMIT = 15;

/** Why a block is retained and where it came from. */
export interface RetainInfo {
  /** Path of the scope that allocated it. */
  origin: string;
  /** That scope (it may be disposed; freeing through it still works). */
  originScope: TraceAllocator;
  reason: string | undefined;
}

/** Settings fixed for a whole tree. */
export interface RegistrySettings {
  stackDepth: number;
  internalFrames: RegExp;
  initialCapacity: number;
  freedHistory: number;
  onBudgetWarning: (warning: BudgetWarning) => void;
  /** Every block gets a guarded header (header-guard.ts). */
  guardHeaders: boolean;
}

/**
 * The state one scope tree shares: the live-block records (so any scope can
 * answer scopeOf, and a free through the wrong scope is caught in O(1)), the
 * counter rows, the interned call stacks and sites, and recent frees.
 */
export class Registry {
  readonly records: BlockRecords;
  /** Int32 view of the space (block headers), refreshed whenever the space grows. */
  i32: Int32Array;
  /** Byte view of the space (guarded headers), refreshed with `i32`. */
  u8: Uint8Array;
  /** Blocks get guarded headers (settings.guardHeaders). */
  readonly guarded: boolean;
  /** Set by {@link destroy}: the tree is over, its views no longer follow the space. */
  destroyed = false;
  private readonly unsubscribe: () => void;
  readonly stacks: CallStacks;
  readonly settings: RegistrySettings;
  counters = new Float64Array(16 << ROW_SHIFT);
  parents = new Int32Array(16).fill(-1);
  generations = new Int32Array(16);
  /** Scope of each row (undefined: free row). */
  readonly scopes: (TraceAllocator | undefined)[] = [];
  private readonly freeRows: number[] = [];
  /** The engine's frame number (markFrame): stored with each block and each peak. */
  frame = 0;
  /** Ring of recent frees: [ptr, row] pairs. */
  readonly freed: Int32Array;
  freedAt = 0;
  readonly freedMask: number = 0;
  /** Retained blocks (flagged RETAINED in the records): cold-path detail. */
  readonly retained = new Map<number, RetainInfo>();
  /** Sites by id (index 0 unused). */
  readonly sites: (Site | undefined)[] = [undefined];
  private readonly freeSites: number[] = [];
  /** Sites whose scope was disposed, kept while blocks or peak snapshots need them. */
  readonly orphans = new Set<Site>();
  /** Block labels of the tree and their tallies per scope (labels.ts). */
  readonly labels = new LabelTable();

  constructor(space: AddressSpace, settings: RegistrySettings) {
    this.settings = settings;
    this.records = new BlockRecords(settings.initialCapacity);
    this.i32 = space.i32;
    this.u8 = space.u8;
    this.guarded = settings.guardHeaders;
    this.unsubscribe = space.onGrow((grown) => {
      this.i32 = grown.i32;
      this.u8 = grown.u8;
    });
    this.stacks = new CallStacks(settings.stackDepth, settings.internalFrames);
    this.freed = new Int32Array(settings.freedHistory * 2);
    this.freedMask = settings.freedHistory * 2 - 1;
  }

  /**
   * Stops following the space's growth; the tree must not be used after. The
   * views become empty, so a late lookup finds nothing instead of reading a
   * stale buffer.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.unsubscribe();
    this.i32 = new Int32Array(0);
    this.u8 = new Uint8Array(0);
  }

  // ------------------------------------------------------------------ rows

  /** Takes a row for `scope` under `parentRow` (-1 for the root) with zeroed counters. */
  openRow(scope: TraceAllocator, parentRow: number): number {
    let row = this.freeRows.pop();
    if (row === undefined) {
      row = this.scopes.length;
      this.scopes.push(undefined);
      if (row >= this.parents.length) this.growRows(this.parents.length * 2);
    }
    this.scopes[row] = scope;
    this.parents[row] = parentRow;
    const o = row << ROW_SHIFT;
    this.counters.fill(0, o, o + 16);
    this.counters[o + C_LIMIT] = Infinity;
    this.counters[o + C_PEAK_FRAME] = this.frame;
    this.counters[o + C_TOTAL_PEAK_FRAME] = this.frame;
    return row;
  }

  /** Gives `row` back; its generation goes up so stale references to it are recognised. */
  closeRow(row: number): void {
    this.labels.dropRow(row);
    this.scopes[row] = undefined;
    this.parents[row] = -1;
    this.generations[row]!++;
    this.freeRows.push(row);
  }

  private growRows(rows: number): void {
    const counters = new Float64Array(rows << ROW_SHIFT);
    counters.set(this.counters);
    const parents = new Int32Array(rows).fill(-1);
    parents.set(this.parents);
    const generations = new Int32Array(rows);
    generations.set(this.generations);
    this.counters = counters;
    this.parents = parents;
    this.generations = generations;
  }

  /** Rows of `row` and its ancestors, innermost first. */
  chainOf(row: number): number[] {
    const rows: number[] = [];
    for (let r = row; r >= 0; r = this.parents[r]!) rows.push(r);
    return rows;
  }

  /** True when `row` is `ancestor` or below it. */
  isWithin(row: number, ancestor: number): boolean {
    for (let r = row; r >= 0; r = this.parents[r]!) if (r === ancestor) return true;
    return false;
  }

  // -------------------------------------------------------------- hot path

  /** Counts a new block of `size` in `row` (and `site`); its record is already in. */
  added(row: number, size: number, site: number): void {
    const c = this.counters;
    const frame = this.frame;
    if (site !== 0) this.siteAdd(site, size);
    const o = row << ROW_SHIFT;
    const live = c[o]! + size;
    c[o] = live;
    if (live > c[o + C_PEAK_BYTES]!) {
      c[o + C_PEAK_BYTES] = live;
      c[o + C_PEAK_FRAME] = frame;
    }
    c[o + C_LIVE_COUNT]!++;
    c[o + C_ALLOC_COUNT]!++;
    c[o + C_ALLOC_BYTES]! += size;
    const parents = this.parents;
    for (let r = row; r >= 0; r = parents[r]!) {
      const p = r << ROW_SHIFT;
      const total = c[p + C_TOTAL_BYTES]! + size;
      c[p + C_TOTAL_BYTES] = total;
      c[p + C_TOTAL_COUNT]!++;
      if (total > c[p + C_TOTAL_PEAK]!) {
        c[p + C_TOTAL_PEAK] = total;
        c[p + C_TOTAL_PEAK_FRAME] = frame;
        c[p + C_EPOCH]!++;
      }
    }
  }

  /**
   * Forgets record `i` (block `ptr`, whose backing block is already freed):
   * counters of its owner and the owner's ancestors, its site, the retain
   * record, and the ring of recent frees.
   */
  released(i: number, ptr: number): void {
    const records = this.records;
    const size = records.data[(i << 2) + R_SIZE]!;
    const word = records.data[(i << 2) + R_WORD]!;
    const site = records.data[(i << 2) + R_SITE]!;
    const row = word & ROW_MASK;
    records.removeAt(i, this.i32);
    this.noteFreed(ptr, row);
    if (site !== 0) this.siteRemove(site, size, row);
    const c = this.counters;
    const o = row << ROW_SHIFT;
    c[o] = c[o]! - size;
    c[o + C_LIVE_COUNT]!--;
    c[o + C_FREE_COUNT]!++;
    if ((word & RETAINED) !== 0) {
      c[o + C_RETAINED_BYTES] = c[o + C_RETAINED_BYTES]! - size;
      c[o + C_RETAINED_COUNT]!--;
      this.retained.delete(ptr);
    }
    const parents = this.parents;
    for (let r = row; r >= 0; r = parents[r]!) {
      const p = r << ROW_SHIFT;
      c[p + C_TOTAL_BYTES] = c[p + C_TOTAL_BYTES]! - size;
      c[p + C_TOTAL_COUNT]!--;
    }
  }

  /** Remembers a free in the ring (for telling a double free from a foreign pointer). */
  noteFreed(ptr: number, row: number): void {
    const at = this.freedAt;
    this.freed[at] = ptr;
    this.freed[at + 1] = row;
    this.freedAt = (at + 2) & this.freedMask;
  }

  /**
   * Record `i` moved from `ptr` to `newPtr` with `newSize` and header code
   * `code` (the backing allocator already moved the bytes); `site` is where
   * the resize is counted; the header is rewritten with the original
   * allocation frame `allocFrame`.
   */
  resized(i: number, ptr: number, newPtr: number, newSize: number, code: number, site: number, allocFrame: number): void {
    const records = this.records;
    const size = records.data[(i << 2) + R_SIZE]!;
    const word = records.data[(i << 2) + R_WORD]!;
    const oldSite = records.data[(i << 2) + R_SITE]!;
    const row = word & ROW_MASK;
    records.data[(i << 2) + R_PTR] = newPtr;
    records.data[(i << 2) + R_SIZE] = newSize;
    records.data[(i << 2) + R_WORD] = (word & OWNER_MASK) | code;
    records.data[(i << 2) + R_SITE] = site;
    const h = (newPtr - HEADER_BYTES) >> 2;
    this.i32[h] = i;
    this.i32[h + 1] = allocFrame;
    if (newPtr !== ptr && (word & RETAINED) !== 0) {
      this.retained.set(newPtr, this.retained.get(ptr)!);
      this.retained.delete(ptr);
    }
    if (oldSite !== 0) this.siteRemove(oldSite, size, row);
    if (site !== 0) this.siteAdd(site, newSize);
    const delta = newSize - size;
    const c = this.counters;
    const frame = this.frame;
    const o = row << ROW_SHIFT;
    const live = c[o]! + delta;
    c[o] = live;
    if (live > c[o + C_PEAK_BYTES]!) {
      c[o + C_PEAK_BYTES] = live;
      c[o + C_PEAK_FRAME] = frame;
    }
    c[o + C_REALLOC_COUNT]!++;
    c[o + C_ALLOC_BYTES]! += newSize;
    if ((word & RETAINED) !== 0) c[o + C_RETAINED_BYTES]! += delta;
    const parents = this.parents;
    for (let r = row; r >= 0; r = parents[r]!) {
      const p = r << ROW_SHIFT;
      const total = c[p + C_TOTAL_BYTES]! + delta;
      c[p + C_TOTAL_BYTES] = total;
      if (total > c[p + C_TOTAL_PEAK]!) {
        c[p + C_TOTAL_PEAK] = total;
        c[p + C_TOTAL_PEAK_FRAME] = frame;
        c[p + C_EPOCH]!++;
      }
    }
  }

  /** Where `ptr` was freed recently: the row that freed it, or -1 when it is not in the history. */
  recentlyFreedBy(ptr: number): number {
    const freed = this.freed;
    for (let i = 0; i < freed.length; i += 2) if (freed[i] === ptr && ptr !== 0) return freed[i + 1]!;
    return -1;
  }

  // ----------------------------------------------------------------- sites

  /** Creates a site for (`row`, `stack`, `label`). */
  openSite(row: number, path: string, stack: number, label: number): Site {
    const rows = this.chainOf(row);
    const gens = rows.map((r) => this.generations[r]!);
    const id = this.freeSites.pop() ?? this.sites.length;
    const site = new Site(id, path, stack, label, label === 0 ? undefined : this.labels.tally(row, label), rows, gens);
    this.sites[id] = site;
    return site;
  }

  private touch(site: Site): void {
    const c = this.counters;
    const gens = this.generations;
    const rows = site.chainRows;
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      if (gens[row] !== site.chainGens[k]) continue;
      const epoch = c[(row << ROW_SHIFT) + C_EPOCH]!;
      if (site.touched[k] !== epoch) {
        site.touched[k] = epoch;
        site.savedBytes[k] = site.liveBytes;
        site.savedCount[k] = site.liveCount;
      }
    }
  }

  /** Counts a block of `size` at site `id`, whose scope owns it (a new block, or one just resized by its owner). */
  private siteAdd(id: number, size: number): void {
    const site = this.sites[id]!;
    this.touch(site);
    site.liveBytes += size;
    site.liveCount++;
    site.eventBytes += size;
    site.eventCount++;
    site.tally?.add(size, this.frame);
  }

  /** Uncounts a block of `size` at site `id`, owned by `row` now. */
  siteRemove(id: number, size: number, row: number): void {
    const site = this.sites[id]!;
    this.touch(site);
    site.liveBytes -= size;
    site.liveCount--;
    if (site.label !== 0) this.labelTallyOf(site, row).remove(size);
    if (site.orphan && site.liveCount === 0) this.pruneSite(site);
  }

  /**
   * The tally a labelled block of `site` owned by `row` counts in: the
   * site's own, unless the block was adopted by an ancestor of the site's
   * scope (then the ancestor's).
   */
  labelTallyOf(site: Site, row: number): LabelTally {
    if (site.chainRows[0] === row && site.chainGens[0] === this.generations[row]) return site.tally!;
    return this.labels.tally(row, site.label);
  }

  /** Drops an orphan site once nothing (no block, no peak snapshot) refers to it. */
  pruneSite(site: Site): void {
    if (site.liveCount !== 0) return;
    const c = this.counters;
    for (let k = 0; k < site.chainRows.length; k++) {
      const row = site.chainRows[k]!;
      if (this.generations[row] !== site.chainGens[k]) continue;
      const epoch = c[(row << ROW_SHIFT) + C_EPOCH]!;
      if (site.atPeak(k, epoch, "bytes") !== 0 || site.atPeak(k, epoch, "count") !== 0) return;
    }
    this.orphans.delete(site);
    this.sites[site.id] = undefined;
    this.freeSites.push(site.id);
  }

  /** Re-examines every orphan site (after a peak reset or a dispose). */
  pruneOrphans(): void {
    for (const site of [...this.orphans]) this.pruneSite(site);
  }

  // ------------------------------------------------------------- transfers

  /**
   * Hands every block owned by a row in `rows` to `toRow`, flagged retained
   * (a disposed scope's kept blocks go to its parent). `toRow` must be an
   * ancestor of them all, so subtree totals from `toRow` up do not change.
   */
  adopt(rows: Set<number>, toRow: number, reason: string | undefined): void {
    const data = this.records.data;
    const c = this.counters;
    const to = toRow << ROW_SHIFT;
    for (let i = 0; i < this.records.count; i++) {
      const r = i << 2;
      const ptr = data[r + R_PTR]!;
      const word = data[r + R_WORD]!;
      const row = word & ROW_MASK;
      if (!rows.has(row)) continue;
      const size = data[r + R_SIZE]!;
      const site = data[r + R_SITE]!;
      if (site !== 0 && row !== toRow) this.moveLabel(site, size, row, toRow);
      if (!this.retained.has(ptr)) {
        const owner = this.scopes[row]!;
        this.retained.set(ptr, { origin: owner.path, originScope: owner, reason });
      }
      const from = row << ROW_SHIFT;
      c[from] = c[from]! - size;
      c[from + C_LIVE_COUNT]!--;
      if ((word & RETAINED) !== 0) {
        c[from + C_RETAINED_BYTES] = c[from + C_RETAINED_BYTES]! - size;
        c[from + C_RETAINED_COUNT]!--;
      }
      data[r + R_WORD] = (word & ~OWNER_MASK) | toRow | RETAINED;
      c[to]! += size;
      c[to + C_LIVE_COUNT]!++;
      c[to + C_RETAINED_BYTES]! += size;
      c[to + C_RETAINED_COUNT]!++;
    }
    if (c[to]! > c[to + C_PEAK_BYTES]!) {
      c[to + C_PEAK_BYTES] = c[to]!;
      c[to + C_PEAK_FRAME] = this.frame;
    }
  }

  /** A labelled block of `size` at site `id` moves from `fromRow` to `toRow` (adoption): its label's bytes move along. */
  private moveLabel(id: number, size: number, fromRow: number, toRow: number): void {
    const site = this.sites[id];
    if (site === undefined || site.label === 0) return;
    this.labelTallyOf(site, fromRow).remove(size);
    this.labels.tally(toRow, site.label).add(size, this.frame);
  }
}
