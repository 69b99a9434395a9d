import { SpaceHandle, type AllocatorStats, type Ptr, type ViewSet } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { D_ALLOC_COUNT } from "./layout.js";

/** What a heap handle caches about its control block: the sealed fixed words, read once. */
export interface HeapGeometry {
  controlPtr: Ptr;
  pages: PageAllocator;
  ownerId: number;
  spanBytes: number;
}

/**
 * The heap's cached views and constants: the memory's views (re-read when
 * it grows) and the word indexes the hot paths need. The free lists
 * themselves live in the control block (see tlsf.ts and layout.ts).
 */
export abstract class HeapFreeLists extends SpaceHandle {
  /** The page allocator the spans are leased from. */
  readonly pages: PageAllocator;
  /** Owner id in the page map: `pages.tagOf(ptr) >>> 24 === ownerId` for every byte of every span of this heap. */
  readonly ownerId: number;
  /** Lease granularity in bytes (whole pages). */
  readonly spanBytes: number;

  // Hot-path state: views re-read after growth (empty once the handle ended), word indexes precomputed.
  protected i32!: Int32Array;
  protected f64!: Float64Array;
  protected u8!: Uint8Array;
  /** Word index of the control block. */
  protected readonly r: number;
  /** Float64 index of allocCount (freeCount follows). */
  protected readonly fi: number;
  /** Word index of the page allocator's tag array. */
  protected readonly tagW: number;
  /** Addresses the page map covers: [0, limit). */
  protected readonly limit: number;
  protected readonly pageShift: number;
  protected readonly pageSize: number;

  protected constructor(geometry: HeapGeometry) {
    const { pages, controlPtr } = geometry;
    super(pages.space, controlPtr);
    this.pages = pages;
    this.ownerId = geometry.ownerId;
    this.spanBytes = geometry.spanBytes;
    this.r = controlPtr >>> 2;
    this.fi = (controlPtr >>> 3) + D_ALLOC_COUNT;
    this.tagW = pages.tagWordBase;
    this.limit = pages.range.limit;
    this.pageShift = pages.pageShift;
    this.pageSize = pages.pageSize;
  }

  refreshViews(views: ViewSet): void {
    this.i32 = views.i32;
    this.f64 = views.f64;
    this.u8 = views.u8;
  }

  /** Counters; liveBytes counts usable sizes. */
  abstract stats(): AllocatorStats;
}
