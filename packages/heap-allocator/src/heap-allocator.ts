import {
  Attachment,
  InvalidArgumentError,
  describe,
  retireControl,
  validateAllocation,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type Checkable,
  type HandleEnd,
  type Ptr,
  type StorageReport,
  type StorageReporting,
} from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { checkHeap } from "./check.js";
import { createHeapControl, openHeapControl } from "./control.js";
import { HeapPointers } from "./pointers.js";
import {
  BLOCK_HEADER,
  FL_CLZ,
  FREE,
  FREE_BIAS_W,
  FREE_NEXT_W,
  GRANULE,
  HEAP_LAYOUT,
  MAX_REQUEST,
  MIN_BLOCK,
  PREV_FREE,
  SIZE_MASK,
  SL_BITS,
  SL_CLZ,
  SL_MASK,
  SMALL_LIMIT,
  SPAN_AREA_W,
  SPAN_BITMAP_W,
  SPAN_BYTES_W,
  SPAN_HOME,
  W_EMPTY_SPAN,
  W_FL_MAP,
  W_HEADS,
  W_LIVE,
  W_PEAK,
  W_RESERVED,
  W_SL_MAP,
  bitmapBias,
  blockBytesFor,
} from "./layout.js";
import { heapStorageReport, walkHeap } from "./walk.js";
import type { BlockVisitor, HeapAllocatorOptions, HeapAttachOptions } from "./types.js";

/**
 * A general-purpose heap: TLSF (two-level segregated fit) over page spans
 * leased from a {@link PageAllocator}.
 *
 * - `allocate` and `deallocate` are O(1): two bit scans find a free block,
 *   boundary tags merge a freed block with its free neighbours at once.
 * - Every block has a 4-byte header; payloads are 8-aligned; alignments up
 *   to 64 KiB split the front gap off as a free block, so nothing is wasted.
 * - Pointer checks are exact and O(1): a per-span bitmap marks every block
 *   start, so foreign, interior and freed pointers are always rejected
 *   (InvalidPointerError / DoubleFreeError) and nothing changes.
 * - All state (size-class bitmaps, free-list heads, span list, counters)
 *   lives in linear memory, in a control block in the first span; this
 *   object is a handle ({@link HeapAllocator.attach} makes another).
 *
 * `stats().liveBytes` counts usable sizes (`allocatedSize`), not the sizes
 * asked for. See layout.ts for the block, span and control-block layouts.
 */
export class HeapAllocator extends HeapPointers implements Allocator, Checkable, StorageReporting {
  readonly name: string;
  /** Unregisters {@link reclaim} from the page allocator. */
  private readonly unregisterReclaim: () => void;

  /**
   * Registers `name` as an owner with `pages` and leases the first span,
   * which holds the control block. Throws InvalidArgumentError for bad
   * options and OutOfMemoryError when the first span cannot be leased.
   * Given an {@link Attachment} (see {@link HeapAllocator.attach}), makes a
   * second handle on the heap whose control block that is instead.
   */
  constructor(pages: PageAllocator, options?: HeapAllocatorOptions);
  constructor(attachment: Attachment, options?: HeapAttachOptions);
  constructor(source: PageAllocator | Attachment, options: HeapAllocatorOptions & HeapAttachOptions = {}) {
    const name = options.name;
    if (name !== undefined && (typeof name !== "string" || name.length === 0)) {
      throw new InvalidArgumentError(`HeapAllocator: option name must be a non-empty string, received ${describe(name)}.`);
    }
    const created = source instanceof Attachment ? undefined : createHeapControl(source, name ?? "heap", options.spanBytes);
    const opened = source instanceof Attachment ? openHeapControl(source, options.pages) : undefined;
    super((created ?? opened)!);
    this.name = name ?? (created !== undefined ? "heap" : this.pages.ownerName(this.ownerId));
    this.followViews();
    this.unregisterReclaim = this.pages.addReclaimer(() => this.reclaim());
    if (created !== undefined) this.initSpan(created.home, created.homeBytes, SPAN_HOME);
  }

  /**
   * A second handle on the heap whose control block is at `controlPtr`
   * (`heap.controlPtr` of the creating side) in `space`. The heap leases from
   * the page allocator its control block records: `options.pages` (a handle
   * on that one), else this thread's live handle on it, else a new handle
   * attached here (detached with this one). The name defaults to the one the
   * heap registered with the page allocator. All state is in linear memory,
   * so both handles see one heap; handles must not run heap calls
   * concurrently (sharing across threads needs a lock around them). A wrong
   * pointer, another layout or damage is a CorruptionError at attach or at
   * the first {@link check}; a non-number is an InvalidArgumentError.
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: HeapAttachOptions = {}): HeapAllocator {
    return new HeapAllocator(Attachment.open(space, controlPtr, HEAP_LAYOUT, "HeapAllocator.attach"), options);
  }

  // ---------------------------------------------------------------- Allocator

  /*
   * allocate() and deallocate() are written out in full: one function each,
   * no calls on the common path, whatever the inliner decides at the call
   * site. They are the common case of take()/carve()/count() and
   * release()/link()/unlink() (blocks.ts, free-lists.ts), step for step;
   * folding them back onto those calls makes both measurably slower
   * (docs/perf-log.md), and a test replays random sequences through both
   * and expects the same blocks. The package build writes the layout's
   * names in as numbers (layout.ts computes every one from literals for that).
   */

  /** A block of at least `size` usable bytes aligned to `align` (payloads are always 8-aligned). O(1). */
  allocate(size: number, align = 8): Ptr {
    // One compare pair for the common case (an integer size the heap can serve, default align);
    // everything else goes through core's validation and the aligned path.
    // typeof first: `|` throws TypeError on a BigInt or a Symbol, which must get core's InvalidArgumentError.
    if (typeof size !== "number" || !(size <= MAX_REQUEST && (size | 0) === size && size >= 0) || align !== GRANULE) return this.allocateChecked(size, align);
    let s = (size + (BLOCK_HEADER + GRANULE - 1)) & SIZE_MASK;
    if (s < MIN_BLOCK) s = MIN_BLOCK;
    const m = this.i32;
    const r = this.r;
    // Size class of the request rounded up to the next class boundary: every block there fits.
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
    // Search: the first non-empty list at or above (fl, sl).
    let map = m[r + W_SL_MAP + fl]! & (-1 << sl);
    if (map === 0) {
      const flMap = m[r + W_FL_MAP]! & (-2 << fl);
      if (flMap === 0) return this.allocateSlow(s, size);
      fl = 31 - Math.clz32(flMap & -flMap);
      map = m[r + W_SL_MAP + fl]!;
    }
    sl = 31 - Math.clz32(map & -map);
    // Unlink the head of that list.
    const hi = r + W_HEADS + (fl << SL_BITS) + sl;
    const p = m[hi]!;
    const pw = p >> 2;
    const next = m[pw + FREE_NEXT_W]!;
    m[hi] = next;
    if (next !== 0) {
      m[next >> 2] = 0;
    } else {
      const rest = m[r + W_SL_MAP + fl]! & ~(1 << sl);
      m[r + W_SL_MAP + fl] = rest;
      if (rest === 0) m[r + W_FL_MAP]! &= ~(1 << fl);
    }
    // Split: a tail of MIN_BLOCK or more becomes a free block (its left neighbour, p, is used).
    const b = m[pw - 1]! & SIZE_MASK;
    const rest = b - s;
    let usable: number;
    if (rest >= MIN_BLOCK) {
      m[pw - 1] = s;
      usable = s - BLOCK_HEADER;
      const q = p + s;
      const qw = q >> 2;
      const bias = m[pw + FREE_BIAS_W]!;
      m[qw - 1] = rest | FREE;
      m[qw + FREE_BIAS_W] = bias;
      m[((q + rest) >> 2) - 2] = q; // footer
      m[bias + (q >>> 8)]! |= 1 << ((q >>> 3) & 31); // a block starts at q
      // Link the tail at the head of its class list.
      let qfl: number;
      let qsl: number;
      if (rest < SMALL_LIMIT) {
        qfl = 0;
        qsl = rest >>> 3;
      } else {
        const z = Math.clz32(rest);
        qfl = FL_CLZ - z;
        qsl = (rest >>> (SL_CLZ - z)) & SL_MASK;
      }
      const qi = r + W_HEADS + (qfl << SL_BITS) + qsl;
      const head = m[qi]!;
      m[qw] = 0; // prev link: the head of its list
      m[qw + FREE_NEXT_W] = head;
      if (head !== 0) m[head >> 2] = q;
      m[qi] = q;
      m[r + W_SL_MAP + qfl]! |= 1 << qsl;
      m[r + W_FL_MAP]! |= 1 << qfl;
    } else {
      m[pw - 1] = b;
      usable = b - BLOCK_HEADER;
      m[((p + b) >> 2) - 1]! &= ~PREV_FREE;
    }
    // Count.
    const live = m[r + W_LIVE]! + usable;
    m[r + W_LIVE] = live;
    if (live > m[r + W_PEAK]!) m[r + W_PEAK] = live;
    this.f64[this.fi]! += 1;
    return p;
  }

  /** Frees the block at `ptr` and merges it with free neighbours. O(1). 0 is a no-op. */
  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    const m = this.i32;
    // Exact O(1) check before anything changes: our span (page tag), a block start (bitmap), not free (header).
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr >= this.limit) throw this.rejected(ptr, "deallocate");
    const tag = m[this.tagW + (ptr >>> this.pageShift)]!;
    if (tag >>> 24 !== this.ownerId) throw this.rejected(ptr, "deallocate");
    const base = (tag & 0xff_ffff) << this.pageShift;
    const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
    if ((m[bias + (ptr >>> 8)]! & (1 << ((ptr >>> 3) & 31))) === 0) throw this.rejected(ptr, "deallocate");
    const h = m[(ptr >> 2) - 1]!;
    if ((h & FREE) !== 0) throw this.rejected(ptr, "deallocate");
    const r = this.r;
    let size = h & SIZE_MASK;
    m[r + W_LIVE]! -= size - BLOCK_HEADER;
    this.f64[this.fi + 1]! += 1;
    let p = ptr;
    // Merge with a free right neighbour (unlink it), else tell it its left neighbour is now free.
    const q = p + size;
    const qh = m[(q >> 2) - 1]!;
    if ((qh & FREE) !== 0) {
      const qs = qh & SIZE_MASK;
      const qw = q >> 2;
      const prev = m[qw]!;
      const next = m[qw + FREE_NEXT_W]!;
      if (next !== 0) m[next >> 2] = prev;
      if (prev !== 0) {
        m[(prev >> 2) + FREE_NEXT_W] = next;
      } else {
        let fl: number;
        let sl: number;
        if (qs < SMALL_LIMIT) {
          fl = 0;
          sl = qs >>> 3;
        } else {
          const z = Math.clz32(qs);
          fl = FL_CLZ - z;
          sl = (qs >>> (SL_CLZ - z)) & SL_MASK;
        }
        m[r + W_HEADS + (fl << SL_BITS) + sl] = next;
        if (next === 0) {
          const rest = m[r + W_SL_MAP + fl]! & ~(1 << sl);
          m[r + W_SL_MAP + fl] = rest;
          if (rest === 0) m[r + W_FL_MAP]! &= ~(1 << fl);
        }
      }
      m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31)); // no block starts at q any more
      size += qs;
    } else {
      m[(q >> 2) - 1] = qh | PREV_FREE;
    }
    // Merge with a free left neighbour (unlink it), found through its footer.
    if ((h & PREV_FREE) !== 0) {
      const left = m[(p >> 2) - 2]!;
      const lw = left >> 2;
      const ls = m[lw - 1]! & SIZE_MASK;
      const prev = m[lw]!;
      const next = m[lw + FREE_NEXT_W]!;
      if (next !== 0) m[next >> 2] = prev;
      if (prev !== 0) {
        m[(prev >> 2) + FREE_NEXT_W] = next;
      } else {
        let fl: number;
        let sl: number;
        if (ls < SMALL_LIMIT) {
          fl = 0;
          sl = ls >>> 3;
        } else {
          const z = Math.clz32(ls);
          fl = FL_CLZ - z;
          sl = (ls >>> (SL_CLZ - z)) & SL_MASK;
        }
        m[r + W_HEADS + (fl << SL_BITS) + sl] = next;
        if (next === 0) {
          const rest = m[r + W_SL_MAP + fl]! & ~(1 << sl);
          m[r + W_SL_MAP + fl] = rest;
          if (rest === 0) m[r + W_FL_MAP]! &= ~(1 << fl);
        }
      }
      m[bias + (p >>> 8)]! &= ~(1 << ((p >>> 3) & 31));
      p = left;
      size += ls;
    }
    // Link the merged block at the head of its class list.
    const pw = p >> 2;
    m[pw - 1] = size | FREE;
    m[pw + FREE_BIAS_W] = bias;
    m[((p + size) >> 2) - 2] = p; // footer
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
    m[pw] = 0; // prev link: the head of its list
    m[pw + FREE_NEXT_W] = head;
    if (head !== 0) m[head >> 2] = p;
    m[hi] = p;
    m[r + W_SL_MAP + fl]! |= 1 << sl;
    m[r + W_FL_MAP]! |= 1 << fl;
    if (size === m[(base >> 2) + SPAN_AREA_W]) this.spanEmptied(base);
  }
  /**
   * Resizes the block at `ptr`, keeping min(old usable, newSize) bytes.
   * Shrinks in place (the tail becomes free), grows in place into a free
   * right neighbour, and moves only when neither works or `ptr` does not
   * meet `align`. On OutOfMemoryError the old block is untouched.
   */
  reallocate(ptr: Ptr, newSize: number, align = 8): Ptr {
    if (ptr === 0) return this.allocate(newSize, align);
    validateAllocation(this.name, newSize, align);
    if (newSize > MAX_REQUEST) throw this.outOfMemory(newSize, align, "larger than the largest block a heap makes");
    const base = this.liveSpan(ptr, "reallocate");
    const bias = bitmapBias(base);
    const s = blockBytesFor(newSize);
    if ((ptr & (align - 1)) === 0 && this.resizeAt(ptr, s, bias)) return ptr;
    const cur = this.i32[(ptr >> 2) - 1]! & SIZE_MASK;
    const moved = align <= 8 ? this.take(s, newSize) : this.takeAligned(s, align, newSize);
    const m = this.i32; // take may have grown the memory
    this.space.bytes.copy(moved, ptr, Math.min(cur - 4, newSize));
    this.addLive((m[(moved >> 2) - 1]! & SIZE_MASK) - cur);
    this.release(ptr, m[(ptr >> 2) - 1]!, base, bias);
    return moved;
  }

  /**
   * Resizes the block at `ptr` without moving it (what mimalloc's `mi_expand`
   * and jemalloc's `xallocx` do): shrinks it (the tail becomes free) or grows
   * it into a free right neighbour and returns true; returns false and
   * changes nothing when the neighbour is not free or too small. A caller
   * that would otherwise copy the block elsewhere tries this first. Throws as
   * {@link reallocate} does for a bad pointer or size.
   */
  resizeInPlace(ptr: Ptr, newSize: number): boolean {
    validateAllocation(this.name, newSize, 8);
    const base = this.liveSpan(ptr, "resizeInPlace");
    return newSize <= MAX_REQUEST && this.resizeAt(ptr, blockBytesFor(newSize), bitmapBias(base));
  }

  /**
   * Usable bytes of the live block at `ptr`: the size asked for plus the
   * 4-byte header rounded up to 8 (at least 24), minus the header, plus at
   * most 16 bytes of a tail too small to split off. O(1).
   */
  allocatedSize(ptr: Ptr): number {
    this.liveSpan(ptr, "allocatedSize");
    return (this.i32[(ptr >> 2) - 1]! & SIZE_MASK) - 4;
  }

  /** True when `ptr` is the start of a live block of this heap. Exact, O(1). False on an ended handle. */
  owns(ptr: Ptr): boolean {
    return this.spanOfLive(ptr) >= 0;
  }

  /** Counters; liveBytes counts usable sizes. liveCount is derived as allocCount - freeCount. */
  stats(): AllocatorStats {
    this.assertAlive("stats");
    const m = this.i32;
    const r = this.r;
    const allocCount = this.f64[this.fi]!;
    const freeCount = this.f64[this.fi + 1]!;
    return {
      liveBytes: m[r + W_LIVE]!,
      liveCount: allocCount - freeCount,
      peakLiveBytes: m[r + W_PEAK]!,
      allocCount,
      freeCount,
      reservedBytes: m[r + W_RESERVED]!,
    };
  }

  /** Starts a new high-water mark at the current live size. */
  resetPeak(): void {
    this.assertAlive("resetPeak");
    this.i32[this.r + W_PEAK] = this.i32[this.r + W_LIVE]!;
  }

  /**
   * Gives the cached empty span back to the page allocator (the home span,
   * which holds the control block, stays); returns the bytes given back.
   * The page allocator calls this before an allocation fails anywhere in the
   * memory, this heap's own leases included. O(1): at most one span is empty
   * besides the home span (see spanEmptied).
   */
  reclaim(): number {
    this.assertAlive("reclaim");
    this.collectRemoteFrees();
    const cached = this.i32[this.r + W_EMPTY_SPAN]!;
    if (cached === 0 || !this.isEmpty(cached)) return 0;
    const bytes = this.i32[(cached >> 2) + SPAN_BYTES_W]!;
    this.returnSpan(cached);
    return bytes;
  }

  // ------------------------------------------------------------- reporting

  /**
   * Walks every span and block and verifies every invariant: span headers
   * and page tags (and that no other page carries this heap's owner), block
   * headers, boundary tags, the block-start bitmap, coalescing, free-list
   * links, size classes, the FL/SL bitmaps and the counters. Throws
   * CorruptionError naming the block (hex) and the broken invariant.
   * O(blocks + bitmap words + pages); bounded whatever the damage.
   */
  check(): void {
    this.assertAlive("check");
    checkHeap(this.i32, this.f64, this.controlPtr, this.name, this.pages);
  }

  /**
   * Free memory as it lies: total free (usable bytes of free blocks), the
   * largest request that succeeds without leasing (align <= 8), a histogram
   * of free-block sizes and the fragmentation ratio. O(blocks).
   */
  storageReport(): StorageReport {
    this.assertAlive("storageReport");
    return heapStorageReport(this.i32, this.controlPtr);
  }

  /** Calls `visit(ptr, usableBytes, free)` for every block, spans in address order. Cold path. */
  walk(visit: BlockVisitor): void {
    this.assertAlive("walk");
    walkHeap(this.i32, this.controlPtr, visit);
  }

  // ------------------------------------------------------------- lifecycle

  /**
   * Ends the heap: every span goes back to the page allocator, the control
   * block is retired (attaching to it is refused), and every handle this
   * thread holds on the heap is dead. Live blocks die with it. Idempotent.
   */
  destroy(): void {
    if (!this.alive) return;
    const spans = this.spanBases();
    retireControl(this.space, this.controlPtr);
    try {
      // Only spans the page map says are ours: a damaged list must not free another lessee's span.
      for (const s of spans) if (this.pages.tagOf(s) === ((this.ownerId << 24) | (s >>> this.pageShift)) >>> 0) this.pages.deallocate(s);
    } finally {
      this.end("destroyed");
    }
  }

  /**
   * Ends this handle without touching the heap (other handles keep using
   * it). Afterwards every call on this handle throws DestroyedError (`owns`
   * answers false). Idempotent.
   */
  detach(): void {
    this.end("detached");
  }

  protected override end(how: HandleEnd): void {
    if (!this.alive) return;
    super.end(how);
    this.unregisterReclaim();
  }
}
