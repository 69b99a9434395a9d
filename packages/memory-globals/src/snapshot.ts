import type { AddressSpace, Allocator, StorageReport } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import type { GenericAllocator } from "@memkit/generic-allocator";
import type { TraceAllocator } from "@memkit/trace-allocator";
import type { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import type { BootstrapHeap } from "./bootstrap-heap.js";
import { NULL_GUARD_BYTES, type ResolvedOptions } from "./options.js";
import { MEMORY_REPORT_SCHEMA, type AllocatorReport, type MapSpan, type MemoryMap, type MemoryReport, type StageReport } from "./memory-report.js";

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
      describeAllocator(src.generic.slots, src.generic.slots.storageReport()),
      describeAllocator(src.generic.heap, src.generic.heap.storageReport()),
      describeAllocator(src.generic, src.generic.storageReport()),
      describeAllocator(src.frame, src.frame.storageReport()),
      describeAllocator(src.scratch, src.scratch.storageReport()),
    ],
    memoryMap: buildMemoryMap(src),
  };
}

function describeAllocator(a: Allocator, storage: StorageReport): AllocatorReport {
  return { name: a.name, ...a.stats(), storage };
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
    if (owner !== 0 && owners[owner] === undefined) owners[owner] = pages.ownerName(owner);
    if (used && (owner === generic.largeOwnerId || owner === 0)) {
      for (let p = start >>> shift; p < (start + bytes) >>> shift; p++) pageUse[p - firstPage] = pages.pageSize;
    } else if (used && (owner === generic.heap.ownerId || owner === generic.slots.ownerId)) {
      for (let p = start >>> shift; p < (start + bytes) >>> shift; p++) pageUse[p - firstPage] = 0;
    }
  });
  owners[0] = "untagged";
  // Heap blocks: add each used block's bytes to the pages it covers.
  generic.heap.walk((ptr, usable, free) => {
    if (!free) addRange(pageUse, firstPage, shift, ptr, usable);
  });
  // Slabs: used slots spread over the slab's pages.
  generic.slots.walkSlabs((base, bytes, slotSize, used) => {
    addRange(pageUse, firstPage, shift, base, Math.min(bytes, used * slotSize));
  });
  const scopePaths: string[] = [];
  const pageScope = new Array<number>(pageCount).fill(-1);
  const pageScopeBytes = new Array<number>(pageCount).fill(0);
  const scopeIndex = new Map<string, number>();
  src.root.forEachLiveBlock((ptr, size, scope) => {
    let index = scopeIndex.get(scope);
    if (index === undefined) {
      index = scopePaths.push(scope) - 1;
      scopeIndex.set(scope, index);
    }
    const page = (ptr >>> shift) - firstPage;
    if (page >= 0 && page < pageCount && size >= pageScopeBytes[page]!) {
      pageScope[page] = index;
      pageScopeBytes[page] = size;
    }
  });
  return {
    pageSize: pages.pageSize,
    byteLength: space.byteLength,
    maximumBytes: space.maximumBytes,
    regions: [
      { name: "null guard", start: 0, bytes: NULL_GUARD_BYTES },
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
