import type { ThreadReport } from "./threads.js";
import type { TimelineReport } from "./timeline-report.js";
import type { AddressSpace, Allocator, StorageReport } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import type { GenericAllocator } from "@memkit/generic-allocator";
import type { TraceAllocator } from "@memkit/trace-allocator";
import type { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import type { BootstrapHeap } from "./bootstrap-heap.js";
import { NULL_GUARD_BYTES, type ResolvedOptions } from "./options.js";
import type { SlotAllocator } from "@memkit/slot-allocator";
import { slotsPerSlab } from "@memkit/slot-allocator";
import { MEMORY_REPORT_SCHEMA, type AllocatorReport, type MapSpan, type MemoryMap, type MemoryReport, type SlabReport, type StageReport } from "./memory-report.js";

/** What a snapshot reads. */
export interface SnapshotSources {
  options: ResolvedOptions;
  space: AddressSpace;
  bootstrap: BootstrapHeap;
  pages: PageAllocator;
  generic: GenericAllocator;
  root: TraceAllocator;
  frame: FrameAllocator;
  scratch: ScratchAllocator;
  stages: readonly StageReport[];
  frameNumber: number;
  /** A shared memory's threads (memory.threads()); undefined for a private memory. */
  threads: ThreadReport[] | undefined;
  /** The per-frame samples (memory.timeline()); undefined when the memory keeps no timeline. */
  timeline: TimelineReport | undefined;
}

/** Builds the JSON document tools/memreport reads. Cold path: walks every span and block. */
export function buildSnapshot(label: string, src: SnapshotSources): MemoryReport {
  const { options, root } = src;
  const callstacks = root.tracing === "callstacks";
  return {
    schema: MEMORY_REPORT_SCHEMA,
    label,
    createdAt: new Date().toISOString(),
    frame: src.frameNumber,
    options: {
      tracing: options.tracing,
      debug: options.debug,
      pageSize: options.pageSize,
      initialBytes: options.initialBytes,
      maximumBytes: options.maximumBytes,
    },
    scopes: root.report(),
    stages: src.stages.map((s) => ({ ...s, scopes: s.scopes.map((x) => ({ ...x })) })),
    folded: {
      liveBytes: root.foldedStacks({ metric: "bytes", which: "live" }),
      liveCount: root.foldedStacks({ metric: "count", which: "live" }),
      peakBytes: callstacks ? root.foldedStacks({ metric: "bytes", which: "peak" }) : "",
    },
    allocators: [
      describeAllocator(src.pages, src.pages.storageReport()),
      { ...describeAllocator(src.generic.slots, src.generic.slots.storageReport()), slabs: describeSlabs(src.generic.slots) },
      describeAllocator(src.generic.heap, src.generic.heap.storageReport()),
      describeAllocator(src.generic, src.generic.storageReport()),
      describeAllocator(src.frame, src.frame.storageReport()),
      describeAllocator(src.scratch, src.scratch.storageReport()),
    ],
    memoryMap: buildMemoryMap(src),
    ...(src.threads === undefined ? {} : { threads: src.threads }),
    ...(src.timeline === undefined ? {} : { timeline: src.timeline }),
  };
}

function describeAllocator(a: Allocator, storage: StorageReport): AllocatorReport {
  return { name: a.name, ...a.stats(), storage };
}

/** Slabs per size class and the empty ones: what a slab allocator's free space is made of. */
function describeSlabs(slots: SlotAllocator): SlabReport {
  const byClass = new Map<number, { slotSize: number; slabs: number; slots: number; usedSlots: number }>();
  let emptySlabs = 0;
  let slabs = 0;
  slots.walkSlabs((_base, bytes, slotSize, usedSlots) => {
    slabs++;
    if (usedSlots === 0) emptySlabs++;
    if (slotSize === 0) return; // a spare slab, not yet given to a class
    let c = byClass.get(slotSize);
    if (c === undefined) {
      c = { slotSize, slabs: 0, slots: 0, usedSlots: 0 };
      byClass.set(slotSize, c);
    }
    c.slabs++;
    c.slots += slotsPerSlab(slotSize, bytes);
    c.usedSlots += usedSlots;
  });
  return { slabBytes: slots.slabBytes, slabs, classes: [...byClass.values()].sort((a, b) => a.slotSize - b.slotSize), emptySlabs };
}

function buildMemoryMap(src: SnapshotSources): MemoryMap {
  const { pages, generic, space, bootstrap } = src;
  const shift = pages.pageShift;
  const range = pages.range;
  const firstPage = range.start >>> shift;
  const pageCount = (range.end >>> shift) - firstPage;
  const pageUse = new Array<number>(pageCount).fill(-1);
  const spans: MapSpan[] = [];
  const owners: Record<string, string> = {};
  pages.forEachSpan((start, bytes, used, tag) => {
    const owner = tag >>> 24;
    spans.push({ start, bytes, used, owner });
    if (used && (owner === generic.largeOwnerId || owner === 0)) {
      for (let p = start >>> shift; p < (start + bytes) >>> shift; p++) pageUse[p - firstPage] = pages.pageSize;
    } else if (used && (owner === generic.heap.ownerId || owner === generic.slots.ownerId)) {
      for (let p = start >>> shift; p < (start + bytes) >>> shift; p++) pageUse[p - firstPage] = 0;
    }
  });
  // Names after the walk: on a shared memory the visitor runs holding the page allocator's lock, which ownerName takes too.
  for (const span of spans) if (span.owner !== 0 && owners[span.owner] === undefined) owners[span.owner] = pages.ownerName(span.owner);
  owners[0] = "untagged";
  // Heap blocks: add each used block's bytes to the pages it covers.
  generic.heap.walk((ptr, usable, free) => {
    if (!free) addRange(pageUse, firstPage, shift, ptr, usable);
  });
  // Slabs: used slots spread over the slab's pages.
  generic.slots.walkSlabs((base, bytes, slotSize, used) => {
    addRange(pageUse, firstPage, shift, base, Math.min(bytes, used * slotSize));
  });
  const { scopePaths, pageScope } = dominantScopes(src.root, firstPage, pageCount, shift);
  return {
    pageSize: pages.pageSize,
    byteLength: space.byteLength,
    maximumBytes: space.maximumBytes,
    regions: [
      { name: "null guard", start: 0, bytes: NULL_GUARD_BYTES },
      ...(bootstrap.base > NULL_GUARD_BYTES ? [{ name: "wasm static", start: NULL_GUARD_BYTES, bytes: bootstrap.base - NULL_GUARD_BYTES }] : []),
      { name: "bootstrap", start: bootstrap.base, bytes: bootstrap.bytes },
    ],
    owners,
    spans,
    firstPage,
    pageUse: pageUse.map((u) => (u < 0 ? -1 : Math.min(u, pages.pageSize))),
    pageScope,
    scopePaths,
  };
}

/**
 * Per page, the scope whose live blocks hold the most of its bytes. A block
 * counts in every page it covers, so a 4 MiB texture colours its 256 pages,
 * not only the first (the map's legend then agrees with the scope table).
 */
function dominantScopes(root: TraceAllocator, firstPage: number, pageCount: number, shift: number): { scopePaths: string[]; pageScope: number[] } {
  const scopePaths: string[] = [];
  const scopeIndex = new Map<string, number>();
  // Bytes per (page, scope), keyed page * 2^20 + scope index (pages < 2^19 in a 4 GiB space: exact as a double).
  const tally = new Map<number, number>();
  const SCOPES = 0x10_0000;
  const pageSize = 1 << shift;
  root.forEachLiveBlock((ptr, size, scope) => {
    let index = scopeIndex.get(scope);
    if (index === undefined) {
      index = scopePaths.push(scope) - 1;
      scopeIndex.set(scope, index);
    }
    if (index >= SCOPES) return;
    let at = ptr;
    const end = ptr + Math.max(size, 1); // a 0-byte block still marks its page
    while (at < end) {
      const next = Math.min(end, (Math.floor(at / pageSize) + 1) * pageSize);
      const page = Math.floor(at / pageSize) - firstPage;
      if (page >= 0 && page < pageCount) {
        const key = page * SCOPES + index;
        tally.set(key, (tally.get(key) ?? 0) + (next - at));
      }
      at = next;
    }
  });
  const pageScope = new Array<number>(pageCount).fill(-1);
  const best = new Array<number>(pageCount).fill(0);
  for (const [key, bytes] of tally) {
    const page = Math.floor(key / SCOPES);
    const index = key - page * SCOPES;
    // Ties go to the scope seen first, so the result does not depend on map order beyond that.
    if (bytes > best[page]! || (bytes === best[page]! && index < pageScope[page]!)) {
      best[page] = bytes;
      pageScope[page] = index;
    }
  }
  return { scopePaths, pageScope };
}

/** Adds `bytes` starting at `ptr` to the per-page use counters. */
function addRange(pageUse: number[], firstPage: number, shift: number, ptr: number, bytes: number): void {
  const pageSize = 1 << shift;
  let at = ptr;
  let left = bytes;
  while (left > 0) {
    const page = (at >>> shift) - firstPage;
    const room = pageSize - (at & (pageSize - 1));
    const take = Math.min(room, left);
    if (page >= 0 && page < pageUse.length) pageUse[page] = Math.max(0, pageUse[page]!) + take;
    at += take;
    left -= take;
  }
}
