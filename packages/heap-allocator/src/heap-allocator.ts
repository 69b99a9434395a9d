import {
  type AllocatorError,
  type DestroyedError,
  DoubleFreeError,
  InvalidArgumentError,
  OutOfMemoryError,
  checkControlHeader,
  describe,
  destroyedError,
  formatBytes,
  formatSize,
  hex,
  invalidPointer,
  magic,
  validateAllocation,
  validatePointerShape,
  writeControlHeader,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type Checkable,
  type Ptr,
  type StorageReport,
  type StorageReporting,
} from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { checkHeap } from "./check.js";
import {
  CONTROL_BYTES,
  CONTROL_WORDS,
  C_ALLOC_COUNT,
  C_EMPTY_SPAN,
  C_FIRST_SPAN,
  C_FL_MAP,
  C_HEADS,
  C_HOME,
  C_LIVE,
  C_OWNER,
  C_PAGE_SHIFT,
  C_PEAK,
  C_RESERVED,
  C_SL_MAP,
  C_SPAN_BYTES,
  C_SPAN_COUNT,
  FREE,
  HEAP_MAGIC_TEXT,
  LAYOUT_VERSION,
  MAX_BLOCK,
  MAX_REQUEST,
  MIN_BLOCK,
  PREV_FREE,
  SIZE_MASK,
  SPAN_AREA_W,
  SPAN_BITMAP_W,
  SPAN_BYTES_W,
  SPAN_COLOR_MASK,
  SPAN_CONTROL_W,
  SPAN_FIRST_W,
  SPAN_FLAGS_W,
  SPAN_HEADER_BYTES,
  SPAN_HOME,
  SPAN_MAGIC_TEXT,
  SPAN_MAGIC_W,
  SPAN_NEXT_W,
  SPAN_PREV_W,
  bitmapBytes,
  firstPayloadOffset,
  flOf,
  slOf,
  spanArea,
  spanColor,
} from "./layout.js";
import { heapStorageReport, walkHeap } from "./walk.js";
import type { BlockVisitor, HeapAllocatorOptions } from "./types.js";

const DEFAULT_SPAN_BYTES = 1 << 20;
/** The home span grows by pages until this much room is left beside the control block. */
const HOME_MIN_AREA = 1024;
const HEAP_MAGIC = magic(HEAP_MAGIC_TEXT);
const SPAN_MAGIC = magic(SPAN_MAGIC_TEXT) | 0;
/** Set by {@link HeapAllocator.attach} for the one constructor call it makes. */
let attaching: Ptr = 0;
/** An empty control block: after destroy() the handle points its views here, so every call takes a cold path. */
const DEAD_CONTROL = new ArrayBuffer(CONTROL_BYTES);

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
 *   lives in linear memory; this object holds views and constants.
 *
 * `stats().liveBytes` counts usable sizes (`allocatedSize`), not the sizes
 * asked for. See layout.ts for the block, span and control-block layouts.
 */
export class HeapAllocator implements Allocator, Checkable, StorageReporting {
  readonly name: string;
  readonly space: AddressSpace;
  /** The page allocator the spans are leased from. */
  readonly pages: PageAllocator;
  /** Owner id in the page map: `pages.tagOf(ptr) >>> 24 === ownerId` for every byte of every span of this heap. */
  readonly ownerId: number;
  /** Lease granularity in bytes (whole pages). */
  readonly spanBytes: number;
  /** Address of the control block (TLSF root and counters) in linear memory. */
  readonly controlPtr: Ptr;

  // Hot-path state: views refreshed by the grow listener, word indexes precomputed.
  private m: Int32Array;
  private f: Float64Array;
  private u8: Uint8Array;
  /** Word index of the control block. */
  private r: number;
  /** Float64 index of allocCount (freeCount follows). */
  private fi: number;
  /** Word index of the page allocator's tag array. */
  private tagW: number;
  /** Addresses the page map covers: [0, limit). */
  private limit: number;
  private readonly pageShift: number;
  private readonly pageSize: number;
  private unsubscribe: (() => void) | undefined;
  /** Unregisters {@link reclaim} from the page allocator. */
  private unregisterReclaim: () => void = () => undefined;
  /** How this handle ended, for DestroyedError messages. */
  private endedAs: "destroyed" | "detached" = "detached";

  /**
   * Registers `name` as an owner with `pages` and leases the first span,
   * which holds the control block. Throws InvalidArgumentError for bad
   * options and OutOfMemoryError when the first span cannot be leased.
   */
  constructor(pages: PageAllocator, options: HeapAllocatorOptions = {}) {
    const attachTo = attaching;
    attaching = 0;
    const name = options.name ?? "heap";
    if (typeof name !== "string" || name.length === 0) {
      throw new InvalidArgumentError(`HeapAllocator: option name must be a non-empty string, received ${describe(name)}.`);
    }
    const pageSize = pages.pageSize;
    const space = pages.space;
    this.name = name;
    this.space = space;
    this.pages = pages;
    this.pageSize = pageSize;
    this.pageShift = pages.pageShift;
    this.tagW = pages.tagWordBase;
    this.limit = pages.range.limit;

    let home = 0;
    let homeBytes = 0;
    if (attachTo === 0) {
      const requested = options.spanBytes ?? DEFAULT_SPAN_BYTES;
      if (!Number.isSafeInteger(requested) || requested <= 0 || requested > MAX_BLOCK) {
        throw new InvalidArgumentError(
          `HeapAllocator "${name}": option spanBytes must be an integer from 1 to ${MAX_BLOCK} (1 GiB), received ${describe(requested)}.`,
        );
      }
      this.spanBytes = Math.ceil(requested / pageSize) * pageSize;
      this.ownerId = pages.registerOwner(name);
      // The home span holds the control block; grow it by pages until a block fits beside it.
      homeBytes = this.spanBytes;
      while (spanArea(homeBytes, true) < HOME_MIN_AREA) homeBytes += pageSize;
      try {
        home = pages.allocate(homeBytes);
      } catch (cause) {
        if (cause instanceof OutOfMemoryError) {
          throw new OutOfMemoryError(`HeapAllocator "${name}": cannot lease its first span (${formatBytes(homeBytes)}) from ${pages.name}.`, { cause });
        }
        throw cause;
      }
      pages.setTag(home, this.ownerId, home >>> this.pageShift);
      this.controlPtr = home + SPAN_HEADER_BYTES + bitmapBytes(homeBytes);
    } else {
      checkControlHeader(space, attachTo, HEAP_MAGIC, LAYOUT_VERSION, "HeapAllocator.attach");
      const i32 = space.i32;
      const r = attachTo >>> 2;
      const owner = i32[r + C_OWNER]!;
      if (i32[r + C_PAGE_SHIFT] !== pages.pageShift || pages.tagOf(attachTo) >>> 24 !== owner) {
        throw new InvalidArgumentError(
          `HeapAllocator.attach: the heap at ${hex(attachTo)} does not lease from ${pages.name} ` +
            `(page shift ${i32[r + C_PAGE_SHIFT]} vs ${pages.pageShift}, page tag ${hex(pages.tagOf(attachTo))} vs owner ${owner}).`,
        );
      }
      this.spanBytes = i32[r + C_SPAN_BYTES]!;
      this.ownerId = owner;
      this.controlPtr = attachTo;
    }

    const control = this.controlPtr;
    this.r = control >>> 2;
    this.fi = (control >>> 3) + C_ALLOC_COUNT / 2;
    this.m = space.i32;
    this.f = space.f64;
    this.u8 = space.u8;
    this.unsubscribe = space.onGrow(() => {
      this.m = space.i32;
      this.f = space.f64;
      this.u8 = space.u8;
    });
    this.unregisterReclaim = pages.addReclaimer(() => this.reclaim());
    if (attachTo !== 0) return;

    const m = this.m;
    const r = this.r;
    m.fill(0, r, r + CONTROL_WORDS);
    writeControlHeader(space, control, HEAP_MAGIC, LAYOUT_VERSION);
    m[r + C_OWNER] = this.ownerId;
    m[r + C_PAGE_SHIFT] = this.pageShift;
    m[r + C_SPAN_BYTES] = this.spanBytes;
    m[r + C_HOME] = home;
    this.initSpan(home, homeBytes, SPAN_HOME);
  }

  /**
   * A second handle on the heap whose control block is at `controlPtr`
   * (`heap.controlPtr` of the creating side), leasing from the same page
   * allocator (or a handle attached to it). All state is in linear memory,
   * so both handles see one heap. Handles must not run heap calls
   * concurrently: sharing across threads needs a lock around them.
   * Refuses a wrong pointer, an old layout or another page allocator with
   * InvalidArgumentError.
   */
  static attach(pages: PageAllocator, controlPtr: Ptr, name = "heap"): HeapAllocator {
    attaching = typeof controlPtr === "number" && controlPtr >>> 0 === controlPtr && controlPtr !== 0 && controlPtr % 8 === 0 ? controlPtr : -1;
    if (attaching === -1) {
      attaching = 0;
      throw new InvalidArgumentError(`HeapAllocator.attach: ${describe(controlPtr)} is not a control block address (a non-zero multiple of 8).`);
    }
    return new HeapAllocator(pages, { name });
  }

  // ---------------------------------------------------------------- Allocator

  /*
   * allocate() and deallocate() are written out in full, with the layout's
   * constants as literals (named in comments, defined in layout.ts): one
   * function each, no calls on the common path and no module-variable loads,
   * whatever the inliner decides at the call site. Measured in plain Node
   * (built ESM, CPU time, best of 12 interleaved rounds): folding them back
   * onto take/count/release makes a 32-byte free+allocate pair 38 -> 53 ns
   * and a mixed-size pair 143-149 -> 162-167 ns, so the copies stay.
   *   4 BLOCK_HEADER   24 MIN_BLOCK   -8 SIZE_MASK   1 FREE   2 PREV_FREE
   *   control words: 2 FL map, 11 liveBytes, 12 peak, 18 SL maps, 42 heads
   *   span words: 4 area, 8 bitmap;  free block words: +0 prev, +1 next, +2 bias
   */

  /** A block of at least `size` usable bytes aligned to `align` (payloads are always 8-aligned). O(1). */
  allocate(size: number, align = 8): Ptr {
    // One compare pair for the common case (an integer size the heap can serve, default align);
    // everything else goes through core's validation and the aligned path.
    // typeof first: `|` throws TypeError on a BigInt or a Symbol, which must get core's InvalidArgumentError.
    if (typeof size !== "number" || !(size <= 1073741820 /* MAX_REQUEST */ && (size | 0) === size && size >= 0) || align !== 8) return this.allocateChecked(size, align);
    let s = (size + 11) & -8; // header + payload, rounded to 8
    if (s < 24) s = 24;
    const m = this.m;
    const r = this.r;
    // Size class of the request rounded up to the next class boundary: every block there fits.
    let fl: number;
    let sl: number;
    if (s < 256) {
      fl = 0;
      sl = s >>> 3;
    } else {
      const t = s + (1 << (26 - Math.clz32(s))) - 1;
      const z = Math.clz32(t);
      fl = 24 - z;
      sl = (t >>> (26 - z)) & 31;
    }
    let map = m[r + 18 + fl]! & (-1 << sl);
    if (map === 0) {
      const flMap = m[r + 2]! & (-2 << fl);
      if (flMap === 0) return this.allocateSlow(s, size);
      fl = 31 - Math.clz32(flMap & -flMap);
      map = m[r + 18 + fl]!;
    }
    sl = 31 - Math.clz32(map & -map);
    // Unlink the head of that list.
    const hi = r + 42 + (fl << 5) + sl;
    const p = m[hi]!;
    const pw = p >> 2;
    const next = m[pw + 1]!;
    m[hi] = next;
    if (next !== 0) {
      m[next >> 2] = 0;
    } else {
      const rest = m[r + 18 + fl]! & ~(1 << sl);
      m[r + 18 + fl] = rest;
      if (rest === 0) m[r + 2]! &= ~(1 << fl);
    }
    // Split: a tail of MIN_BLOCK or more becomes a free block (its left neighbour, p, is used).
    const b = m[pw - 1]! & -8;
    const rest = b - s;
    let usable: number;
    if (rest >= 24) {
      m[pw - 1] = s;
      usable = s - 4;
      const q = p + s;
      const qw = q >> 2;
      const bias = m[pw + 2]!;
      m[qw - 1] = rest | 1;
      m[qw + 2] = bias;
      m[((q + rest) >> 2) - 2] = q;
      m[bias + (q >>> 8)]! |= 1 << ((q >>> 3) & 31);
      let qfl: number;
      let qsl: number;
      if (rest < 256) {
        qfl = 0;
        qsl = rest >>> 3;
      } else {
        const z = Math.clz32(rest);
        qfl = 24 - z;
        qsl = (rest >>> (26 - z)) & 31;
      }
      const qi = r + 42 + (qfl << 5) + qsl;
      const head = m[qi]!;
      m[qw] = 0;
      m[qw + 1] = head;
      if (head !== 0) m[head >> 2] = q;
      m[qi] = q;
      m[r + 18 + qfl]! |= 1 << qsl;
      m[r + 2]! |= 1 << qfl;
    } else {
      m[pw - 1] = b;
      usable = b - 4;
      m[((p + b) >> 2) - 1]! &= ~2;
    }
    const live = m[r + 11]! + usable;
    m[r + 11] = live;
    if (live > m[r + 12]!) m[r + 12] = live;
    this.f[this.fi]! += 1;
    return p;
  }

  /** Frees the block at `ptr` and merges it with free neighbours. O(1). 0 is a no-op. */
  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    const m = this.m;
    // Exact O(1) check before anything changes: our span (page tag), a block start (bitmap), not free (header).
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr >= this.limit) throw this.rejected(ptr, "deallocate");
    const tag = m[this.tagW + (ptr >>> this.pageShift)]!;
    if (tag >>> 24 !== this.ownerId) throw this.rejected(ptr, "deallocate");
    const base = (tag & 0xff_ffff) << this.pageShift;
    const bias = (base >>> 2) + 8 - (base >>> 8);
    if ((m[bias + (ptr >>> 8)]! & (1 << ((ptr >>> 3) & 31))) === 0) throw this.rejected(ptr, "deallocate");
    const h = m[(ptr >> 2) - 1]!;
    if ((h & 1) !== 0) throw this.rejected(ptr, "deallocate");
    const r = this.r;
    let size = h & -8;
    m[r + 11]! -= size - 4;
    this.f[this.fi + 1]! += 1;
    let p = ptr;
    // Merge with a free right neighbour, else tell it its left neighbour is now free.
    const q = p + size;
    const qh = m[(q >> 2) - 1]!;
    if ((qh & 1) !== 0) {
      const qs = qh & -8;
      const qw = q >> 2;
      const prev = m[qw]!;
      const next = m[qw + 1]!;
      if (next !== 0) m[next >> 2] = prev;
      if (prev !== 0) {
        m[(prev >> 2) + 1] = next;
      } else {
        let fl: number;
        let sl: number;
        if (qs < 256) {
          fl = 0;
          sl = qs >>> 3;
        } else {
          const z = Math.clz32(qs);
          fl = 24 - z;
          sl = (qs >>> (26 - z)) & 31;
        }
        m[r + 42 + (fl << 5) + sl] = next;
        if (next === 0) {
          const rest = m[r + 18 + fl]! & ~(1 << sl);
          m[r + 18 + fl] = rest;
          if (rest === 0) m[r + 2]! &= ~(1 << fl);
        }
      }
      m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31));
      size += qs;
    } else {
      m[(q >> 2) - 1] = qh | 2;
    }
    // Merge with a free left neighbour, found through its footer.
    if ((h & 2) !== 0) {
      const left = m[(p >> 2) - 2]!;
      const lw = left >> 2;
      const ls = m[lw - 1]! & -8;
      const prev = m[lw]!;
      const next = m[lw + 1]!;
      if (next !== 0) m[next >> 2] = prev;
      if (prev !== 0) {
        m[(prev >> 2) + 1] = next;
      } else {
        let fl: number;
        let sl: number;
        if (ls < 256) {
          fl = 0;
          sl = ls >>> 3;
        } else {
          const z = Math.clz32(ls);
          fl = 24 - z;
          sl = (ls >>> (26 - z)) & 31;
        }
        m[r + 42 + (fl << 5) + sl] = next;
        if (next === 0) {
          const rest = m[r + 18 + fl]! & ~(1 << sl);
          m[r + 18 + fl] = rest;
          if (rest === 0) m[r + 2]! &= ~(1 << fl);
        }
      }
      m[bias + (p >>> 8)]! &= ~(1 << ((p >>> 3) & 31));
      p = left;
      size += ls;
    }
    // File the merged block.
    const pw = p >> 2;
    m[pw - 1] = size | 1;
    m[pw + 2] = bias;
    m[((p + size) >> 2) - 2] = p;
    let fl: number;
    let sl: number;
    if (size < 256) {
      fl = 0;
      sl = size >>> 3;
    } else {
      const z = Math.clz32(size);
      fl = 24 - z;
      sl = (size >>> (26 - z)) & 31;
    }
    const hi = r + 42 + (fl << 5) + sl;
    const head = m[hi]!;
    m[pw] = 0;
    m[pw + 1] = head;
    if (head !== 0) m[head >> 2] = p;
    m[hi] = p;
    m[r + 18 + fl]! |= 1 << sl;
    m[r + 2]! |= 1 << fl;
    if (size === m[(base >> 2) + 4]) this.spanEmptied(base);
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
    let m = this.m;
    const r = this.r;
    const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
    const h = m[(ptr >> 2) - 1]!;
    const cur = h & SIZE_MASK;
    let s = (newSize + 11) & SIZE_MASK;
    if (s < MIN_BLOCK) s = MIN_BLOCK;
    if ((ptr & (align - 1)) === 0 && (s <= cur ? this.shrinkInPlace(ptr, h, s, bias) : this.growInPlace(ptr, h, s, bias))) {
      const live = m[r + C_LIVE]! + (m[(ptr >> 2) - 1]! & SIZE_MASK) - cur;
      m[r + C_LIVE] = live;
      if (live > m[r + C_PEAK]!) m[r + C_PEAK] = live;
      return ptr;
    }
    const moved = align <= 8 ? this.take(s, newSize) : this.takeAligned(s, align, newSize);
    m = this.m;
    this.u8.copyWithin(moved, ptr, ptr + Math.min(cur - 4, newSize));
    const live = m[r + C_LIVE]! + (m[(moved >> 2) - 1]! & SIZE_MASK) - cur;
    m[r + C_LIVE] = live;
    if (live > m[r + C_PEAK]!) m[r + C_PEAK] = live;
    this.release(ptr, m[(ptr >> 2) - 1]!, base, bias);
    return moved;
  }

  /**
   * Usable bytes of the live block at `ptr`: the size asked for plus the
   * 4-byte header rounded up to 8 (at least 24), minus the header, plus at
   * most 16 bytes of a tail too small to split off. O(1).
   */
  allocatedSize(ptr: Ptr): number {
    this.liveSpan(ptr, "allocatedSize");
    return (this.m[(ptr >> 2) - 1]! & SIZE_MASK) - 4;
  }

  /** True when `ptr` is the start of a live block of this heap. Exact, O(1). */
  owns(ptr: Ptr): boolean {
    return this.spanOfLive(ptr) >= 0;
  }

  /** Counters; liveBytes counts usable sizes. liveCount is derived as allocCount - freeCount. */
  stats(): AllocatorStats {
    const m = this.m;
    const r = this.r;
    const allocCount = this.f[this.fi]!;
    const freeCount = this.f[this.fi + 1]!;
    return {
      liveBytes: m[r + C_LIVE]!,
      liveCount: allocCount - freeCount,
      peakLiveBytes: m[r + C_PEAK]!,
      allocCount,
      freeCount,
      reservedBytes: m[r + C_RESERVED]!,
    };
  }

  /** Starts a new high-water mark at the current live size. */
  resetPeak(): void {
    this.m[this.r + C_PEAK] = this.m[this.r + C_LIVE]!;
  }

  /**
   * Gives the cached empty span back to the page allocator (the home span,
   * which holds the control block, stays); returns the bytes given back.
   * The page allocator calls this before an allocation fails anywhere in the
   * memory, this heap's own leases included. O(1): at most one span is empty
   * besides the home span (see spanEmptied).
   */
  reclaim(): number {
    if (this.unsubscribe === undefined) return 0;
    const cached = this.m[this.r + C_EMPTY_SPAN]!;
    if (cached === 0 || !this.isEmpty(cached)) return 0;
    const bytes = this.m[(cached >> 2) + SPAN_BYTES_W]!;
    this.returnSpan(cached);
    return bytes;
  }

  // ------------------------------------------------------------- reporting

  /**
   * Walks every span and block and verifies every invariant: span headers
   * and page tags, block headers, boundary tags, the block-start bitmap,
   * coalescing, free-list links, size classes, the FL/SL bitmaps and the
   * counters. Throws CorruptionError naming the block (hex) and the
   * broken invariant. O(blocks + bitmap words).
   */
  check(): void {
    if (this.unsubscribe === undefined) return;
    checkHeap(this.m, this.f, this.controlPtr, this.name, this.pages);
  }

  /**
   * Free memory as it lies: total free (usable bytes of free blocks), the
   * largest request that succeeds without leasing (align <= 8), a histogram
   * of free-block sizes and the fragmentation ratio. O(blocks).
   */
  storageReport(): StorageReport {
    if (this.unsubscribe === undefined) return heapStorageReport(new Int32Array(DEAD_CONTROL), 0);
    return heapStorageReport(this.m, this.controlPtr);
  }

  /** Calls `visit(ptr, usableBytes, free)` for every block, spans in address order. Cold path. */
  walk(visit: BlockVisitor): void {
    if (this.unsubscribe === undefined) return;
    walkHeap(this.m, this.controlPtr, visit);
  }

  /**
   * Returns every span to the page allocator and detaches: the heap is gone
   * for every handle attached to it, and live blocks die with it. Idempotent.
   */
  destroy(): void {
    if (this.unsubscribe === undefined) return;
    const m = this.m;
    const spans: Ptr[] = [];
    for (let s = m[this.r + C_FIRST_SPAN]!; s !== 0; s = m[(s >> 2) + SPAN_NEXT_W]!) spans.push(s);
    this.detach();
    this.endedAs = "destroyed";
    for (const s of spans) this.pages.deallocate(s);
  }

  /**
   * Stops listening to the space and retires this handle without touching
   * the heap (other handles keep using it). Afterwards every call on this
   * handle throws or reports an empty heap. Idempotent.
   */
  detach(): void {
    const unsubscribe = this.unsubscribe;
    if (unsubscribe === undefined) return;
    unsubscribe();
    this.unsubscribe = undefined;
    this.unregisterReclaim();
    // Point every view at an empty control block: stray calls then take cold paths.
    this.m = new Int32Array(DEAD_CONTROL);
    this.f = new Float64Array(DEAD_CONTROL);
    this.u8 = new Uint8Array(0);
    this.r = 0;
    this.fi = C_ALLOC_COUNT / 2;
    this.tagW = 0;
    this.limit = 0;
  }

  // ------------------------- block operations (reallocate, aligned and slow paths)

  /** Takes a free block of at least `s` bytes (a multiple of 8, >= MIN_BLOCK; `size` was asked for) and marks it used. */
  private take(s: number, size: number): number {
    const m = this.m;
    const r = this.r;
    let fl: number;
    let sl: number;
    if (s < 256) {
      fl = 0;
      sl = s >>> 3;
    } else {
      // Round up to the next class boundary so every block in the class found fits.
      const t = s + (1 << (26 - Math.clz32(s))) - 1;
      const z = Math.clz32(t);
      fl = 24 - z;
      sl = (t >>> (26 - z)) & 31;
    }
    let map = m[r + C_SL_MAP + fl]! & (-1 << sl);
    if (map === 0) {
      const flMap = m[r + C_FL_MAP]! & (-2 << fl);
      if (flMap === 0) return this.takeSlow(s, size);
      fl = 31 - Math.clz32(flMap & -flMap);
      map = m[r + C_SL_MAP + fl]!;
    }
    sl = 31 - Math.clz32(map & -map);
    const hi = r + C_HEADS + (fl << 5) + sl;
    const p = m[hi]!;
    const pw = p >> 2;
    const next = m[pw + 1]!;
    m[hi] = next;
    if (next !== 0) {
      m[next >> 2] = 0;
    } else {
      const rest = m[r + C_SL_MAP + fl]! & ~(1 << sl);
      m[r + C_SL_MAP + fl] = rest;
      if (rest === 0) m[r + C_FL_MAP]! &= ~(1 << fl);
    }
    return this.carve(p, m[pw - 1]! & SIZE_MASK, s, 0, m[pw + 2]!);
  }

  /**
   * Marks the unlinked free block `p` of `b` bytes used with size `s` and
   * header flags `flags`; a tail of MIN_BLOCK or more becomes a free block.
   */
  private carve(p: number, b: number, s: number, flags: number, bias: number): number {
    const m = this.m;
    const rest = b - s;
    if (rest >= MIN_BLOCK) {
      m[(p >> 2) - 1] = s | flags;
      const q = p + s;
      const qw = q >> 2;
      m[qw - 1] = rest | FREE;
      m[qw + 2] = bias;
      m[((q + rest) >> 2) - 2] = q;
      m[bias + (q >>> 8)]! |= 1 << ((q >>> 3) & 31);
      this.link(q, rest);
    } else {
      m[(p >> 2) - 1] = b | flags;
      m[((p + b) >> 2) - 1]! &= ~PREV_FREE;
    }
    return p;
  }

  /** Files the free block `p` of `size` bytes at the head of its class list. */
  private link(p: number, size: number): void {
    const m = this.m;
    const r = this.r;
    let fl: number;
    let sl: number;
    if (size < 256) {
      fl = 0;
      sl = size >>> 3;
    } else {
      const z = Math.clz32(size);
      fl = 24 - z;
      sl = (size >>> (26 - z)) & 31;
    }
    const hi = r + C_HEADS + (fl << 5) + sl;
    const head = m[hi]!;
    const pw = p >> 2;
    m[pw] = 0;
    m[pw + 1] = head;
    if (head !== 0) m[head >> 2] = p;
    m[hi] = p;
    m[r + C_SL_MAP + fl]! |= 1 << sl;
    m[r + C_FL_MAP]! |= 1 << fl;
  }

  /** Takes the free block `p` of `size` bytes off its class list. */
  private unlink(p: number, size: number): void {
    const m = this.m;
    const pw = p >> 2;
    const prev = m[pw]!;
    const next = m[pw + 1]!;
    if (next !== 0) m[next >> 2] = prev;
    if (prev !== 0) {
      m[(prev >> 2) + 1] = next;
      return;
    }
    const r = this.r;
    let fl: number;
    let sl: number;
    if (size < 256) {
      fl = 0;
      sl = size >>> 3;
    } else {
      const z = Math.clz32(size);
      fl = 24 - z;
      sl = (size >>> (26 - z)) & 31;
    }
    m[r + C_HEADS + (fl << 5) + sl] = next;
    if (next === 0) {
      const rest = m[r + C_SL_MAP + fl]! & ~(1 << sl);
      m[r + C_SL_MAP + fl] = rest;
      if (rest === 0) m[r + C_FL_MAP]! &= ~(1 << fl);
    }
  }

  /** Frees the used block `p` (header `h`) of the span at `base`: merges right, then left, and files the result. */
  private release(p: number, h: number, base: number, bias: number): void {
    const m = this.m;
    let size = h & SIZE_MASK;
    const q = p + size;
    const qh = m[(q >> 2) - 1]!;
    if ((qh & FREE) !== 0) {
      const qs = qh & SIZE_MASK;
      this.unlink(q, qs);
      m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31));
      size += qs;
    } else {
      m[(q >> 2) - 1] = qh | PREV_FREE;
    }
    if ((h & PREV_FREE) !== 0) {
      const left = m[(p >> 2) - 2]!;
      const ls = m[(left >> 2) - 1]! & SIZE_MASK;
      this.unlink(left, ls);
      m[bias + (p >>> 8)]! &= ~(1 << ((p >>> 3) & 31));
      p = left;
      size += ls;
    }
    const pw = p >> 2;
    m[pw - 1] = size | FREE;
    m[pw + 2] = bias;
    m[((p + size) >> 2) - 2] = p;
    this.link(p, size);
    if (size === m[(base >> 2) + SPAN_AREA_W]) this.spanEmptied(base);
  }

  // ------------------------------------------------------------- warm paths

  /** allocate() with an unusual size or alignment: validates, then serves it (align <= 8 through take()). */
  private allocateChecked(size: number, align: number): number {
    validateAllocation(this.name, size, align);
    if (size > MAX_REQUEST) throw this.outOfMemory(size, align, "larger than the largest block a heap makes");
    let s = (size + 11) & SIZE_MASK;
    if (s < MIN_BLOCK) s = MIN_BLOCK;
    return this.count(align <= 8 ? this.take(s, size) : this.takeAligned(s, align, size));
  }

  /** allocate() found no class at or above the rounded request. */
  private allocateSlow(s: number, size: number): number {
    return this.count(this.takeSlow(s, size));
  }

  /** Counts a new block in allocCount, liveBytes and the peak. */
  private count(p: number): number {
    const m = this.m;
    const r = this.r;
    const live = m[r + C_LIVE]! + (m[(p >> 2) - 1]! & SIZE_MASK) - 4;
    m[r + C_LIVE] = live;
    if (live > m[r + C_PEAK]!) m[r + C_PEAK] = live;
    this.f[this.fi]! += 1;
    return p;
  }

  /** take() found no class at or above the rounded request: try the request's own class, then lease. */
  private takeSlow(s: number, size: number): number {
    let p = this.headThatFits(s);
    if (p === 0) p = this.lease(s, size, 8);
    const m = this.m;
    const b = m[(p >> 2) - 1]! & SIZE_MASK;
    this.unlink(p, b);
    return this.carve(p, b, s, 0, m[(p >> 2) + 2]!);
  }

  /**
   * Takes a block of `s` bytes whose payload is a multiple of `align` (> 8).
   * Searches for s + align + MIN_BLOCK - 8 bytes: room for the block after
   * a front gap that is either 0 or a whole free block.
   */
  private takeAligned(s: number, align: number, size: number): number {
    const need = s + align + MIN_BLOCK - 8;
    let p = this.find(need);
    if (p === 0) p = this.headThatFits(need);
    if (p === 0) p = this.lease(need, size, align);
    const m = this.m;
    let b = m[(p >> 2) - 1]! & SIZE_MASK;
    const bias = m[(p >> 2) + 2]!;
    this.unlink(p, b);
    if ((p & (align - 1)) === 0) return this.carve(p, b, s, 0, bias);
    // The front gap must hold a free block: skip to the first aligned payload at least MIN_BLOCK in.
    const a = p + MIN_BLOCK + (-(p + MIN_BLOCK) & (align - 1));
    const gap = a - p;
    m[(p >> 2) - 1] = gap | FREE;
    m[(a >> 2) - 2] = p;
    this.link(p, gap);
    m[bias + (a >>> 8)]! |= 1 << ((a >>> 3) & 31);
    b -= gap;
    return this.carve(a, b, s, PREV_FREE, bias);
  }

  /** The head of the first non-empty class whose every block holds `s` bytes, or 0. Does not unlink. */
  private find(s: number): number {
    const m = this.m;
    const r = this.r;
    let fl: number;
    let sl: number;
    if (s < 256) {
      fl = 0;
      sl = s >>> 3;
    } else {
      const t = s + (1 << (26 - Math.clz32(s))) - 1;
      const z = Math.clz32(t);
      fl = 24 - z;
      sl = (t >>> (26 - z)) & 31;
    }
    if (fl >= 24) return 0;
    let map = m[r + C_SL_MAP + fl]! & (-1 << sl);
    if (map === 0) {
      const flMap = m[r + C_FL_MAP]! & (-2 << fl);
      if (flMap === 0) return 0;
      fl = 31 - Math.clz32(flMap & -flMap);
      map = m[r + C_SL_MAP + fl]!;
    }
    return m[r + C_HEADS + (fl << 5) + 31 - Math.clz32(map & -map)]!;
  }

  /** The head of `s`'s own class when it happens to hold `s` bytes, or 0 (the O(1) fallback before leasing). */
  private headThatFits(s: number): number {
    const m = this.m;
    const p = m[this.r + C_HEADS + (flOf(s) << 5) + slOf(s)]!;
    return p !== 0 && (m[(p >> 2) - 1]! & SIZE_MASK) >= s ? p : 0;
  }

  /** Shrinks the used block `p` (header `h`) to `s` bytes; the tail joins a free right neighbour or becomes a free block. */
  private shrinkInPlace(p: number, h: number, s: number, bias: number): boolean {
    const m = this.m;
    const cur = h & SIZE_MASK;
    const rest = cur - s;
    if (rest === 0) return true;
    const q = p + cur;
    const qh = m[(q >> 2) - 1]!;
    let size = rest;
    if ((qh & FREE) !== 0) {
      const qs = qh & SIZE_MASK;
      this.unlink(q, qs);
      m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31));
      size += qs;
    } else if (rest >= MIN_BLOCK) {
      m[(q >> 2) - 1] = qh | PREV_FREE;
    } else {
      return true; // too small to stand alone: keep it in the block
    }
    m[(p >> 2) - 1] = s | (h & PREV_FREE);
    const t = p + s;
    m[(t >> 2) - 1] = size | FREE;
    m[(t >> 2) + 2] = bias;
    m[((t + size) >> 2) - 2] = t;
    m[bias + (t >>> 8)]! |= 1 << ((t >>> 3) & 31);
    this.link(t, size);
    return true;
  }

  /** Grows the used block `p` to `s` bytes into a free right neighbour; false when that is too small. */
  private growInPlace(p: number, h: number, s: number, bias: number): boolean {
    const m = this.m;
    const cur = h & SIZE_MASK;
    const q = p + cur;
    const qh = m[(q >> 2) - 1]!;
    if ((qh & FREE) === 0 || cur + (qh & SIZE_MASK) < s) return false;
    const qs = qh & SIZE_MASK;
    this.unlink(q, qs);
    m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31));
    this.carve(p, cur + qs, s, h & PREV_FREE, bias);
    return true;
  }

  // -------------------------------------------------------------- spans

  /**
   * Leases a span whose single free block holds `need` bytes, files that
   * block and returns it. Views are replaced when the memory grows: callers
   * re-read them. Throws OutOfMemoryError naming `size` and `align`.
   */
  private lease(need: number, size: number, align: number): number {
    if (this.unsubscribe === undefined) throw this.destroyedError("allocate");
    const pageSize = this.pageSize;
    let bytes = this.spanBytes;
    if (bytes - firstPayloadOffset(bytes, false) < need) {
      bytes = Math.ceil((need + firstPayloadOffset(need, false)) / pageSize) * pageSize;
      while (bytes - firstPayloadOffset(bytes, false) < need) bytes += pageSize;
    }
    let base: Ptr;
    try {
      base = this.pages.allocate(bytes);
    } catch (cause) {
      if (cause instanceof OutOfMemoryError) throw this.outOfMemory(size, align, `leasing a ${formatBytes(bytes)} span failed`, cause);
      throw cause;
    }
    this.pages.setTag(base, this.ownerId, base >>> this.pageShift);
    return this.initSpan(base, bytes, spanColor(base, bytes - firstPayloadOffset(bytes, false) - need));
  }

  /**
   * Writes the span header, clears the bitmap, links the span and files its
   * one free block (returned), which starts `flags & SPAN_COLOR_MASK` bytes
   * after the span's metadata (see SPAN_COLOR_MASK).
   */
  private initSpan(base: number, bytes: number, flags: number): number {
    const m = this.m;
    const r = this.r;
    const bw = base >> 2;
    m.fill(0, bw, bw + SPAN_BITMAP_W + bitmapBytes(bytes) / 4);
    const p = base + firstPayloadOffset(bytes, (flags & SPAN_HOME) !== 0) + (flags & SPAN_COLOR_MASK);
    const area = base + bytes - p;
    const first = m[r + C_FIRST_SPAN]!;
    m[bw + SPAN_MAGIC_W] = SPAN_MAGIC;
    m[bw + SPAN_BYTES_W] = bytes;
    m[bw + SPAN_PREV_W] = 0;
    m[bw + SPAN_NEXT_W] = first;
    m[bw + SPAN_AREA_W] = area;
    m[bw + SPAN_FIRST_W] = p;
    m[bw + SPAN_CONTROL_W] = this.controlPtr;
    m[bw + SPAN_FLAGS_W] = flags;
    if (first !== 0) m[(first >> 2) + SPAN_PREV_W] = base;
    m[r + C_FIRST_SPAN] = base;
    m[r + C_SPAN_COUNT]!++;
    m[r + C_RESERVED]! += bytes;
    const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
    const pw = p >> 2;
    m[pw - 2] = 0;
    m[pw - 1] = area | FREE;
    m[pw + 2] = bias;
    m[((p + area) >> 2) - 2] = p;
    m[((base + bytes) >> 2) - 1] = PREV_FREE; // sentinel: size 0, used
    m[bias + (p >>> 8)]! |= 1 << ((p >>> 3) & 31);
    this.link(p, area);
    return p;
  }

  /**
   * The span at `base` just became one free block. Hysteresis: the home span
   * stays, one empty span of the usual size stays cached, oversized spans and
   * any further empty span go back to the page allocator.
   */
  private spanEmptied(base: number): void {
    const m = this.m;
    const bw = base >> 2;
    if ((m[bw + SPAN_FLAGS_W]! & SPAN_HOME) !== 0) return;
    const cached = m[this.r + C_EMPTY_SPAN]!;
    if (m[bw + SPAN_BYTES_W]! > this.spanBytes || (cached !== 0 && cached !== base && this.isEmpty(cached))) {
      this.returnSpan(base);
    } else {
      m[this.r + C_EMPTY_SPAN] = base;
    }
  }

  private isEmpty(base: number): boolean {
    const m = this.m;
    const bw = base >> 2;
    const h = m[(m[bw + SPAN_FIRST_W]! >> 2) - 1]!;
    return (h & FREE) !== 0 && (h & SIZE_MASK) === m[bw + SPAN_AREA_W];
  }

  /** Unfiles the span's one free block, unlinks the span and gives it back to the page allocator. */
  private returnSpan(base: number): void {
    const m = this.m;
    const r = this.r;
    const bw = base >> 2;
    this.unlink(m[bw + SPAN_FIRST_W]!, m[bw + SPAN_AREA_W]!);
    const prev = m[bw + SPAN_PREV_W]!;
    const next = m[bw + SPAN_NEXT_W]!;
    if (prev !== 0) m[(prev >> 2) + SPAN_NEXT_W] = next;
    else m[r + C_FIRST_SPAN] = next;
    if (next !== 0) m[(next >> 2) + SPAN_PREV_W] = prev;
    if (m[r + C_EMPTY_SPAN] === base) m[r + C_EMPTY_SPAN] = 0;
    m[r + C_SPAN_COUNT]!--;
    m[r + C_RESERVED]! -= m[bw + SPAN_BYTES_W]!;
    m[bw + SPAN_MAGIC_W] = 0;
    this.pages.deallocate(base);
  }

  // -------------------------------------------------------------- pointers

  /** The span base of the live block at `ptr`, or -1. Exact, O(1), never throws. */
  private spanOfLive(ptr: Ptr): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr >= this.limit) return -1;
    const m = this.m;
    const tag = m[this.tagW + (ptr >>> this.pageShift)]!;
    if (tag >>> 24 !== this.ownerId) return -1;
    const base = (tag & 0xff_ffff) << this.pageShift;
    const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
    if ((m[bias + (ptr >>> 8)]! & (1 << ((ptr >>> 3) & 31))) === 0) return -1;
    return (m[(ptr >> 2) - 1]! & FREE) === 0 ? base : -1;
  }

  /** The span base of the live block at `ptr`; throws InvalidPointerError / DoubleFreeError otherwise. */
  private liveSpan(ptr: Ptr, op: string): number {
    const base = this.spanOfLive(ptr);
    if (base < 0) throw this.rejected(ptr, op);
    return base;
  }

  /** Builds the error for a pointer that failed the O(1) check, explaining why (cold path). */
  private rejected(ptr: Ptr, op: string): AllocatorError {
    const who = `${this.name}.${op}`;
    validatePointerShape(who, ptr);
    if (this.unsubscribe === undefined) return this.destroyedError(op);
    if ((ptr & 7) !== 0) return invalidPointer(who, ptr, "heap blocks start on 8-byte boundaries");
    const tag = ptr < this.limit ? this.pages.tagOf(ptr) : 0;
    const owner = tag >>> 24;
    if (owner !== this.ownerId) {
      return invalidPointer(who, ptr, owner === 0 ? "not inside any span this heap leased" : `inside a span owned by ${this.pages.ownerName(owner)}`);
    }
    const m = this.m;
    const base = (tag & 0xff_ffff) << this.pageShift;
    const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
    if ((m[bias + (ptr >>> 8)]! & (1 << ((ptr >>> 3) & 31))) !== 0) {
      const h = m[(ptr >> 2) - 1]!;
      return new DoubleFreeError(`${who}: ${hex(ptr)} was already freed (a free block of ${(h & SIZE_MASK) - 4} B starts there).`);
    }
    // The nearest block start below ptr: scan the bitmap down from ptr's bit.
    const bitmap = (base >> 2) + SPAN_BITMAP_W;
    const g = (ptr - base) >>> 3;
    let w = g >>> 5;
    let bits = m[bitmap + w]! & ((1 << (g & 31)) - 1);
    while (bits === 0 && w > 0) bits = m[bitmap + --w]!;
    const containing = bits === 0 ? 0 : base + ((w << 5) + 31 - Math.clz32(bits)) * 8;
    const h = containing === 0 ? 0 : m[(containing >> 2) - 1]!;
    const usable = (h & SIZE_MASK) - 4;
    if (containing === 0 || ptr >= containing + usable) {
      return invalidPointer(who, ptr, "inside this heap's span but not inside any block (a span header, bitmap, control block or the unused bytes before the first block)");
    }
    if ((h & FREE) !== 0) {
      return invalidPointer(
        who,
        ptr,
        `it points +${ptr - containing} into the free block ${hex(containing)} (${usable} B): a stale pointer, or a block freed twice after merging with a neighbour`,
      );
    }
    return invalidPointer(who, ptr, `an interior pointer, +${ptr - containing} into the live block ${hex(containing)} (${usable} B)`);
  }

  private outOfMemory(size: number, align: number, why: string, cause?: unknown): OutOfMemoryError {
    const s = this.stats();
    return new OutOfMemoryError(
      `${this.name}: cannot allocate ${formatSize(size)} (align ${align}): ${why}. ` +
        `${formatBytes(s.liveBytes)} live in ${s.liveCount} blocks, ${formatBytes(s.reservedBytes)} reserved.\n` +
        (size > MAX_REQUEST
          ? `  Blocks above ${formatBytes(MAX_REQUEST)} belong in the page allocator.`
          : `  Free blocks, or raise the address space's maximumBytes.`),
      cause === undefined ? undefined : { cause },
    );
  }

  private destroyedError(op: string): DestroyedError {
    return destroyedError(`${this.name}.${op}`, `this heap handle was ${this.endedAs}`, "create a new heap, or attach a new handle to a heap that still exists.");
  }
}
