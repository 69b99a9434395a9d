import {
  D_ALLOC_BYTES,
  D_EPOCH,
  D_LIVE_BYTES,
  D_PEAK_BYTES,
  D_PEAK_FRAME,
  D_REALLOC_COUNT,
  D_RETAINED_BYTES,
  D_TOTAL_BYTES,
  D_TOTAL_PEAK,
  D_TOTAL_PEAK_FRAME,
  HEADER_BYTES,
  OWNER_MASK,
  RETAINED,
  RET_SITE,
  ROW_MASK,
  T_RETAINED,
  W_FRAME,
  W_REC_PTR,
} from "./layout.js";
import { siteAdd, siteRemove } from "./sites.js";
import { entryWord } from "./tables.js";
import { parentOf, rowF64, type TreeView } from "./tree-view.js";

/*
 * What a resize changes in the tree: the block's record and header, its site,
 * and the counters of its scope and the subtree totals up the chain. The
 * block paths of both a private and a shared tree (under its lock) end a
 * reallocate here once the backing moved the bytes.
 */

/**
 * Record `i` moved to `newPtr` with `newSize` and header code `code`;
 * `site` is where the resize counts; the header gets the original
 * allocation frame `allocFrame`.
 */
export function countResized(view: TreeView, i: number, newPtr: number, newSize: number, code: number, site: number, allocFrame: number): void {
  const u32 = view.u32;
  const i32 = view.i32;
  const cw = view.cw;
  const r = (u32[cw + W_REC_PTR]! >>> 2) + (i << 2);
  const size = i32[r + 1]!;
  const word = i32[r + 2]!;
  const retained = (word & RETAINED) !== 0;
  const entry = retained ? i32[r + 3]! : 0;
  const siteWord = retained ? entryWord(view, T_RETAINED, entry) + RET_SITE : r + 3;
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
  if (oldSite !== 0) siteRemove(view, oldSite, size, row);
  if (site !== 0) siteAdd(view, site, newSize, frame);
  countResize(view, row, newSize - size, newSize);
  if (retained) view.f64[rowF64(view, row) + D_RETAINED_BYTES]! += newSize - size;
}

/**
 * A block of `row` was resized by `delta` bytes to `newBytes`: its live
 * bytes and peak, the reallocation counts, and the subtree totals and peaks
 * up the chain (tracked blocks, and an "off" scope's usable sizes).
 */
export function countResize(view: TreeView, row: number, delta: number, newBytes: number): void {
  const f64 = view.f64;
  const frame = view.u32[view.cw + W_FRAME]!;
  const o = rowF64(view, row);
  const live = f64[o + D_LIVE_BYTES]! + delta;
  f64[o + D_LIVE_BYTES] = live;
  if (live > f64[o + D_PEAK_BYTES]!) {
    f64[o + D_PEAK_BYTES] = live;
    f64[o + D_PEAK_FRAME] = frame;
  }
  f64[o + D_REALLOC_COUNT]!++;
  f64[o + D_ALLOC_BYTES]! += newBytes;
  for (let r = row; r >= 0; r = parentOf(view, r)) {
    const p = rowF64(view, r);
    const total = f64[p + D_TOTAL_BYTES]! + delta;
    f64[p + D_TOTAL_BYTES] = total;
    if (total > f64[p + D_TOTAL_PEAK]!) {
      f64[p + D_TOTAL_PEAK] = total;
      f64[p + D_TOTAL_PEAK_FRAME] = frame;
      f64[p + D_EPOCH]!++;
    }
  }
}
