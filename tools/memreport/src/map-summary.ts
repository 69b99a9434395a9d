import type { MemoryMap } from "./report-types.js";

/*
 * Totals of the memory map per owner: how many spans and pages each
 * allocator holds and, where the report measured it (heap and slot pages),
 * how much of those pages is in use — the gap is fragmentation.
 */

/** One owner's share of the address space. */
export interface OwnerSummary {
  id: number;
  name: string;
  spans: number;
  pages: number;
  bytes: number;
  /** Pages of this owner with a measured use (`pageUse >= 0`). */
  measuredPages: number;
  /** Bytes in use inside the measured pages. */
  usedBytes: number;
}

/** What {@link summarizeMap} returns. */
export interface MapSummary {
  /** Owners of used spans, by bytes held (largest first). */
  owners: OwnerSummary[];
  free: { spans: number; pages: number; bytes: number; largest: number };
}

/** Name of an owner id (`owner #7` when the map does not name it). */
export function ownerName(map: MemoryMap, owner: number): string {
  return map.owners[String(owner)] ?? (owner === 0 ? "untagged" : `owner #${owner}`);
}

/** Sums the map's spans per owner. */
export function summarizeMap(map: MemoryMap): MapSummary {
  const owners = new Map<number, OwnerSummary>();
  const free = { spans: 0, pages: 0, bytes: 0, largest: 0 };
  for (const span of map.spans) {
    const pages = Math.ceil(span.bytes / map.pageSize);
    if (!span.used) {
      free.spans++;
      free.pages += pages;
      free.bytes += span.bytes;
      free.largest = Math.max(free.largest, span.bytes);
      continue;
    }
    let o = owners.get(span.owner);
    if (o === undefined) {
      o = { id: span.owner, name: ownerName(map, span.owner), spans: 0, pages: 0, bytes: 0, measuredPages: 0, usedBytes: 0 };
      owners.set(span.owner, o);
    }
    o.spans++;
    o.pages += pages;
    o.bytes += span.bytes;
    const first = Math.floor(span.start / map.pageSize) - map.firstPage;
    for (let i = Math.max(0, first); i < first + pages && i < map.pageUse.length; i++) {
      const use = map.pageUse[i]!;
      if (use >= 0) {
        o.measuredPages++;
        o.usedBytes += use;
      }
    }
  }
  return { owners: [...owners.values()].sort((a, b) => b.bytes - a.bytes || a.id - b.id), free };
}
