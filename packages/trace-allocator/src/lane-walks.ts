import { E_SIZE, E_WORD, LANE_SLOTS, L_RING, RING_SLOTS } from "./lane-layout.js";
import { HEADER_BYTES, HEADER_SHIFT, ROW_MASK, S_BACKING } from "./layout.js";
import { forEachLiveEntry, lanesDirectory } from "./lanes.js";
import { isLiveRow, rowWord, type TreeView } from "./tree-view.js";

/*
 * What the tree's cold readers find in the lanes (lane-layout.ts) without
 * moving anything: the lanes' live blocks for a recount and for reserved
 * bytes, and their recent frees for a double-free message.
 */

/** The row that freed `ptr` recently through a lane, or -1 (double-free messages; scope-errors.ts). */
export function laneFreedBy(view: TreeView, ptr: number): number {
  const dir = lanesDirectory(view);
  if (dir === 0 || ptr === 0) return -1;
  for (let slot = 0; slot < LANE_SLOTS; slot++) {
    const lw = view.u32[dir + slot]! >>> 2;
    if (lw === 0) continue;
    for (let k = 0; k < RING_SLOTS * 2; k += 2) if (view.i32[lw + L_RING + k] === ptr) return view.i32[lw + L_RING + k + 1]!;
  }
  return -1;
}

/**
 * Adds the lanes' live blocks to a recount (check.ts's: four figures per
 * row, bytes and count first), after their counts were folded: what a check
 * or a repair finds beside the tree's records.
 */
export function addLaneEntries(view: TreeView, live: Float64Array): void {
  forEachLiveEntry(view, (_slot, _lw, _e, r) => {
    const row = view.i32[r + E_WORD]! & ROW_MASK;
    if (row * 4 + 1 >= live.length) return;
    live[row * 4]! += view.i32[r + E_SIZE]!;
    live[row * 4 + 1]!++;
  });
}

/**
 * Adds to `reserved` (row -> bytes) what the lanes' live blocks take from
 * their backings (usable sizes with headers), without adopting them: a
 * report reads them where they are. A block its owner frees while this
 * looks is skipped (its backing no longer knows it).
 */
export function addLaneReserved(view: TreeView, reserved: Map<number, number>, onlyRow = -1): void {
  forEachLiveEntry(view, (_slot, _lw, _e, r, ptr) => {
    const word = view.i32[r + E_WORD]!;
    const row = word & ROW_MASK;
    if ((onlyRow >= 0 && row !== onlyRow) || !isLiveRow(view, row)) return;
    let bytes: number;
    try {
      bytes = view.backingOf(view.u32[rowWord(view, row) + S_BACKING]!).allocatedSize(ptr - (HEADER_BYTES << (word >>> HEADER_SHIFT)));
    } catch {
      return;
    }
    reserved.set(row, (reserved.get(row) ?? 0) + bytes);
  });
}
