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
import { countLive } from "./counters.js";
import {
  BLOCK_HEADER,
  FREE,
  FREE_BIAS_W,
  GRANULE,
  HEADER_W,
  HEAP_LAYOUT,
  MAX_REQUEST,
  SIZE_MASK,
  SPAN_AREA_W,
  SPAN_BYTES_W,
  SPAN_HOME,
  W_EMPTY_SPAN,
  W_LIVE,
  W_PEAK,
  W_RESERVED,
  bitmapBias,
} from "./layout.js";
import { blockSizeFor, fitClassOf, freeBlock, growBlock, isStart, prepareBlock, searchClass, shrinkBlock, takeHead } from "./tlsf.js";
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

  /** A block of at least `size` usable bytes aligned to `align` (payloads are always 8-aligned). O(1). */
  allocate(size: number, align = 8): Ptr {
    // One compare pair for the common case (an integer size the heap can serve, default align);
    // everything else goes through core's validation and the aligned path.
    // typeof first: `|` throws TypeError on a BigInt or a Symbol, which must get core's InvalidArgumentError.
    if (typeof size !== "number" || !(size <= MAX_REQUEST && (size | 0) === size && size >= 0) || align !== 8) return this.allocateChecked(size, align);
    // allocateBlock's steps, called from here: its tree then fits V8's inlining budget (tlsf.ts).
    const s = blockSizeFor(size);
    const m = this.i32;
    const r = this.r;
    const cls = searchClass(m, r, fitClassOf(s));
    if (cls < 0) return this.allocateSlow(s, size);
    const p = takeHead(m, r, cls);
    const live = m[r + W_LIVE]! + prepareBlock(m, r, p, m[(p >> 2) + HEADER_W]! & SIZE_MASK, s, 0, m[(p >> 2) + FREE_BIAS_W]!) - BLOCK_HEADER;
    m[r + W_LIVE] = live;
    if (live > m[r + W_PEAK]!) m[r + W_PEAK] = live;
    this.f64[this.fi]! += 1;
    return p;
  }

  /** Frees the block at `ptr` and merges it with free neighbours. O(1). 0 is a no-op. */
  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    // Exact O(1) check before anything changes: our span (page tag), a block start (bitmap), not free (header).
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & (GRANULE - 1)) !== 0 || ptr >= this.limit) throw this.rejected(ptr, "deallocate");
    const m = this.i32;
    const tag = m[this.tagW + (ptr >>> this.pageShift)]!;
    if (tag >>> 24 !== this.ownerId) throw this.rejected(ptr, "deallocate");
    const base = (tag & 0xff_ffff) << this.pageShift;
    const bias = bitmapBias(base);
    if (!isStart(m, bias, ptr)) throw this.rejected(ptr, "deallocate");
    const h = m[(ptr >> 2) + HEADER_W]!;
    if ((h & FREE) !== 0) throw this.rejected(ptr, "deallocate");
    const r = this.r;
    m[r + W_LIVE]! -= (h & SIZE_MASK) - BLOCK_HEADER;
    this.f64[this.fi + 1]! += 1;
    if (freeBlock(m, r, ptr, h, bias) === m[(base >> 2) + SPAN_AREA_W]) this.spanEmptied(base);
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
    const r = this.r;
    const h = this.i32[(ptr >> 2) + HEADER_W]!;
    const cur = h & SIZE_MASK;
    const s = blockSizeFor(newSize);
    if ((ptr & (align - 1)) === 0) {
      if (s <= cur) shrinkBlock(this.i32, r, ptr, h, s, bias);
      if (s <= cur || growBlock(this.i32, r, ptr, h, s, bias)) {
        countLive(this.i32, r, (this.i32[(ptr >> 2) + HEADER_W]! & SIZE_MASK) - cur);
        return ptr;
      }
    }
    const moved = align <= GRANULE ? this.take(s, newSize) : this.takeAligned(s, align, newSize);
    const m = this.i32; // the take may have grown the memory
    this.u8.copyWithin(moved, ptr, ptr + Math.min(cur - BLOCK_HEADER, newSize));
    countLive(m, r, (m[(moved >> 2) + HEADER_W]! & SIZE_MASK) - cur);
    this.release(ptr, m[(ptr >> 2) + HEADER_W]!, base, bias);
    return moved;
  }

  /**
   * Usable bytes of the live block at `ptr`: the size asked for plus the
   * 4-byte header rounded up to 8 (at least 24), minus the header, plus at
   * most 16 bytes of a tail too small to split off. O(1).
   */
  allocatedSize(ptr: Ptr): number {
    this.liveSpan(ptr, "allocatedSize");
    return (this.i32[(ptr >> 2) + HEADER_W]! & SIZE_MASK) - BLOCK_HEADER;
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
