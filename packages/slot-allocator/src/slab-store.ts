import { OutOfMemoryError, SpaceHandle, SpaceViews, formatBytes, formatSize, type AddressSpace, type CorruptionError, type Ptr, type ViewSet } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import type { SlotGeometry } from "./geometry.js";
import {
  CLASS_SHIFT,
  C_ALLOCS_F64,
  CURRENT,
  C_CURRENT,
  C_FREES_F64,
  C_PARTIAL,
  C_PARTIAL_COUNT,
  C_SLABS,
  DATA_MAX,
  D_LEASED,
  D_PEAK,
  D_RETURNED,
  FULL,
  PARTIAL,
  SPARE,
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
  W_PARKED_CLASS,
  W_PARKED_PTR,
  W_REMOTE_HEAD,
  W_SLAB_COUNT,
  W_SPARE_COUNT,
  W_SPARE_HEAD,
  bitmapWords,
} from "./layout.js";
import { SLAB_MAGIC, expectSlab, headerProblem, slabError } from "./slab-shape.js";
import { JS_PATHS, hotPathsFor, type FreeSlot, type MoveSlot, type TakeSlot } from "./hot-paths.js";

/**
 * The slabs of a slot allocator: leasing, formatting, the partial and spare
 * lists, retiring and returning empty slabs, reclaim. The base of
 * {@link SlotAllocator}, which adds the hot paths and the public API; both
 * work on the state in linear memory through the views kept here.
 */
export abstract class SlabStore extends SpaceHandle {
  readonly name: string;
  /** The page allocator slabs are leased from. */
  readonly pages: PageAllocator;
  /** The page-map owner id of every slab and of the control block. */
  readonly ownerId: number;
  /** Largest block served; larger requests throw OutOfMemoryError (use the generic allocator). */
  readonly maxSlotSize: number;
  /** Bytes per slab. */
  readonly slabBytes: number;
  /** Slot sizes of the classes, ascending. */
  readonly classSizes: readonly number[];
  /** The sealed words, read once (see geometry.ts). */
  protected readonly geo: SlotGeometry;

  // Views over the space: the live ones, or SpaceViews.dead once the handle ended.
  protected i32: Int32Array = SpaceViews.dead.i32;
  protected f64: Float64Array = SpaceViews.dead.f64;
  // Constants the hot paths read as fields (copied from geo).
  protected readonly classSizeOf: Int32Array;
  /** Word index of the control block and of class record 0. */
  protected readonly cw: number;
  protected readonly classWord: number;
  protected readonly classCount: number;
  /** Page map, read directly on the free path (the page allocator documents this for hot-path routing). */
  protected readonly tagWordBase: number;
  protected readonly pageShift: number;
  protected readonly ownerTag: number;
  protected readonly hdrOffset: number;
  /** Pointers at or above this are outside the page map. */
  protected readonly addrLimit: number;
  // The hot paths in wasm (hot-paths.ts) and the byte addresses they take; JS stand-ins once the handle ended.
  protected fastTake: TakeSlot;
  protected fastFree: FreeSlot;
  protected fastMove: MoveSlot;
  protected readonly cwBytes: number;
  protected readonly classBytes: number;

  protected constructor(space: AddressSpace, geo: SlotGeometry, pages: PageAllocator, name: string) {
    super(space, geo.controlPtr);
    this.name = name;
    this.pages = pages;
    this.geo = geo;
    this.ownerId = geo.ownerId;
    this.maxSlotSize = geo.maxSlotSize;
    this.slabBytes = geo.slabBytes;
    this.classSizes = Object.freeze(Array.from(geo.sizes));
    this.classSizeOf = geo.sizes;
    this.cw = geo.cw;
    this.classWord = geo.classWord;
    this.classCount = geo.classCount;
    this.tagWordBase = geo.tagWordBase;
    this.pageShift = geo.pageShift;
    this.ownerTag = geo.ownerTag;
    this.hdrOffset = geo.hdrOffset;
    this.addrLimit = geo.slabLimit;
    this.cwBytes = geo.cw << 2;
    this.classBytes = geo.classWord << 2;
    const paths = hotPathsFor(space.memory, space.shared);
    this.fastTake = paths.take;
    this.fastFree = paths.free;
    this.fastMove = paths.move;
  }

  /** True when this handle's hot paths run as wasm (false where wasm cannot be compiled, and once the handle ended). */
  get wasmPaths(): boolean {
    return this.fastTake !== JS_PATHS.take;
  }

  refreshViews(views: ViewSet): void {
    this.i32 = views.i32;
    this.f64 = views.f64;
    // An ended handle must fail on JS's path (DestroyedError), never allocate through wasm's.
    if (views === SpaceViews.dead) {
      this.fastTake = JS_PATHS.take;
      this.fastFree = JS_PATHS.free;
      this.fastMove = JS_PATHS.move;
    }
  }

  /** Allocates a slot of class `c` from its current slab. */
  protected abstract take(c: number, size: number): Ptr;

  /** Frees the slots other threads put on the remote-free list; returns how many (see SlotAllocator). */
  abstract collectRemoteFrees(): number;

  /**
   * The current slab of class `c` is exhausted (or there is none): it turns
   * FULL and the next slab comes from the partial list, then the spare list,
   * then the page allocator. Nothing changes if leasing fails. A slab taken
   * from a list is checked first: a damaged link is a CorruptionError, never
   * a slab handed out twice.
   */
  protected refill(c: number, size: number): Ptr {
    this.assertAlive("allocate");
    // Slots other threads freed come back first: they may refill this class without a new slab.
    if (this.i32[this.cw + W_REMOTE_HEAD] !== 0 && this.collectRemoteFrees() > 0) return this.take(c, size);
    let i32 = this.i32;
    const rec = this.classWord + (c << CLASS_SHIFT);
    const old = i32[rec + C_CURRENT]!;
    let s = i32[rec + C_PARTIAL]!;
    if (s !== 0) {
      if (!this.fits(s, c, PARTIAL)) throw this.badLink(s, c, PARTIAL, `class ${c}'s partial list`);
      this.unlinkPartial(s);
    } else if (i32[this.cw + W_SPARE_HEAD]! !== 0) {
      s = i32[this.cw + W_SPARE_HEAD]!;
      this.expectSlab(s, "the spare list");
      if (i32[s + S_STATE] !== SPARE || i32[s + S_USED] !== 0) throw slabError(i32, this.name, s, "on the spare list but not an empty spare slab");
      i32[this.cw + W_SPARE_HEAD] = i32[s + S_NEXT]!;
      i32[this.cw + W_SPARE_COUNT]!--;
      this.formatSlab(s, c);
    } else {
      s = this.lease(c, size);
      i32 = this.i32;
      // A lease that grew the memory ran onGrow listeners: user code that may have
      // taken or freed slots of this class meanwhile. Start over from what is now there.
      if (i32[rec + C_CURRENT] !== old || i32[rec + C_PARTIAL] !== 0 || i32[this.cw + W_PARKED_CLASS] === c) {
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
      base = this.pages.allocate(this.slabBytes, this.geo.slabAlign);
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
    this.f64[(this.cw >>> 1) + D_LEASED]!++;
    this.formatSlab(s, c);
    this.samplePeak();
    return s;
  }

  /** Gives an empty slab's header and bitmap to class `c` (its slots stay uncarved until used). */
  private formatSlab(s: number, c: number): void {
    const i32 = this.i32;
    const count = this.geo.counts[c]!;
    i32[s + S_FREE] = 0;
    i32[s + S_USED] = 0;
    i32[s + S_BUMP] = 0;
    i32[s + S_SIZE] = this.classSizeOf[c]!;
    i32[s + S_COUNT] = count;
    i32[s + S_LINK_AT] = this.geo.linkAts[c]!;
    i32[s + S_CLASS] = c;
    i32.fill(0, s - bitmapWords(count), s);
    i32[this.classWord + (c << CLASS_SHIFT) + C_SLABS]!++;
  }

  /** A free left slab `s` with `used` slots: at the link mark a FULL slab rejoins its partial list; at 0 it is retired. */
  protected afterFree(s: number, used: number): void {
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
    if (i32[cw + W_SPARE_COUNT]! < this.geo.keepEmptySlabs) {
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
    this.f64[(this.cw >>> 1) + D_RETURNED]!++;
    const base = i32[s + S_BASE]!;
    i32[s + S_MAGIC] = 0;
    this.pages.deallocate(base);
  }

  /**
   * Gives every slab that holds no live slot back to the page allocator: the
   * spares, and the current slabs of classes whose slabs emptied (kept so a
   * free/alloc pair never re-leases). The parked slot is freed into its slab
   * first, so it keeps nothing. Returns the bytes given back. O(classes +
   * spare slabs).
   */
  protected reclaimSlabs(): number {
    const i32 = this.i32;
    const cw = this.cw;
    const parked = i32[cw + W_PARKED_PTR]!;
    if (parked !== 0) {
      i32[cw + W_PARKED_PTR] = 0;
      i32[cw + W_PARKED_CLASS] = -1;
      this.unpark(parked);
    }
    let slabs = 0;
    for (let s = i32[cw + W_SPARE_HEAD]!; s !== 0; s = i32[cw + W_SPARE_HEAD]!) {
      this.expectSlab(s, "the spare list");
      if (i32[s + S_STATE] !== SPARE) throw slabError(i32, this.name, s, "on the spare list but not a spare slab");
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

  /** Records max(peak, live bytes now) and returns it. */
  protected samplePeak(liveBytes = this.liveBytesNow()): number {
    const at = (this.cw >>> 1) + D_PEAK;
    const peak = Math.max(this.f64[at]!, liveBytes);
    this.f64[at] = peak;
    return peak;
  }

  /** Bytes of live slots, from the class counters. O(classes). */
  protected liveBytesNow(): number {
    let live = 0;
    for (let c = 0; c < this.classCount; c++) {
      const rec = this.classWord + (c << CLASS_SHIFT);
      live += (this.f64[(rec + C_ALLOCS_F64) >>> 1]! - this.f64[(rec + C_FREES_F64) >>> 1]!) * this.classSizeOf[c]!;
    }
    return live;
  }

  /**
   * A quick look at the slab a list leads to before it becomes current: its
   * magic, base, class fields and state. Together with the bitmap check on
   * every slot handed out, a damaged header or link cannot make a slab serve
   * a slot outside itself or a live one. (check() verifies the rest.)
   */
  private fits(s: number, c: number, state: number): boolean {
    const i32 = this.i32;
    return (
      i32[s + S_MAGIC] === SLAB_MAGIC &&
      i32[s + S_BASE] === s * 4 - this.hdrOffset &&
      i32[s + S_STATE] === state &&
      i32[s + S_CLASS] === c &&
      i32[s + S_SIZE] === this.classSizeOf[c] &&
      i32[s + S_COUNT] === this.geo.counts[c] &&
      i32[s + S_BUMP]! >>> 0 <= this.geo.counts[c]!
    );
  }

  /** The precise CorruptionError for a slab `via` led to that failed {@link fits}. */
  private badLink(s: number, c: number, state: number, via: string): CorruptionError {
    this.expectSlab(s, via);
    this.expectHeader(s, c);
    return slabError(this.i32, this.name, s, `on ${via} but in state ${this.i32[s + S_STATE]}, not ${state}`);
  }

  /** CorruptionError unless `s` is a slab of this allocator. */
  protected expectSlab(s: number, via: string): void {
    expectSlab(this.i32, this.geo, this.pages, this.name, s, via);
  }

  /** CorruptionError unless slab `s` can serve class `c` (header matches, nothing live past its carved slots). */
  protected expectHeader(s: number, c: number): void {
    const problem = headerProblem(this.i32, this.geo, s, c);
    if (problem !== undefined) throw slabError(this.i32, this.name, s, problem);
  }

  protected corruptFreeList(s: number, i: number): CorruptionError {
    return slabError(
      this.i32,
      this.name,
      s,
      `the free list hands out slot ${i}, which is ${i >>> 0 >= this.i32[s + S_BUMP]! >>> 0 ? "outside the carved slots" : "still live in the bitmap"}: a freed block was written to after deallocate`,
    );
  }
}
