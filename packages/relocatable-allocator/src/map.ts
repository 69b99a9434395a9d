import { holes } from "./check.js";
import type { SlotTable } from "./slots.js";

/** The part of a memory map that {@link markHoles} changes: memory-globals' `MemoryMap` (a report's `memoryMap`) has it. */
export interface PageUseMap {
  /** Bytes per page. */
  pageSize: number;
  /** Page number of `pageUse[0]`. */
  firstPage: number;
  /** Bytes in use per page; -1 = free. */
  pageUse: number[];
}

/**
 * Subtracts every hole of the allocator's chunks from the pages it covers in
 * `map.pageUse`. A chunk is one live block of the backing, so the map counts
 * it as used wall to wall; after this the holes show as free bytes, and a map
 * taken after `compact()` shows them closing. Returns the bytes subtracted.
 */
export function markHoles(r: SlotTable, map: PageUseMap): number {
  const { pageSize, firstPage, pageUse } = map;
  let marked = 0;
  for (const [start, bytes] of holes(r)) {
    for (let at = start; at < start + bytes; ) {
      const page = Math.floor(at / pageSize);
      const next = Math.min((page + 1) * pageSize, start + bytes);
      const i = page - firstPage;
      const use = pageUse[i];
      if (use !== undefined && use > 0) {
        const cut = Math.min(use, next - at);
        pageUse[i] = use - cut;
        marked += cut;
      }
      at = next;
    }
  }
  return marked;
}
