import { SpaceHandle, type AllocatorStats, type Ptr, type ViewSet } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import {
  D_ALLOC_COUNT,
  FL_CLZ,
  FL_COUNT,
  FREE_NEXT_W,
  SIZE_MASK,
  SL_BITS,
  SL_CLZ,
  SL_MASK,
  SMALL_LIMIT,
  W_FL_MAP,
  W_HEADS,
  W_SL_MAP,
  flOf,
  slOf,
} from "./layout.js";

/** What a heap handle caches about its control block: the sealed fixed words, read once. */
export interface HeapGeometry {
  controlPtr: Ptr;
  pages: PageAllocator;
  ownerId: number;
  spanBytes: number;
}

/**
 * The heap's cached views and constants, and its size-class free lists
 * (see layout.ts): a free block is filed at the head of its class's doubly
 * linked list, with the first- and second-level bitmaps saying which lists
 * are non-empty, so a good fit is two bit scans away.
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
  }

  /** Counters; liveBytes counts usable sizes. */
  abstract stats(): AllocatorStats;

  /** Files the free block `p` of `size` bytes at the head of its class list. */
  protected link(p: number, size: number): void {
    const m = this.i32;
    const r = this.r;
    let fl: number;
    let sl: number;
    if (size < SMALL_LIMIT) {
      fl = 0;
      sl = size >>> 3;
    } else {
      const z = Math.clz32(size);
      fl = FL_CLZ - z;
      sl = (size >>> (SL_CLZ - z)) & SL_MASK;
    }
    const hi = r + W_HEADS + (fl << SL_BITS) + sl;
    const head = m[hi]!;
    const pw = p >> 2;
    m[pw] = 0; // prev link: the head of its list
    m[pw + FREE_NEXT_W] = head;
    if (head !== 0) m[head >> 2] = p;
    m[hi] = p;
    m[r + W_SL_MAP + fl]! |= 1 << sl;
    m[r + W_FL_MAP]! |= 1 << fl;
  }

  /** Takes the free block `p` of `size` bytes off its class list. */
  protected unlink(p: number, size: number): void {
    const m = this.i32;
    const pw = p >> 2;
    const prev = m[pw]!;
    const next = m[pw + FREE_NEXT_W]!;
    if (next !== 0) m[next >> 2] = prev;
    if (prev !== 0) {
      m[(prev >> 2) + FREE_NEXT_W] = next;
      return;
    }
    const r = this.r;
    let fl: number;
    let sl: number;
    if (size < SMALL_LIMIT) {
      fl = 0;
      sl = size >>> 3;
    } else {
      const z = Math.clz32(size);
      fl = FL_CLZ - z;
      sl = (size >>> (SL_CLZ - z)) & SL_MASK;
    }
    m[r + W_HEADS + (fl << SL_BITS) + sl] = next;
    if (next === 0) {
      const rest = m[r + W_SL_MAP + fl]! & ~(1 << sl);
      m[r + W_SL_MAP + fl] = rest;
      if (rest === 0) m[r + W_FL_MAP]! &= ~(1 << fl);
    }
  }

  /** The head of the first non-empty class whose every block holds `s` bytes, or 0. Does not unlink. */
  protected find(s: number): number {
    const m = this.i32;
    const r = this.r;
    let fl: number;
    let sl: number;
    if (s < SMALL_LIMIT) {
      fl = 0;
      sl = s >>> 3;
    } else {
      const t = s + (1 << (SL_CLZ - Math.clz32(s))) - 1;
      const z = Math.clz32(t);
      fl = FL_CLZ - z;
      sl = (t >>> (SL_CLZ - z)) & SL_MASK;
    }
    if (fl >= FL_COUNT) return 0;
    let map = m[r + W_SL_MAP + fl]! & (-1 << sl);
    if (map === 0) {
      const flMap = m[r + W_FL_MAP]! & (-2 << fl);
      if (flMap === 0) return 0;
      fl = 31 - Math.clz32(flMap & -flMap);
      map = m[r + W_SL_MAP + fl]!;
    }
    return m[r + W_HEADS + (fl << SL_BITS) + 31 - Math.clz32(map & -map)]!;
  }

  /** The head of `s`'s own class when it happens to hold `s` bytes, or 0 (the O(1) fallback before leasing). */
  protected headThatFits(s: number): number {
    const m = this.i32;
    const p = m[this.r + W_HEADS + (flOf(s) << SL_BITS) + slOf(s)]!;
    return p !== 0 && (m[(p >> 2) - 1]! & SIZE_MASK) >= s ? p : 0;
  }
}
