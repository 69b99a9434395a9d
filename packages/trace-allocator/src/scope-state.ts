import { SpaceHandle, SpaceViews, type Allocator, type ViewSet } from "@memkit/core";
import {
  D_ALLOC_BYTES,
  D_ALLOC_COUNT,
  D_EPOCH,
  D_FREE_COUNT,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_PEAK_FRAME,
  D_REALLOC_COUNT,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_COUNT,
  D_TOTAL_PEAK,
  D_TOTAL_PEAK_FRAME,
  GEN_MASK,
  GEN_SHIFT,
  HEADER_BYTES,
  OWNER_MASK,
  RETAINED,
  RET_SITE,
  ROW_F64,
  ROW_MASK,
  ROW_WORDS,
  S_PARENT,
  S_STATE,
  T_RETAINED,
  W_FRAME,
  W_REC_COUNT,
  W_REC_PTR,
  W_RING,
  W_RING_AT,
  W_RING_SLOTS,
  W_ROWS_PTR,
} from "./layout.js";
import { closeRetained } from "./retained.js";
import { siteAdd, siteRemove } from "./sites.js";
import { entryWord } from "./tables.js";
import type { TreeLink } from "./tree-link.js";
import type { TreeMemory } from "./tree-view.js";

/*
 * The state half of a scope handle: the views it reads the tree through and
 * the counting steps every allocate, free and resize takes (records,
 * counters, sites, the recent-free ring), all in linear memory. The API half
 * (trace-allocator.ts) extends it. A handle holds only what never changes
 * while its row is this scope (row, generation, the tree's fixed words) and
 * its views; every call reads the rest from memory, so handles on the same
 * scope (another attach, another thread) see the same counts.
 */
export abstract class ScopeState extends SpaceHandle implements TreeMemory {
  /** @internal Views of the space, refreshed when it grows; empty once the handle ended. */
  u8: Uint8Array;
  /** @internal */
  u16: Uint16Array;
  /** @internal */
  i32: Int32Array;
  /** @internal */
  u32: Uint32Array;
  /** @internal */
  f64: Float64Array;
  /** @internal Word index of the tree's control block. */
  readonly cw: number;
  /** @internal This handle's link: the backing objects, hooks and caches of the attach it came from. */
  readonly link: TreeLink;
  /** @internal The scope's row. */
  readonly row: number;
  /** @internal The row's generation while it is this scope. */
  readonly gen: number;
  /** Row offsets in words and float64 slots from the rows table's start. */
  protected readonly rowW: number;
  protected readonly rowD: number;
  /** Mask of the ring's word index (2 * slots - 1). */
  private readonly ringMask: number;

  protected constructor(link: TreeLink, row: number) {
    super(link.space, link.controlPtr);
    this.link = link;
    this.cw = link.controlPtr >>> 2;
    this.row = row;
    this.rowW = row * ROW_WORDS;
    this.rowD = row * ROW_F64;
    const views = SpaceViews.of(link.space);
    this.gen = (views.u32[(views.u32[this.cw + W_ROWS_PTR]! >>> 2) + this.rowW + S_STATE]! >>> GEN_SHIFT) & GEN_MASK;
    this.u8 = views.u8;
    this.u16 = views.u16;
    this.i32 = views.i32;
    this.u32 = views.u32;
    this.f64 = views.f64;
    this.ringMask = views.u32[this.cw + W_RING_SLOTS]! * 2 - 1;
  }

  /** @internal */
  refreshViews(views: ViewSet): void {
    this.u8 = views.u8;
    this.u16 = views.u16;
    this.i32 = views.i32;
    this.u32 = views.u32;
    this.f64 = views.f64;
  }

  /** @internal The allocator the tree's own state is leased from. */
  get metaBacking(): Allocator {
    return this.link.backing;
  }

  /** @internal */
  stackText(id: number): string | undefined {
    return this.link.stacks.get(id);
  }

  /** @internal */
  backingOf(id: number): Allocator {
    return this.link.backingOf(this, id);
  }

  /** @internal Counts a new block of `size` in `row` (and `site`); its record is already in. */
  added(row: number, size: number, site: number): void {
    const u32 = this.u32;
    const f64 = this.f64;
    const i32 = this.i32;
    const frame = u32[this.cw + W_FRAME]!;
    if (site !== 0) siteAdd(this, site, size, frame);
    const rowsW = u32[this.cw + W_ROWS_PTR]! >>> 2;
    const rowsD = rowsW >>> 1;
    const o = rowsD + row * ROW_F64;
    const live = f64[o + D_LIVE_BYTES]! + size;
    f64[o + D_LIVE_BYTES] = live;
    if (live > f64[o + D_PEAK_BYTES]!) {
      f64[o + D_PEAK_BYTES] = live;
      f64[o + D_PEAK_FRAME] = frame;
    }
    f64[o + D_LIVE_COUNT]!++;
    f64[o + D_ALLOC_COUNT]!++;
    f64[o + D_ALLOC_BYTES]! += size;
    for (let r = row; r >= 0; r = i32[rowsW + r * ROW_WORDS + S_PARENT]!) {
      const p = rowsD + r * ROW_F64;
      const total = f64[p + D_TOTAL_BYTES]! + size;
      f64[p + D_TOTAL_BYTES] = total;
      f64[p + D_TOTAL_COUNT]!++;
      if (total > f64[p + D_TOTAL_PEAK]!) {
        f64[p + D_TOTAL_PEAK] = total;
        f64[p + D_TOTAL_PEAK_FRAME] = frame;
        f64[p + D_EPOCH]!++;
      }
    }
  }

  /**
   * @internal Forgets record `i` (block `ptr`, whose backing block is already
   * freed): counters of its owner and the owner's ancestors, its site, its
   * retained entry, and the ring of recent frees.
   */
  released(i: number, ptr: number): void {
    const u32 = this.u32;
    const i32 = this.i32;
    const cw = this.cw;
    const recW = u32[cw + W_REC_PTR]! >>> 2;
    const r = recW + (i << 2);
    const size = i32[r + 1]!;
    const word = i32[r + 2]!;
    let site = i32[r + 3]!;
    const row = word & ROW_MASK;
    // Swap-remove: the last record moves into the hole; its block's header follows.
    const last = u32[cw + W_REC_COUNT]! - 1;
    u32[cw + W_REC_COUNT] = last;
    if (i !== last) {
      const l = recW + (last << 2);
      const moved = i32[l]!;
      i32[r] = moved;
      i32[r + 1] = i32[l + 1]!;
      i32[r + 2] = i32[l + 2]!;
      i32[r + 3] = i32[l + 3]!;
      i32[(moved - HEADER_BYTES) >> 2] = i;
    }
    const at = u32[cw + W_RING_AT]!;
    i32[cw + W_RING + at] = ptr;
    i32[cw + W_RING + at + 1] = row;
    u32[cw + W_RING_AT] = (at + 2) & this.ringMask;
    const f64 = this.f64;
    const rowsW = u32[cw + W_ROWS_PTR]! >>> 2;
    const rowsD = rowsW >>> 1;
    const o = rowsD + row * ROW_F64;
    if ((word & RETAINED) !== 0) {
      const entry = site;
      site = u32[entryWord(this, T_RETAINED, entry) + RET_SITE]!;
      closeRetained(this, entry);
      f64[o + D_RETAINED_BYTES] = f64[o + D_RETAINED_BYTES]! - size;
      f64[o + D_RETAINED_COUNT]!--;
    }
    if (site !== 0) siteRemove(this, site, size, row);
    f64[o + D_LIVE_BYTES] = f64[o + D_LIVE_BYTES]! - size;
    f64[o + D_LIVE_COUNT]!--;
    f64[o + D_FREE_COUNT]!++;
    for (let p = row; p >= 0; p = i32[rowsW + p * ROW_WORDS + S_PARENT]!) {
      const q = rowsD + p * ROW_F64;
      f64[q + D_TOTAL_BYTES] = f64[q + D_TOTAL_BYTES]! - size;
      f64[q + D_TOTAL_COUNT]!--;
    }
  }

  /**
   * @internal Record `i` moved from `ptr` to `newPtr` with `newSize` and
   * header code `code` (the backing already moved the bytes); `site` is where
   * the resize counts; the header gets the original allocation frame.
   */
  resized(i: number, ptr: number, newPtr: number, newSize: number, code: number, site: number, allocFrame: number): void {
    const u32 = this.u32;
    const i32 = this.i32;
    const cw = this.cw;
    const r = (u32[cw + W_REC_PTR]! >>> 2) + (i << 2);
    const size = i32[r + 1]!;
    const word = i32[r + 2]!;
    const retained = (word & RETAINED) !== 0;
    const entry = retained ? i32[r + 3]! : 0;
    const siteWord = retained ? entryWord(this, T_RETAINED, entry) + RET_SITE : r + 3;
    const oldSite = i32[siteWord]!;
    const row = word & ROW_MASK;
    i32[r] = newPtr;
    i32[r + 1] = newSize;
    i32[r + 2] = (word & OWNER_MASK) | code;
    i32[siteWord] = site;
    const h = (newPtr - HEADER_BYTES) >> 2;
    i32[h] = i;
    i32[h + 1] = allocFrame;
    const frame = u32[cw + W_FRAME]!;
    if (oldSite !== 0) siteRemove(this, oldSite, size, row);
    if (site !== 0) siteAdd(this, site, newSize, frame);
    const delta = newSize - size;
    const f64 = this.f64;
    const rowsW = u32[cw + W_ROWS_PTR]! >>> 2;
    const rowsD = rowsW >>> 1;
    const o = rowsD + row * ROW_F64;
    const live = f64[o + D_LIVE_BYTES]! + delta;
    f64[o + D_LIVE_BYTES] = live;
    if (live > f64[o + D_PEAK_BYTES]!) {
      f64[o + D_PEAK_BYTES] = live;
      f64[o + D_PEAK_FRAME] = frame;
    }
    f64[o + D_REALLOC_COUNT]!++;
    f64[o + D_ALLOC_BYTES]! += newSize;
    if (retained) f64[o + D_RETAINED_BYTES]! += delta;
    for (let p = row; p >= 0; p = i32[rowsW + p * ROW_WORDS + S_PARENT]!) {
      const q = rowsD + p * ROW_F64;
      const total = f64[q + D_TOTAL_BYTES]! + delta;
      f64[q + D_TOTAL_BYTES] = total;
      if (total > f64[q + D_TOTAL_PEAK]!) {
        f64[q + D_TOTAL_PEAK] = total;
        f64[q + D_TOTAL_PEAK_FRAME] = frame;
        f64[q + D_EPOCH]!++;
      }
    }
  }
}
