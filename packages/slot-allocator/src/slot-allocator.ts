import {
  CorruptionError,
  type DestroyedError,
  DoubleFreeError,
  OutOfMemoryError,
  DEFAULT_ALIGN,
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
import {
  CLASS_SHIFT,
  CURRENT,
  C_ALLOCS_F64,
  C_COUNT,
  C_CURRENT,
  C_FREES_F64,
  C_LINK_AT,
  C_PARTIAL,
  C_PARTIAL_COUNT,
  C_SIZE,
  C_SLABS,
  FULL,
  LAYOUT_VERSION,
  MAGIC_TEXT,
  PARTIAL,
  SLAB_HEADER_BYTES,
  SLAB_MAGIC_TEXT,
  SPARE,
  STATE_NAMES,
  S_ALL_NEXT,
  S_ALL_PREV,
  S_BASE,
  S_BUMP,
  S_CLASS,
  S_COUNT,
  S_FREE,
  S_LINK_AT,
  S_MAGIC,
  S_NEXT,
  S_PREV,
  S_SIZE,
  S_STATE,
  S_USED,
  W_ALL_HEAD,
  W_CACHE_CLASS,
  W_CACHE_PTR,
  W_CLASSES,
  W_CLASS_COUNT,
  W_KEEP_EMPTY,
  W_LEASED_F64,
  W_MAX_SLOT,
  W_OWNER,
  W_PAGE_SHIFT,
  W_PEAK_F64,
  W_RETURNED_F64,
  W_SLAB_BYTES,
  W_SLAB_COUNT,
  W_SPARE_COUNT,
  W_SPARE_HEAD,
  bitmapWords,
  controlBytesFor,
  linkAtFor,
  slotsPerSlab,
} from "./layout.js";
import { resolveOptions, type SlotAllocatorOptions } from "./options.js";
import { buildClassLookup, sizeClasses } from "./size-classes.js";

const CONTROL_MAGIC = magic(MAGIC_TEXT);
const SLAB_MAGIC = magic(SLAB_MAGIC_TEXT) | 0;
/** Tag data is 24 bits; `(d - 1) >>> 0 < DATA_MAX` accepts 1..2^24-1 in one compare. */
const DATA_MAX = 0xff_ffff;

/**
 * Small blocks in size classes carved from slabs, with no per-block header.
 *
 * Each class (8..maxSlotSize bytes, at most 12.5% rounding waste, see
 * size-classes.ts) carves slabs leased from a {@link PageAllocator} into equal
 * slots. A pointer finds its slab in O(1) through the page map (the slab's
 * pages are tagged `ownerId << 24 | base >> pageShift`), and its slot through
 * one division. Every slab keeps a live bitmap, so a double free, a pointer
 * into the middle of a slot, a never-handed-out slot or a foreign pointer is
 * rejected exactly, in O(1), before anything changes.
 *
 * Slots come from the class's current slab (its free list, then slots never
 * handed out); an exhausted slab turns FULL and only rejoins its class's
 * partial list once a batch of its slots is free, so frees into full slabs
 * never touch a list. Empty slabs are kept as spares (up to keepEmptySlabs)
 * before going back to the page allocator.
 *
 * One freed slot is parked in the control block: an allocation of the same
 * class right after takes it without touching slab, bitmap or free list (the
 * common free-then-allocate pattern). A parked slot is free for every check:
 * freeing it again is a double free, owns() is false.
 *
 * All state lives in linear memory (layout.ts): the object is a handle.
 * allocate and deallocate are O(1) and create no JS objects; each updates one
 * stats counter (per class; totals are summed when stats() is read).
 */
export class SlotAllocator implements Allocator, Checkable, StorageReporting {
  readonly name: string;
  readonly space: AddressSpace;
  /** The page allocator slabs are leased from. */
  readonly pages: PageAllocator;
  /** The page-map owner id of every slab (from `pages.registerOwner(name)`). */
  readonly ownerId: number;
  /** Largest block served; larger requests throw OutOfMemoryError (use the generic allocator). */
  readonly maxSlotSize: number;
  /** Bytes per slab. */
  readonly slabBytes: number;
  /** Address of the control block (magic "SLOT", see layout.ts). */
  readonly controlPtr: Ptr;
  /** Slot sizes of the classes, ascending. */
  readonly classSizes: readonly number[];

  // Views over the space, refreshed by the onGrow listener only.
  private i32: Int32Array;
  private f64: Float64Array;
  private u8: Uint8Array;
  /** (size + 7) >>> 3 -> class index. */
  private readonly classOf: Uint8Array;
  private readonly classSizeOf: Int32Array;
  /** Word index of the control block and of class record 0. */
  private readonly cw: number;
  private readonly classWord: number;
  private readonly classCount: number;
  /** Page map, read directly on the free path (the page allocator documents this for hot-path routing). */
  private readonly tagWordBase: number;
  private readonly pageShift: number;
  private readonly ownerTag: number;
  private readonly hdrOffset: number;
  private readonly slabAlign: number;
  private readonly controlBytes: number;
  /** Pointers at or above this are outside the page map; 0 once destroyed (every pointer then takes the slow path). */
  private addrLimit: number;
  /** Largest size the allocate fast path serves; -1 once destroyed. */
  private fastLimit: number;
  private unsubscribe: (() => void) | undefined;
  /** Unregisters {@link reclaim} from the page allocator. */
  private readonly unregisterReclaim: () => void;

  constructor(pages: PageAllocator, options: SlotAllocatorOptions = {}) {
    const o = resolveOptions(options, pages.pageSize);
    const classes = sizeClasses(o.maxSlotSize);
    this.name = o.name;
    this.space = pages.space;
    this.pages = pages;
    this.maxSlotSize = o.maxSlotSize;
    this.slabBytes = o.slabBytes;
    this.classSizes = Object.freeze(classes.slice());
    this.classCount = classes.length;
    this.classOf = buildClassLookup(classes);
    this.classSizeOf = Int32Array.from(classes);
    this.pageShift = pages.pageShift;
    this.tagWordBase = pages.tagWordBase;
    this.hdrOffset = o.slabBytes - SLAB_HEADER_BYTES;
    this.slabAlign = Math.min(o.maxSlotSize, 65536);
    this.controlBytes = controlBytesFor(classes.length);

    const ownerId = pages.registerOwner(o.name);
    const control = pages.allocate(this.controlBytes);
    pages.setTag(control, ownerId, 0);
    this.ownerId = ownerId;
    this.ownerTag = ownerId << 24;
    this.controlPtr = control;
    this.cw = control >>> 2;
    this.classWord = this.cw + W_CLASSES;

    const space = pages.space;
    this.i32 = space.i32;
    this.f64 = space.f64;
    this.u8 = space.u8;
    this.unsubscribe = space.onGrow(() => this.refreshViews());

    const i32 = this.i32;
    i32.fill(0, this.cw, this.cw + this.controlBytes / 4);
    writeControlHeader(space, control, CONTROL_MAGIC, LAYOUT_VERSION);
    i32[this.cw + W_OWNER] = ownerId;
    i32[this.cw + W_SLAB_BYTES] = o.slabBytes;
    i32[this.cw + W_MAX_SLOT] = o.maxSlotSize;
    i32[this.cw + W_CLASS_COUNT] = classes.length;
    i32[this.cw + W_PAGE_SHIFT] = pages.pageShift;
    i32[this.cw + W_KEEP_EMPTY] = o.keepEmptySlabs;
    i32[this.cw + W_CACHE_CLASS] = -1;
    for (let c = 0; c < classes.length; c++) {
      const rec = this.classWord + (c << CLASS_SHIFT);
      const size = classes[c]!;
      const count = slotsPerSlab(size, o.slabBytes);
      i32[rec + C_SIZE] = size;
      i32[rec + C_COUNT] = count;
      i32[rec + C_LINK_AT] = linkAtFor(count);
    }
    this.addrLimit = pages.range.limit;
    this.fastLimit = o.maxSlotSize;
    this.unregisterReclaim = pages.addReclaimer(() => this.reclaim());
  }

  // ------------------------------------------------------------- hot paths

  /**
   * A slot of the smallest class that holds `size` bytes and guarantees
   * `align`. Throws OutOfMemoryError for sizes above {@link maxSlotSize} or an
   * alignment no class guarantees (use the generic allocator), or when the
   * page allocator has no slab left.
   */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    // typeof before `>>>`, which throws TypeError on a BigInt or a Symbol: they get core's InvalidArgumentError.
    if (align !== 8 || typeof size !== "number" || size >>> 0 !== size || size > this.fastLimit) return this.allocateSlow(size, align);
    return this.take(this.classOf[(size + 7) >>> 3]!, size);
  }

  /** Frees the slot at `ptr`; 0 is a no-op. Foreign, interior and free-slot pointers throw and change nothing. */
  deallocate(ptr: Ptr): void {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr >= this.addrLimit) return this.rejectFree(ptr);
    const i32 = this.i32;
    const shift = this.pageShift;
    // 8 + 24 bits: owner << 24 | slab base >> pageShift. data 0 is the control block, never a slab.
    const d = i32[this.tagWordBase + (ptr >>> shift)]! ^ this.ownerTag;
    if ((d - 1) >>> 0 >= DATA_MAX) return this.rejectFree(ptr);
    const base = d << shift;
    const s = (base + this.hdrOffset) >>> 2;
    const off = ptr - base;
    const size = i32[s + S_SIZE]!;
    // An int32 division: measured faster here than a reciprocal multiply (it is off the critical path).
    const i = (off / size) | 0;
    if (i * size !== off || i >= i32[s + S_BUMP]!) return this.rejectFree(ptr);
    const w = s - 1 - (i >>> 5);
    const m = 1 << (i & 31);
    const bits = i32[w]!;
    if ((bits & m) === 0) return this.rejectFree(ptr);
    const cw = this.cw;
    const cached = i32[cw + W_CACHE_PTR]!;
    if (cached === ptr) return this.rejectFree(ptr);
    const c = i32[s + S_CLASS]!;
    this.f64[((this.classWord + (c << CLASS_SHIFT)) >>> 1) + (C_FREES_F64 >>> 1)]!++;
    if (cached === 0) {
      // Park it: if the next allocation asks for this class it takes the slot without touching the slab.
      i32[cw + W_CACHE_PTR] = ptr;
      i32[cw + W_CACHE_CLASS] = c;
      return;
    }
    i32[w] = bits ^ m;
    i32[ptr >>> 2] = i32[s + S_FREE]!;
    i32[s + S_FREE] = i + 1;
    const used = i32[s + S_USED]! - 1;
    i32[s + S_USED] = used;
    if (used === i32[s + S_LINK_AT]! || used === 0) this.afterFree(s, used);
  }

  /** Pops a slot of class `c` from the current slab (free list first, then never-used slots); refills when it is exhausted. */
  private take(c: number, size: number): Ptr {
    const i32 = this.i32;
    const rec = this.classWord + (c << CLASS_SHIFT);
    if (i32[this.cw + W_CACHE_CLASS] === c) {
      const cached = i32[this.cw + W_CACHE_PTR]!;
      i32[this.cw + W_CACHE_PTR] = 0;
      i32[this.cw + W_CACHE_CLASS] = -1;
      this.f64[(rec >>> 1) + (C_ALLOCS_F64 >>> 1)]!++;
      return cached;
    }
    const s = i32[rec + C_CURRENT]!;
    if (s !== 0) {
      const head = i32[s + S_FREE]!;
      let i: number;
      if (head !== 0) {
        i = head - 1;
        // A use-after-free write can scribble over a free slot's link: never hand out a slot the bitmap says is live.
        if (i >>> 0 >= i32[s + S_BUMP]! >>> 0) throw this.corruptFreeList(s, i);
      } else {
        i = i32[s + S_BUMP]!;
        if (i >= i32[s + S_COUNT]!) return this.refill(c, size);
        i32[s + S_BUMP] = i + 1;
      }
      const w = s - 1 - (i >>> 5);
      const m = 1 << (i & 31);
      const bits = i32[w]!;
      if ((bits & m) !== 0) throw this.corruptFreeList(s, i);
      const p = i32[s + S_BASE]! + i * i32[s + S_SIZE]!;
      if (head !== 0) i32[s + S_FREE] = i32[p >>> 2]!;
      i32[w] = bits | m;
      i32[s + S_USED]!++;
      this.f64[(rec >>> 1) + (C_ALLOCS_F64 >>> 1)]!++;
      return p;
    }
    return this.refill(c, size);
  }

  // ------------------------------------------------------------ slow paths

  private allocateSlow(size: number, align: number): Ptr {
    validateAllocation(this.name, size, align);
    if (this.fastLimit < 0) throw this.destroyedError("allocate");
    const c = this.classFor(size, align);
    if (c < 0) throw this.tooLarge(size, align);
    return this.take(c, size);
  }

  /** The smallest class holding `size` bytes whose slots are `align`-aligned, or -1. */
  private classFor(size: number, align: number): number {
    if (size > this.maxSlotSize) return -1;
    let c = this.classOf[(size + 7) >>> 3]!;
    if (align <= 8) return c;
    // Slab bases are aligned to at least maxSlotSize, so a class whose size is a multiple of align keeps every slot aligned.
    while (c < this.classCount && (this.classSizeOf[c]! & (align - 1)) !== 0) c++;
    return c < this.classCount ? c : -1;
  }

  /**
   * The current slab of class `c` is exhausted (or there is none): it turns
   * FULL and the next slab comes from the partial list, then the spare list,
   * then the page allocator. Nothing changes if leasing fails.
   */
  private refill(c: number, size: number): Ptr {
    let i32 = this.i32;
    const rec = this.classWord + (c << CLASS_SHIFT);
    const old = i32[rec + C_CURRENT]!;
    let s = i32[rec + C_PARTIAL]!;
    if (s !== 0) {
      this.unlinkPartial(s);
    } else if (i32[this.cw + W_SPARE_HEAD]! !== 0) {
      s = i32[this.cw + W_SPARE_HEAD]!;
      i32[this.cw + W_SPARE_HEAD] = i32[s + S_NEXT]!;
      i32[this.cw + W_SPARE_COUNT]!--;
      this.formatSlab(s, c);
    } else {
      s = this.lease(c, size);
      i32 = this.i32;
      // A lease that grew the memory ran onGrow listeners: user code that may have
      // taken or freed slots of this class meanwhile. Start over from what is now there.
      if (i32[rec + C_CURRENT] !== old || i32[rec + C_PARTIAL] !== 0 || i32[this.cw + W_CACHE_CLASS] === c) {
        this.retire(s);
        return this.take(c, size);
      }
    }
    if (old !== 0) i32[old + S_STATE] = FULL;
    i32[s + S_STATE] = CURRENT;
    i32[s + S_NEXT] = 0;
    i32[s + S_PREV] = 0;
    i32[rec + C_CURRENT] = s;
    return this.take(c, size);
  }

  /** Leases, tags and formats a new slab for class `c`; returns its header word. */
  private lease(c: number, size: number): number {
    let base: Ptr;
    try {
      base = this.pages.allocate(this.slabBytes, this.slabAlign);
    } catch (cause) {
      if (!(cause instanceof OutOfMemoryError)) throw cause;
      const slot = this.classSizeOf[c]!;
      throw new OutOfMemoryError(
        `${this.name}: cannot allocate ${formatSize(size)}: no ${slot}-byte slot is free and the page allocator ` +
          `cannot lease another ${formatBytes(this.slabBytes)} slab (${this.i32[this.cw + W_SLAB_COUNT]!} slabs held).\n` +
          `  Free blocks, or raise the address space's maximumBytes.`,
        { cause },
      );
    }
    this.pages.setTag(base, this.ownerId, base >>> this.pageShift);
    const i32 = this.i32; // the lease may have grown the memory
    const s = (base + this.hdrOffset) >>> 2;
    i32[s + S_BASE] = base;
    i32[s + S_MAGIC] = SLAB_MAGIC;
    const first = i32[this.cw + W_ALL_HEAD]!;
    i32[s + S_ALL_NEXT] = first;
    i32[s + S_ALL_PREV] = 0;
    if (first !== 0) i32[first + S_ALL_PREV] = s;
    i32[this.cw + W_ALL_HEAD] = s;
    i32[this.cw + W_SLAB_COUNT]!++;
    this.f64[(this.cw + W_LEASED_F64) >>> 1]!++;
    this.formatSlab(s, c);
    this.samplePeak();
    return s;
  }

  /** Gives an empty slab's header and bitmap to class `c` (its slots stay uncarved until used). */
  private formatSlab(s: number, c: number): void {
    const i32 = this.i32;
    const rec = this.classWord + (c << CLASS_SHIFT);
    const count = i32[rec + C_COUNT]!;
    i32[s + S_FREE] = 0;
    i32[s + S_USED] = 0;
    i32[s + S_BUMP] = 0;
    i32[s + S_SIZE] = i32[rec + C_SIZE]!;
    i32[s + S_COUNT] = count;
    i32[s + S_LINK_AT] = i32[rec + C_LINK_AT]!;
    i32[s + S_CLASS] = c;
    i32.fill(0, s - bitmapWords(count), s);
    i32[rec + C_SLABS]!++;
  }

  /** A free left slab `s` with `used` slots: at the link mark a FULL slab rejoins its partial list; at 0 it is retired. */
  private afterFree(s: number, used: number): void {
    const i32 = this.i32;
    const state = i32[s + S_STATE]!;
    if (state === CURRENT) return; // the current slab stays, even empty: a free/alloc pair never re-leases it
    if (used === 0) {
      if (state === PARTIAL) this.unlinkPartial(s);
      this.retire(s);
    } else if (state === FULL) {
      const rec = this.classWord + (i32[s + S_CLASS]! << CLASS_SHIFT);
      const first = i32[rec + C_PARTIAL]!;
      i32[s + S_NEXT] = first;
      i32[s + S_PREV] = 0;
      if (first !== 0) i32[first + S_PREV] = s;
      i32[rec + C_PARTIAL] = s;
      i32[rec + C_PARTIAL_COUNT]!++;
      i32[s + S_STATE] = PARTIAL;
    }
  }

  private unlinkPartial(s: number): void {
    const i32 = this.i32;
    const rec = this.classWord + (i32[s + S_CLASS]! << CLASS_SHIFT);
    const next = i32[s + S_NEXT]!;
    const prev = i32[s + S_PREV]!;
    if (next !== 0) i32[next + S_PREV] = prev;
    if (prev !== 0) i32[prev + S_NEXT] = next;
    else i32[rec + C_PARTIAL] = next;
    i32[s + S_NEXT] = 0;
    i32[s + S_PREV] = 0;
    i32[rec + C_PARTIAL_COUNT]!--;
  }

  /** An empty slab leaves its class: onto the spare list while it has room, else back to the page allocator. */
  private retire(s: number): void {
    const i32 = this.i32;
    const cw = this.cw;
    i32[this.classWord + (i32[s + S_CLASS]! << CLASS_SHIFT) + C_SLABS]!--;
    if (i32[cw + W_SPARE_COUNT]! < i32[cw + W_KEEP_EMPTY]!) {
      i32[s + S_STATE] = SPARE;
      i32[s + S_NEXT] = i32[cw + W_SPARE_HEAD]!;
      i32[cw + W_SPARE_HEAD] = s;
      i32[cw + W_SPARE_COUNT]!++;
      return;
    }
    this.release(s);
  }

  /** Unlinks slab `s` from the all-slabs list and returns its pages. */
  private release(s: number): void {
    const i32 = this.i32;
    const next = i32[s + S_ALL_NEXT]!;
    const prev = i32[s + S_ALL_PREV]!;
    if (next !== 0) i32[next + S_ALL_PREV] = prev;
    if (prev !== 0) i32[prev + S_ALL_NEXT] = next;
    else i32[this.cw + W_ALL_HEAD] = next;
    i32[this.cw + W_SLAB_COUNT]!--;
    this.f64[(this.cw + W_RETURNED_F64) >>> 1]!++;
    const base = i32[s + S_BASE]!;
    i32[s + S_MAGIC] = 0;
    this.pages.deallocate(base);
  }

  private refreshViews(): void {
    const space = this.space;
    this.i32 = space.i32;
    this.f64 = space.f64;
    this.u8 = space.u8;
  }

  // ------------------------------------------------------------- lookups

  /**
   * Header word of the slab holding the live slot that starts at `ptr`, or 0
   * when `ptr` is not one. O(1): page map, one division, one bitmap bit.
   */
  private liveSlab(ptr: Ptr): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr >= this.addrLimit) return 0;
    const i32 = this.i32;
    const shift = this.pageShift;
    const d = i32[this.tagWordBase + (ptr >>> shift)]! ^ this.ownerTag;
    if ((d - 1) >>> 0 >= DATA_MAX) return 0;
    const base = d << shift;
    const s = (base + this.hdrOffset) >>> 2;
    const off = ptr - base;
    const size = i32[s + S_SIZE]!;
    const i = (off / size) | 0;
    if (i * size !== off || i >= i32[s + S_BUMP]!) return 0;
    if ((i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) === 0 || ptr === i32[this.cw + W_CACHE_PTR]) return 0;
    return s;
  }

  /** Throws the precise error for a pointer that is not a live slot start (deallocate's slow path). */
  private rejectFree(ptr: Ptr): void {
    if (ptr === 0) return;
    this.explain(ptr, "deallocate");
  }

  /** Throws InvalidPointerError (or DoubleFreeError when deallocating a freed slot) saying what `ptr` is. */
  private explain(ptr: Ptr, op: string): never {
    const who = `${this.name}.${op}`;
    validatePointerShape(who, ptr);
    if (this.fastLimit < 0) throw this.destroyedError(op);
    const limit = this.pages.range.limit;
    if (ptr >= limit) throw invalidPointer(who, ptr, `past the end of the page map at ${hex(limit)}`);
    const tag = this.pages.tagOf(ptr);
    const owner = tag >>> 24;
    const data = tag & DATA_MAX;
    if (tag === 0) throw invalidPointer(who, ptr, "not in a slab: the page is free, reserved or untagged");
    if (owner !== this.ownerId) throw invalidPointer(who, ptr, `in pages owned by "${this.pages.ownerName(owner)}", not in a slab of this allocator`);
    if (data === 0) throw invalidPointer(who, ptr, "inside the slot allocator's control block");
    const base = data << this.pageShift;
    const s = (base + this.hdrOffset) >>> 2;
    const i32 = this.i32;
    const size = i32[s + S_SIZE]!;
    const off = ptr - base;
    const i = Math.floor(off / size);
    const slab = `slab ${hex(base)} (${size}-byte slots)`;
    if (i >= i32[s + S_COUNT]!) throw invalidPointer(who, ptr, `in the bitmap/header area at the end of ${slab}`);
    if (i * size !== off) throw invalidPointer(who, ptr, `${off - i * size} bytes into the slot at ${hex(base + i * size)} of ${slab}`);
    if (i >= i32[s + S_BUMP]!) throw invalidPointer(who, ptr, `slot ${i} of ${slab} was never handed out`);
    const live = (i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) !== 0;
    const parked = ptr === i32[this.cw + W_CACHE_PTR];
    if (live && !parked) throw new CorruptionError(`${who}: ${hex(ptr)} is a live slot (slot ${i} of ${slab}) that the fast path refused: the slab header is inconsistent.`);
    if (op === "deallocate") throw new DoubleFreeError(`${who}: ${hex(ptr)} was already freed (slot ${i} of ${slab}).`);
    throw invalidPointer(who, ptr, `slot ${i} of ${slab} is free`);
  }

  /** Usable bytes of the live slot at `ptr`: its class's slot size. */
  allocatedSize(ptr: Ptr): number {
    const s = this.liveSlab(ptr);
    if (s === 0) this.explain(ptr, "allocatedSize");
    return this.i32[s + S_SIZE]!;
  }

  /** True when `ptr` is the start of a live slot handed out by this allocator. */
  owns(ptr: Ptr): boolean {
    return this.liveSlab(ptr) !== 0;
  }

  /**
   * Stays in place while the new size (and align) maps to the same class;
   * otherwise moves to the right class, copying min(old, new) slot bytes. A
   * size above {@link maxSlotSize} throws OutOfMemoryError and keeps the block.
   */
  reallocate(ptr: Ptr, newSize: number, align: number = DEFAULT_ALIGN): Ptr {
    validateAllocation(this.name, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    const s = this.liveSlab(ptr);
    if (s === 0) this.explain(ptr, "reallocate");
    const c = this.classFor(newSize, align);
    if (c < 0) throw this.tooLarge(newSize, align);
    const oldSize = this.i32[s + S_SIZE]!;
    if (c === this.i32[s + S_CLASS]!) return ptr;
    const moved = this.take(c, newSize);
    this.u8.copyWithin(moved, ptr, ptr + Math.min(oldSize, this.classSizeOf[c]!));
    this.deallocate(ptr);
    return moved;
  }

  // ------------------------------------------------------------- reports

  /**
   * Derived from one counter per class and operation. liveBytes counts slot
   * sizes (usable sizes, not sizes asked for). peakLiveBytes is sampled: the
   * highest liveBytes seen when a slab was leased or stats()/storageReport()
   * ran, so a peak reached and left between those moments without leasing a
   * slab is not seen (wrap in a trace scope for an exact peak). reservedBytes
   * is the slabs held (spares included) plus the control block.
   */
  stats(): AllocatorStats {
    const i32 = this.i32;
    const f64 = this.f64;
    let allocs = 0;
    let frees = 0;
    let liveBytes = 0;
    for (let c = 0; c < this.classCount; c++) {
      const rec = this.classWord + (c << CLASS_SHIFT);
      const a = f64[(rec + C_ALLOCS_F64) >>> 1]!;
      const f = f64[(rec + C_FREES_F64) >>> 1]!;
      allocs += a;
      frees += f;
      liveBytes += (a - f) * i32[rec + C_SIZE]!;
    }
    return {
      liveBytes,
      liveCount: allocs - frees,
      peakLiveBytes: this.samplePeak(liveBytes),
      allocCount: allocs,
      freeCount: frees,
      reservedBytes: this.reservedBytes(),
    };
  }

  /** Forgets the peak: it restarts from the bytes live now. */
  resetPeak(): void {
    this.f64[(this.cw + W_PEAK_F64) >>> 1] = 0;
    this.samplePeak();
  }

  /**
   * Free slots by size. largestFreeBlock is the largest slot size an
   * allocation could get without leasing a slab (a class whose current or
   * partial slab has a free slot; any class when a spare slab is kept).
   * Slots idle in FULL slabs count as free but are not allocatable until
   * their slab rejoins the partial list.
   */
  storageReport(): StorageReport {
    const i32 = this.i32;
    let used = 0;
    let free = 0;
    let largest = 0;
    const histogram: number[] = [];
    this.forEachSlab((s) => {
      const size = i32[s + S_SIZE]!;
      const idle = i32[s + S_COUNT]! - i32[s + S_USED]!;
      used += i32[s + S_USED]! * size;
      free += idle * size;
      if (idle > 0) {
        const bucket = 31 - Math.clz32(size);
        while (histogram.length <= bucket) histogram.push(0);
        histogram[bucket]! += idle;
      }
      const state = i32[s + S_STATE]!;
      if (idle > 0 && (state === CURRENT || state === PARTIAL)) largest = Math.max(largest, size);
    });
    const parkedClass = i32[this.cw + W_CACHE_CLASS]!;
    if (parkedClass >= 0) {
      // The parked slot is free, though its slab still counts it as used.
      const size = this.classSizeOf[parkedClass]!;
      used -= size;
      free += size;
      const bucket = 31 - Math.clz32(size);
      while (histogram.length <= bucket) histogram.push(0);
      histogram[bucket]!++;
      largest = Math.max(largest, size);
    }
    if (i32[this.cw + W_SPARE_COUNT]! > 0) largest = this.maxSlotSize;
    this.stats(); // samples the peak
    return {
      reservedBytes: this.reservedBytes(),
      usedBytes: used,
      totalFreeBytes: free,
      largestFreeBlock: largest,
      freeHistogram: histogram,
      fragmentation: free === 0 ? 0 : 1 - largest / free,
    };
  }

  /**
   * Visits every slab (spares included) for reports and memory maps:
   * its base address, bytes, slot size (0 for a spare) and slots in use.
   * The parked slot counts as in use here. Cold path.
   */
  walkSlabs(visit: (base: Ptr, bytes: number, slotSize: number, usedSlots: number) => void): void {
    const i32 = this.i32;
    this.forEachSlab((s) => {
      const state = i32[s + S_STATE]!;
      visit(i32[s + S_BASE]! >>> 0, this.slabBytes, state === SPARE ? 0 : i32[s + S_SIZE]!, state === SPARE ? 0 : i32[s + S_USED]!);
    });
  }

  /** Slabs held (spares included), and how many were ever leased and returned. */
  slabStats(): { slabs: number; spares: number; leased: number; returned: number } {
    return {
      slabs: this.i32[this.cw + W_SLAB_COUNT]!,
      spares: this.i32[this.cw + W_SPARE_COUNT]!,
      leased: this.f64[(this.cw + W_LEASED_F64) >>> 1]!,
      returned: this.f64[(this.cw + W_RETURNED_F64) >>> 1]!,
    };
  }

  private reservedBytes(): number {
    return this.i32[this.cw + W_SLAB_COUNT]! * this.slabBytes + this.pages.allocatedSize(this.controlPtr);
  }

  /** Records max(peak, live bytes now) and returns it. */
  private samplePeak(liveBytes = this.liveBytesNow()): number {
    const at = (this.cw + W_PEAK_F64) >>> 1;
    const peak = Math.max(this.f64[at]!, liveBytes);
    this.f64[at] = peak;
    return peak;
  }

  private liveBytesNow(): number {
    let live = 0;
    for (let c = 0; c < this.classCount; c++) {
      const rec = this.classWord + (c << CLASS_SHIFT);
      live += (this.f64[(rec + C_ALLOCS_F64) >>> 1]! - this.f64[(rec + C_FREES_F64) >>> 1]!) * this.i32[rec + C_SIZE]!;
    }
    return live;
  }

  /** Visits every slab's header word (all-slabs list, bounded so a cycle cannot hang). */
  private forEachSlab(visit: (s: number) => void): void {
    const i32 = this.i32;
    const total = i32[this.cw + W_SLAB_COUNT]!;
    let n = 0;
    for (let s = i32[this.cw + W_ALL_HEAD]!; s !== 0; s = this.i32[s + S_ALL_NEXT]!) {
      if (++n > total) throw this.corrupt(s, `the all-slabs list holds more than the ${total} slabs counted (a cycle?)`);
      visit(s);
    }
  }

  // ------------------------------------------------------------- checking

  /**
   * Walks every slab: header against its class, page-map tag, bitmap against
   * free list (no repeats, only carved free slots, lengths add up), used
   * counts, the class's current slab and partial list, the spare list, and
   * per-class counters against the slabs. Throws CorruptionError naming the
   * slab (in hex) and the broken invariant.
   */
  check(): void {
    const i32 = this.i32;
    const f64 = this.f64;
    const cw = this.cw;
    if (i32[cw]! >>> 0 !== CONTROL_MAGIC || i32[cw + 1] !== LAYOUT_VERSION) {
      throw new CorruptionError(`${this.name}: control block at ${hex(this.controlPtr)} lost its magic/version header.`);
    }
    const classSlabs = new Array<number>(this.classCount).fill(0);
    const classUsed = new Array<number>(this.classCount).fill(0);
    const classPartial = new Array<number>(this.classCount).fill(0);
    let spares = 0;
    let prev = 0;
    this.forEachSlab((s) => {
      const base = i32[s + S_BASE]!;
      if (i32[s + S_ALL_PREV] !== prev) throw this.corrupt(s, "all-slabs back link is wrong");
      prev = s;
      if (i32[s + S_MAGIC] !== SLAB_MAGIC) throw this.corrupt(s, `header magic is ${hex(i32[s + S_MAGIC]! >>> 0)}, not "SLAB"`);
      if ((base + this.hdrOffset) >>> 2 !== s || base % this.slabAlign !== 0) throw this.corrupt(s, `header base ${hex(base)} does not match its position`);
      const wantTag = ((this.ownerId << 24) | (base >>> this.pageShift)) >>> 0;
      for (let page = base; page < base + this.slabBytes; page += this.pages.pageSize) {
        if (this.pages.tagOf(page) !== wantTag) throw this.corrupt(s, `page ${hex(page)} carries tag ${hex(this.pages.tagOf(page))}, expected ${hex(wantTag)}`);
      }
      const state = i32[s + S_STATE]!;
      const c = i32[s + S_CLASS]!;
      if (c < 0 || c >= this.classCount) throw this.corrupt(s, `class index ${c} out of range`);
      const rec = this.classWord + (c << CLASS_SHIFT);
      const size = i32[s + S_SIZE]!;
      const count = i32[s + S_COUNT]!;
      const linkAt = i32[s + S_LINK_AT]!;
      if (size !== i32[rec + C_SIZE] || count !== i32[rec + C_COUNT] || linkAt !== i32[rec + C_LINK_AT]) {
        throw this.corrupt(s, `slot size/count/link mark ${size}/${count}/${linkAt} differ from class ${c} (${i32[rec + C_SIZE]}/${i32[rec + C_COUNT]}/${i32[rec + C_LINK_AT]})`);
      }
      const used = i32[s + S_USED]!;
      const bump = i32[s + S_BUMP]!;
      if (bump < 0 || bump > count) throw this.corrupt(s, `${bump} slots carved of ${count}`);
      if (used < 0 || used > bump) throw this.corrupt(s, `used count ${used} outside 0..${bump} carved slots`);
      this.checkSlots(s, count, bump, used);
      switch (state) {
        case CURRENT:
          if (i32[rec + C_CURRENT] !== s) throw this.corrupt(s, `marked current but class ${c}'s current slab is ${hex(i32[rec + C_CURRENT]! << 2)}`);
          break;
        case PARTIAL:
          if (used === 0 || used > linkAt) throw this.corrupt(s, `on the partial list with ${used} used slots (expected 1..${linkAt})`);
          classPartial[c]!++;
          break;
        case FULL:
          if (used <= linkAt) throw this.corrupt(s, `full with only ${used} used slots: it should have rejoined the partial list at ${linkAt}`);
          break;
        case SPARE:
          if (used !== 0) throw this.corrupt(s, `spare with ${used} used slots`);
          spares++;
          return;
        default:
          throw this.corrupt(s, `unknown state ${state}`);
      }
      classSlabs[c]!++;
      classUsed[c]! += used;
    });
    let walked = 0;
    this.forEachSlab(() => walked++);
    if (walked !== i32[cw + W_SLAB_COUNT]) throw new CorruptionError(`${this.name}: ${i32[cw + W_SLAB_COUNT]} slabs counted, ${walked} on the all-slabs list.`);

    for (let c = 0; c < this.classCount; c++) {
      const rec = this.classWord + (c << CLASS_SHIFT);
      const what = `class ${c} (${i32[rec + C_SIZE]}-byte slots)`;
      const current = i32[rec + C_CURRENT]!;
      if (current !== 0 && (i32[current + S_STATE] !== CURRENT || i32[current + S_CLASS] !== c || i32[current + S_MAGIC] !== SLAB_MAGIC)) {
        throw this.corrupt(current, `is ${what}'s current slab but its header says otherwise`);
      }
      let n = 0;
      let back = 0;
      for (let s = i32[rec + C_PARTIAL]!; s !== 0; s = i32[s + S_NEXT]!) {
        if (i32[s + S_STATE] !== PARTIAL || i32[s + S_CLASS] !== c) throw this.corrupt(s, `on ${what}'s partial list but not a partial slab of it`);
        if (i32[s + S_PREV] !== back) throw this.corrupt(s, `partial-list back link is wrong in ${what}`);
        if (++n > classPartial[c]!) throw this.corrupt(s, `${what}'s partial list is longer than its ${classPartial[c]} partial slabs (a cycle?)`);
        back = s;
      }
      if (n !== classPartial[c] || n !== i32[rec + C_PARTIAL_COUNT]) {
        throw new CorruptionError(`${this.name}: ${what} has ${classPartial[c]} partial slabs, ${n} on its list, ${i32[rec + C_PARTIAL_COUNT]} counted.`);
      }
      if (classSlabs[c] !== i32[rec + C_SLABS]) throw new CorruptionError(`${this.name}: ${what} counts ${i32[rec + C_SLABS]} slabs, ${classSlabs[c]} found.`);
      const live = f64[(rec + C_ALLOCS_F64) >>> 1]! - f64[(rec + C_FREES_F64) >>> 1]!;
      const held = classUsed[c]! - (i32[cw + W_CACHE_CLASS] === c ? 1 : 0);
      if (live !== held) throw new CorruptionError(`${this.name}: ${what} counters say ${live} live slots, its slabs hold ${held}${held !== classUsed[c] ? " besides the parked one" : ""}.`);
    }
    this.checkParked();
    let n = 0;
    for (let s = i32[cw + W_SPARE_HEAD]!; s !== 0; s = i32[s + S_NEXT]!) {
      if (i32[s + S_STATE] !== SPARE) throw this.corrupt(s, "on the spare list but not a spare slab");
      if (++n > spares) throw this.corrupt(s, "spare list longer than the spare slabs (a cycle?)");
    }
    if (n !== spares || n !== i32[cw + W_SPARE_COUNT]) {
      throw new CorruptionError(`${this.name}: ${spares} spare slabs, ${n} on the spare list, ${i32[cw + W_SPARE_COUNT]} counted.`);
    }
  }

  /** The parked slot must be a carved, still-marked slot of a slab of its class. */
  private checkParked(): void {
    const i32 = this.i32;
    const ptr = i32[this.cw + W_CACHE_PTR]!;
    const c = i32[this.cw + W_CACHE_CLASS]!;
    if (ptr === 0 && c === -1) return;
    const bad = (what: string): CorruptionError => new CorruptionError(`${this.name}: the parked slot ${hex(ptr >>> 0)} (class ${c}) ${what}.`);
    if (ptr === 0 || c < 0 || c >= this.classCount) throw bad("has a pointer/class pair where only one is set or the class is out of range");
    const d = this.pages.tagOf(ptr) ^ this.ownerTag;
    if ((d - 1) >>> 0 >= DATA_MAX) throw bad("is not in a slab of this allocator");
    const base = d << this.pageShift;
    const s = (base + this.hdrOffset) >>> 2;
    const size = i32[s + S_SIZE]!;
    const i = Math.floor((ptr - base) / size);
    if (i32[s + S_CLASS] !== c || i32[s + S_STATE] === SPARE) throw this.corrupt(s, `holds the parked slot ${hex(ptr)} of class ${c} but is not a slab of that class`);
    if (i * size !== ptr - base || i >= i32[s + S_BUMP]!) throw this.corrupt(s, `holds the parked pointer ${hex(ptr)}, which is not a carved slot start`);
    if ((i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) === 0) throw this.corrupt(s, `the parked slot ${hex(ptr)} is not marked in the bitmap`);
  }

  /** Bitmap against free list for one slab. */
  private checkSlots(s: number, count: number, bump: number, used: number): void {
    const i32 = this.i32;
    let live = 0;
    for (let i = 0; i < bitmapWords(count) * 32; i++) {
      const bit = (i32[s - 1 - (i >>> 5)]! >>> (i & 31)) & 1;
      if (bit === 0) continue;
      if (i >= bump) throw this.corrupt(s, `live bit set for slot ${i}, which was never handed out (${bump} carved)`);
      live++;
    }
    if (live !== used) throw this.corrupt(s, `bitmap holds ${live} live slots, used count says ${used}`);
    const seen = new Uint8Array(bump);
    const size = i32[s + S_SIZE]!;
    const base = i32[s + S_BASE]!;
    let listed = 0;
    for (let link = i32[s + S_FREE]!; link !== 0; ) {
      const i = link - 1;
      if (i < 0 || i >= bump) throw this.corrupt(s, `free list links to slot ${i}, outside the ${bump} carved slots`);
      if ((i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) !== 0) throw this.corrupt(s, `free list holds slot ${i} (${hex(base + i * size)}), which the bitmap says is live`);
      if (seen[i] !== 0) throw this.corrupt(s, `free list visits slot ${i} twice (a cycle)`);
      seen[i] = 1;
      listed++;
      link = i32[(base + i * size) >>> 2]!;
    }
    if (listed + used !== bump) throw this.corrupt(s, `${listed} free-list slots + ${used} used != ${bump} carved`);
  }

  // ------------------------------------------------------------- reclaim

  /**
   * Gives every slab that holds no live slot back to the page allocator: the
   * spares, and the current slabs of classes whose slabs emptied (kept so a
   * free/alloc pair never re-leases). The parked slot is freed into its slab
   * first, so it keeps nothing. Returns the bytes given back. The page
   * allocator calls this before an allocation fails anywhere in the memory.
   * O(classes + spare slabs).
   */
  reclaim(): number {
    if (this.unsubscribe === undefined) return 0;
    const i32 = this.i32;
    const cw = this.cw;
    const parked = i32[cw + W_CACHE_PTR]!;
    if (parked !== 0) {
      i32[cw + W_CACHE_PTR] = 0;
      i32[cw + W_CACHE_CLASS] = -1;
      this.unpark(parked);
    }
    let slabs = 0;
    for (let s = i32[cw + W_SPARE_HEAD]!; s !== 0; s = i32[cw + W_SPARE_HEAD]!) {
      i32[cw + W_SPARE_HEAD] = i32[s + S_NEXT]!;
      i32[cw + W_SPARE_COUNT]!--;
      this.release(s);
      slabs++;
    }
    for (let c = 0; c < this.classCount; c++) {
      const rec = this.classWord + (c << CLASS_SHIFT);
      const s = i32[rec + C_CURRENT]!;
      if (s === 0 || i32[s + S_USED] !== 0) continue;
      i32[rec + C_CURRENT] = 0;
      i32[rec + C_SLABS]!--;
      this.release(s);
      slabs++;
    }
    return slabs * this.slabBytes;
  }

  /** Frees the slot that was parked at `ptr` into its slab (its class counters already count it freed). */
  private unpark(ptr: number): void {
    const i32 = this.i32;
    const base = (i32[this.tagWordBase + (ptr >>> this.pageShift)]! & DATA_MAX) << this.pageShift;
    const s = (base + this.hdrOffset) >>> 2;
    const i = ((ptr - base) / i32[s + S_SIZE]!) | 0;
    i32[s - 1 - (i >>> 5)]! &= ~(1 << (i & 31));
    i32[ptr >>> 2] = i32[s + S_FREE]!;
    i32[s + S_FREE] = i + 1;
    const used = i32[s + S_USED]! - 1;
    i32[s + S_USED] = used;
    if (used === i32[s + S_LINK_AT]! || used === 0) this.afterFree(s, used);
  }

  // ------------------------------------------------------------- lifetime

  /**
   * Returns every slab and the control block to the page allocator and stops
   * listening to the space. Live blocks die with it; later calls throw.
   */
  destroy(): void {
    if (this.unsubscribe === undefined) return;
    const bases: number[] = [];
    this.forEachSlab((s) => bases.push(this.i32[s + S_BASE]!));
    for (const base of bases) this.pages.deallocate(base);
    this.i32[this.cw] = 0; // an attach to a dead block is refused
    this.pages.deallocate(this.controlPtr);
    this.unsubscribe();
    this.unsubscribe = undefined;
    this.unregisterReclaim();
    this.fastLimit = -1;
    this.addrLimit = 0;
  }

  // ------------------------------------------------------------- errors

  private tooLarge(size: number, align: number): OutOfMemoryError {
    const what = size > this.maxSlotSize ? `that is above the largest slot (${this.maxSlotSize} B)` : `no class up to ${this.maxSlotSize} B guarantees align ${align}`;
    return new OutOfMemoryError(
      `${this.name}: cannot allocate ${formatSize(size)} (align ${align}): ${what}.\n` +
        `  The slot allocator serves sizes 0..${this.maxSlotSize} with alignment up to the largest power of two dividing their class; ` +
        `use the generic allocator (@memkit/generic-allocator) or a heap for larger or more aligned blocks.`,
    );
  }

  private corruptFreeList(s: number, i: number): CorruptionError {
    return this.corrupt(s, `the free list hands out slot ${i}, which is ${i >>> 0 >= this.i32[s + S_BUMP]! >>> 0 ? "outside the carved slots" : "still live in the bitmap"}: a freed block was written to after deallocate`);
  }

  private corrupt(s: number, what: string): CorruptionError {
    const base = this.i32[s + S_BASE]!;
    const state = STATE_NAMES[this.i32[s + S_STATE]!] ?? "?";
    return new CorruptionError(`${this.name}: slab ${hex(base >>> 0)} (${this.i32[s + S_SIZE]}-byte slots, ${state}): ${what}.`);
  }

  private destroyedError(op: string): DestroyedError {
    return destroyedError(`${this.name}.${op}`, "this slot allocator was destroyed", "create a new one.");
  }
}

