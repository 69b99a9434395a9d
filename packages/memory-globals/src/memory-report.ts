import type { AllocatorStats, StorageReport } from "@memkit/core";
import type { ScopeReport } from "@memkit/trace-allocator";
import type { ThreadReport } from "./threads.js";
import type { TimelineReport } from "./timeline-report.js";

/*
 * The JSON document `memory.snapshot()` returns and the sample game writes
 * with `--report`; tools/memreport reads it. Plain data: safe to serialise,
 * store and diff. Bump MEMORY_REPORT_SCHEMA when a field changes meaning.
 */

/** Identifies the document format. */
export const MEMORY_REPORT_SCHEMA = "memkit.memory-report/1";

/** One whole memory report. */
export interface MemoryReport {
  schema: typeof MEMORY_REPORT_SCHEMA;
  /** Free text: what produced it ("game-loop --frames 600"). */
  label: string;
  /** ISO time of the snapshot. */
  createdAt: string;
  /** The trace frame counter when the snapshot was taken. */
  frame: number;
  /** The options MemoryGlobals ran with. */
  options: { tracing: string; debug: boolean; pageSize: number; initialBytes: number; maximumBytes: number };
  /** The scope tree (root = memory.default's scope). */
  scopes: ScopeReport;
  /** Peaks per stage, recorded by `memory.endStage()`: the heaviest stage per subsystem. */
  stages: StageReport[];
  /** Folded stacks (`frame;frame;frame value` lines) for flame graphs. */
  folded: {
    liveBytes: string;
    liveCount: string;
    /** What was live at each scope's peak (empty unless tracing is "callstacks"). */
    peakBytes: string;
  };
  /** Per-allocator figures. */
  allocators: AllocatorReport[];
  /** The address space page by page, for the memory map. */
  memoryMap: MemoryMap;
  /** A shared memory's threads: live bytes and high-water mark of what each allocated, and its live blocks per scope. Absent for a private memory. */
  threads?: ThreadReport[];
  /** Per-frame samples of every scope and allocator (`init({ timeline: true })`), oldest first. Absent without a timeline. */
  timeline?: TimelineReport;
}

/** Peaks of every scope during one stage (load, play, unload, ...). */
export interface StageReport {
  name: string;
  /** Frames the stage covered: [startFrame, endFrame). */
  startFrame: number;
  endFrame: number;
  /** Per scope: peak and end-of-stage bytes of its whole subtree, and its own allocations/frees during the stage. */
  scopes: { path: string; peakLiveBytes: number; liveBytes: number; allocCount: number; freeCount: number }[];
}

/** One allocator's stats and, where it has one, its storage report. */
export interface AllocatorReport extends AllocatorStats {
  name: string;
  storage?: StorageReport;
  /** A slab allocator's free space by size class (the slot tier); see {@link SlabReport}. */
  slabs?: SlabReport;
}

/**
 * A slab allocator's free space. Its free slots are spread over size classes,
 * so `storage.fragmentation` (1 - largest free block / free bytes) is near 1
 * whatever happens; what tells whether memory sits idle is the free slots per
 * class and the slabs with nothing in use (pages the allocator could give back).
 */
export interface SlabReport {
  /** Bytes per slab. */
  slabBytes: number;
  /** Slabs held, spares included. */
  slabs: number;
  /** Size classes that hold slabs, by slot size: slabs, slots in them, slots in use. */
  classes: { slotSize: number; slabs: number; slots: number; usedSlots: number }[];
  /** Slabs with no slot in use, spares included. */
  emptySlabs: number;
}

/** The address space as pages, for drawing. */
export interface MemoryMap {
  /** Bytes per page. */
  pageSize: number;
  /** Current size of the space and its maximum. */
  byteLength: number;
  maximumBytes: number;
  /** Named regions before the first page (null guard, bootstrap heap). */
  regions: { name: string; start: number; bytes: number }[];
  /** Owner names by id (page tags hold owner << 24 | data). Id 0 = a span with no owner tag. */
  owners: Record<string, string>;
  /** Every carved span, in address order. */
  spans: MapSpan[];
  /**
   * Bytes in use inside each carved page: `pageUse[i]` for page `firstPage + i`.
   * Heap and slot pages hold their exact used bytes; large spans and untagged
   * spans count as full; -1 = free, or a page whose use is not known finer
   * (frame and scratch arenas).
   */
  firstPage: number;
  pageUse: number[];
  /**
   * Dominant scope of each page of `pageUse` (index into `scopePaths`): the
   * scope whose live blocks hold the most bytes of the page (a block counts in
   * every page it covers); -1 = no live block in the page.
   */
  pageScope: number[];
  scopePaths: string[];
}

/** A run of pages handed out as one span (or free). */
export interface MapSpan {
  start: number;
  bytes: number;
  used: boolean;
  /** Owner id (0 when free or untagged). */
  owner: number;
}
