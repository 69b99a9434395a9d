import type { Ptr, StorageReport } from "@memkit/core";
import type { CheckSubject } from "./check.js";
import { CURRENT, D_LEASED, D_RETURNED, PARTIAL, SPARE, S_BASE, S_COUNT, S_SIZE, S_STATE, S_USED, W_PARKED_CLASS, W_SLAB_COUNT, W_SPARE_COUNT } from "./layout.js";
import { forEachSlab } from "./slab-shape.js";

/*
 * Reports over the slabs: storage report, slab walk, slab counters. Cold
 * paths: O(slabs).
 */

/** Slabs held (spares included), and how many were ever leased and returned. */
export interface SlabStats {
  slabs: number;
  spares: number;
  leased: number;
  returned: number;
}

/** Visitor for {@link walkSlabs}: a slab's base, bytes, slot size (0 for a spare) and slots in use. */
export type SlabVisitor = (base: Ptr, bytes: number, slotSize: number, usedSlots: number) => void;

export function slabStats(a: CheckSubject): SlabStats {
  const { i32, f64, geo: g } = a;
  return {
    slabs: i32[g.cw + W_SLAB_COUNT]!,
    spares: i32[g.cw + W_SPARE_COUNT]!,
    leased: f64[(g.cw >>> 1) + D_LEASED]!,
    returned: f64[(g.cw >>> 1) + D_RETURNED]!,
  };
}

export function walkSlabs(a: CheckSubject, visit: SlabVisitor): void {
  const { i32, geo: g } = a;
  forEachSlab(i32, g, a.pages, a.name, (s) => {
    const spare = i32[s + S_STATE] === SPARE;
    visit(i32[s + S_BASE]! >>> 0, g.slabBytes, spare ? 0 : i32[s + S_SIZE]!, spare ? 0 : i32[s + S_USED]!);
  });
}

/** Bytes the allocator holds from its page allocator: slabs (spares included) and the control block's span. */
export function reservedBytes(a: CheckSubject): number {
  return a.i32[a.geo.cw + W_SLAB_COUNT]! * a.geo.slabBytes + a.pages.allocatedSize(a.geo.controlPtr);
}

/**
 * Free slots by size. largestFreeBlock is the largest slot size an
 * allocation could get without leasing a slab (a class whose current or
 * partial slab has a free slot; any class when a spare slab is kept).
 */
export function storageReport(a: CheckSubject): StorageReport {
  const { i32, geo: g } = a;
  let used = 0;
  let free = 0;
  let largest = 0;
  const histogram: number[] = [];
  const count = (size: number, slots: number): void => {
    const bucket = 31 - Math.clz32(size);
    while (histogram.length <= bucket) histogram.push(0);
    histogram[bucket]! += slots;
  };
  forEachSlab(i32, g, a.pages, a.name, (s) => {
    const size = i32[s + S_SIZE]!;
    const idle = i32[s + S_COUNT]! - i32[s + S_USED]!;
    used += i32[s + S_USED]! * size;
    free += idle * size;
    if (idle > 0) count(size, idle);
    const state = i32[s + S_STATE]!;
    if (idle > 0 && (state === CURRENT || state === PARTIAL)) largest = Math.max(largest, size);
  });
  const parkedClass = i32[g.cw + W_PARKED_CLASS]!;
  if (parkedClass >= 0) {
    // The parked slot is free, though its slab still counts it as used.
    const size = g.sizes[parkedClass]!;
    used -= size;
    free += size;
    count(size, 1);
    largest = Math.max(largest, size);
  }
  if (i32[g.cw + W_SPARE_COUNT]! > 0) largest = g.maxSlotSize;
  return {
    reservedBytes: reservedBytes(a),
    usedBytes: used,
    totalFreeBytes: free,
    largestFreeBlock: largest,
    freeHistogram: histogram,
    fragmentation: free === 0 ? 0 : 1 - largest / free,
  };
}
