import {
  Attachment,
  DEFAULT_ALIGN,
  retireControl,
  validateAllocation,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type Checkable,
  type HandleEnd,
  type OutOfMemoryError,
  type Ptr,
  type StorageReport,
  type StorageReporting,
} from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { pageAllocatorAt } from "@memkit/page-allocator";
import { checkAttachState, checkSlots } from "./check.js";
import { tooLarge } from "./diagnose.js";
import { readGeometry, writeControl } from "./geometry.js";
import {
  CLASS_SHIFT,
  C_ALLOCS_F64,
  C_CURRENT,
  C_FREES_F64,
  DATA_MAX,
  D_PEAK,
  SLOT_LAYOUT,
  S_BASE,
  S_BUMP,
  S_CLASS,
  S_COUNT,
  S_FREE,
  S_LINK_AT,
  S_SIZE,
  S_USED,
  W_PAGES,
  W_PARKED_CLASS,
  W_PARKED_PTR,
  controlBytesFor,
} from "./layout.js";
import { resolveOptions, type SlotAllocatorOptions, type SlotAttachOptions } from "./options.js";
import { reservedBytes, slabStats, storageReport, walkSlabs, type SlabStats, type SlabVisitor } from "./report.js";
import { SlotPointers } from "./slot-pointers.js";
import { classIndex, sizeClasses } from "./size-classes.js";

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
 * All state lives in linear memory (layout.ts): the object is a handle, and
 * {@link SlotAllocator.attach} makes another one on the same allocator.
 * allocate and deallocate are O(1) and create no JS objects; each updates one
 * stats counter (per class; totals are summed when stats() is read).
 */
export class SlotAllocator extends SlotPointers implements Allocator, Checkable, StorageReporting {
  /** Largest size the allocate fast path serves. */
  private readonly fastLimit: number;
  /** Unregisters {@link reclaim} from the page allocator handle (the hook is this handle's). */
  private readonly unregisterReclaim: () => void;

  /**
   * A new slot allocator leasing slabs from `pages` — or, given an
   * {@link Attachment} (see {@link SlotAllocator.attach}), a second handle on
   * the one whose control block that is. One path: what is read back from
   * the control block is checked the same way for both.
   */
  constructor(source: PageAllocator | Attachment, options: SlotAllocatorOptions | SlotAttachOptions = {}) {
    let pages: PageAllocator;
    let name: string;
    let ptr: Ptr;
    let bytes: number;
    let who: string;
    if (source instanceof Attachment) {
      who = source.who;
      ptr = source.controlPtr;
      bytes = source.bytes;
      pages = pageAllocatorAt(source.space, source.space.i32[(ptr >>> 2) + W_PAGES]!, (options as SlotAttachOptions).pages, who);
      name = options.name ?? "slots";
    } else {
      pages = source;
      const o = resolveOptions(options, pages.pageSize);
      name = o.name;
      who = `SlotAllocator "${name}"`;
      const ownerId = pages.registerOwner(name);
      bytes = controlBytesFor(sizeClasses(o.maxSlotSize).length);
      ptr = pages.allocate(bytes);
      pages.setTag(ptr, ownerId, 0);
      writeControl(pages.space, ptr, o, ownerId, pages);
    }
    const geo = readGeometry(pages.space, ptr, bytes, pages, who);
    super(pages.space, geo, pages, name);
    this.fastLimit = geo.maxSlotSize;
    if (source instanceof Attachment) checkAttachState(this.subject(pages.space.i32, pages.space.f64), who);
    this.unregisterReclaim = pages.addReclaimer(() => this.reclaim());
    this.followViews();
  }

  /**
   * A second handle on the slot allocator whose control block is at
   * `controlPtr` (`slots.controlPtr` of the creating side): another thread, a
   * wasm host, a restored save. It leases from `options.pages`, or from this
   * thread's handle on the page allocator the control block names (attached
   * when there is none). Damage is a CorruptionError here — the header,
   * seal, sealed words and the state words allocation starts from are
   * checked — or at the first {@link check}. Handles must not run calls
   * concurrently.
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: SlotAttachOptions = {}): SlotAllocator {
    return new SlotAllocator(Attachment.open(space, controlPtr, SLOT_LAYOUT, "SlotAllocator.attach"), options);
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
    return this.take(classIndex(size), size);
  }

  /**
   * {@link allocate} for a caller that has checked that `size` is an
   * integer from 0 to {@link maxSlotSize} and wants the default alignment
   * (the generic allocator's fast path): no second check.
   * @internal
   */
  allocateSmall(size: number): Ptr {
    return this.take(classIndex(size), size);
  }

  /** Frees the slot at `ptr`; 0 is a no-op. Foreign, interior and free-slot pointers throw and change nothing. */
  deallocate(ptr: Ptr): void {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr >= this.addrLimit) return this.rejectFree(ptr);
    // After the handle ended, i32 is empty: the tag reads undefined and every pointer goes to rejectFree.
    this.freeTagged(ptr, this.i32[this.tagWordBase + (ptr >>> this.pageShift)]!);
  }

  /**
   * {@link deallocate} for a caller that has checked that `ptr` is a
   * non-negative int32 inside the page map and read its page's tag word
   * `tag` (the generic allocator's routing does both): the same exact
   * checks from the tag on, without reading it twice.
   * @internal
   */
  freeTagged(ptr: number, tag: number): void {
    // The wasm path (hot-paths.ts) frees the common case; a refusal is explained by the JS path, which checks again.
    const s = this.fastFree(this.cwBytes, this.classBytes, this.ownerTag, this.pageShift, this.hdrOffset, this.addrLimit, ptr, tag);
    if (s === 0) return;
    if (s === 1) return this.freeTaggedJs(ptr, tag);
    this.afterFree(s, this.i32[s + S_USED]!);
  }

  /** {@link freeTagged} in JS, step for step as assembly/hot-paths.ts's `free`: where wasm cannot run, and for every refusal. */
  private freeTaggedJs(ptr: number, tag: number): void {
    const i32 = this.i32;
    const shift = this.pageShift;
    // 8 + 24 bits: owner << 24 | slab base >> pageShift. data 0 is the control block, never a slab.
    const d = tag ^ this.ownerTag;
    if ((d - 1) >>> 0 >= DATA_MAX) return this.rejectFree(ptr);
    const base = d << shift;
    const s = (base + this.hdrOffset) >>> 2;
    const off = ptr - base;
    const size = i32[s + S_SIZE]!;
    // An int32 division: it is off the critical path.
    const i = (off / size) | 0;
    if (i * size !== off || i >= i32[s + S_BUMP]!) return this.rejectFree(ptr);
    const w = s - 1 - (i >>> 5);
    const m = 1 << (i & 31);
    const bits = i32[w]!;
    if ((bits & m) === 0) return this.rejectFree(ptr);
    const cw = this.cw;
    const cached = i32[cw + W_PARKED_PTR]!;
    if (cached === ptr) return this.rejectFree(ptr);
    const c = i32[s + S_CLASS]!;
    this.f64[((this.classWord + (c << CLASS_SHIFT)) >>> 1) + (C_FREES_F64 >>> 1)]!++;
    if (cached === 0) {
      // Park it: if the next allocation asks for this class it takes the slot without touching the slab.
      i32[cw + W_PARKED_PTR] = ptr;
      i32[cw + W_PARKED_CLASS] = c;
      return;
    }
    i32[w] = bits ^ m;
    i32[ptr >>> 2] = i32[s + S_FREE]!;
    i32[s + S_FREE] = i + 1;
    const used = i32[s + S_USED]! - 1;
    i32[s + S_USED] = used;
    if (used === i32[s + S_LINK_AT]! || used === 0) this.afterFree(s, used);
  }

  /**
   * Pops a slot of class `c`: the parked slot, else from the current slab
   * (free list first, then never-used slots), through the wasm path
   * (hot-paths.ts); when that hands over, through {@link takeJs}.
   */
  protected take(c: number, size: number): Ptr {
    const p = this.fastTake(this.cwBytes, this.classBytes, this.addrLimit, c);
    return p !== 0 ? p : this.takeJs(c, size);
  }

  /**
   * {@link take} in JS, step for step as assembly/hot-paths.ts's `take`, and
   * the refill when the current slab is exhausted. After the handle ended its
   * views are empty: the current slab reads undefined and the call goes to
   * refill, which throws DestroyedError.
   */
  private takeJs(c: number, size: number): Ptr {
    const i32 = this.i32;
    const rec = this.classWord + (c << CLASS_SHIFT);
    if (i32[this.cw + W_PARKED_CLASS] === c) {
      const cached = i32[this.cw + W_PARKED_PTR]!;
      i32[this.cw + W_PARKED_PTR] = 0;
      i32[this.cw + W_PARKED_CLASS] = -1;
      this.f64[(rec >>> 1) + (C_ALLOCS_F64 >>> 1)]!++;
      return cached;
    }
    const s = i32[rec + C_CURRENT]!;
    if (s > 0) {
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

  /** Validates; an ended handle throws DestroyedError from take's refill (or here, for a size no class serves). */
  private allocateSlow(size: number, align: number): Ptr {
    validateAllocation(this.name, size, align);
    const c = this.classFor(size, align);
    if (c < 0) {
      this.assertAlive("allocate");
      throw this.tooLarge(size, align);
    }
    return this.take(c, size);
  }

  /** The smallest class holding `size` bytes whose slots are `align`-aligned, or -1. */
  private classFor(size: number, align: number): number {
    if (size > this.maxSlotSize) return -1;
    let c = classIndex(size);
    if (align <= 8) return c;
    // Slab bases are aligned to at least maxSlotSize, so a class whose size is a multiple of align keeps every slot aligned.
    while (c < this.classCount && (this.classSizeOf[c]! & (align - 1)) !== 0) c++;
    return c < this.classCount ? c : -1;
  }

  /**
   * {@link reallocate} for a caller that has checked that `ptr` is a
   * non-zero int32 inside the page map, read its page's tag word `tag`, and
   * checked that `newSize` is an integer from 0 to {@link maxSlotSize} at
   * the default alignment (the generic allocator's fast path). 0 when the
   * wasm step hands over: the caller then calls {@link reallocate}, which
   * checks again and explains.
   * @internal
   */
  reallocateSmall(ptr: number, tag: number, newSize: number): Ptr {
    return this.moveTagged(ptr, tag, classIndex(newSize));
  }

  /** The wasm move to class `c` of the slot at `ptr` (tag word `tag`), then the old slot's free; 0 when wasm hands over. */
  private moveTagged(ptr: number, tag: number, c: number): Ptr {
    const moved = this.fastMove(this.cwBytes, this.classBytes, this.addrLimit, this.ownerTag, this.pageShift, this.hdrOffset, ptr, tag, c, this.classSizeOf[c]!);
    if (moved === 1) return ptr;
    if (moved !== 0) this.freeTagged(ptr, tag);
    return moved;
  }

  /** Usable bytes of the live slot at `ptr`: its class's slot size. */
  allocatedSize(ptr: Ptr): number {
    const s = this.liveSlab(ptr);
    if (s === 0) this.explain(ptr, "allocatedSize");
    return this.i32[s + S_SIZE]!;
  }

  /** True when `ptr` is the start of a live slot handed out by this allocator (false on an ended handle). */
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
    const c = this.classFor(newSize, align);
    // The wasm path (hot-paths.ts's move) checks the slot, takes and copies; the old slot is then freed as
    // deallocate frees it. A refusal or a refill goes the JS way below, which checks again.
    if (c >= 0 && typeof ptr === "number" && ptr >>> 0 === ptr && ptr < this.addrLimit) {
      const moved = this.moveTagged(ptr, this.i32[this.tagWordBase + (ptr >>> this.pageShift)]!, c);
      if (moved !== 0) return moved;
    }
    const s = this.liveSlab(ptr);
    if (s === 0) this.explain(ptr, "reallocate");
    if (c < 0) throw this.tooLarge(newSize, align);
    const oldSize = this.i32[s + S_SIZE]!;
    if (c === this.i32[s + S_CLASS]!) return ptr;
    const moved = this.take(c, newSize);
    this.space.bytes.copy(moved, ptr, Math.min(oldSize, this.classSizeOf[c]!));
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
    this.assertAlive("stats");
    const f64 = this.f64;
    let allocs = 0;
    let frees = 0;
    let liveBytes = 0;
    for (let c = 0; c < this.classCount; c++) {
      const rec = this.classWord + (c << CLASS_SHIFT);
      const a = f64[(rec + C_ALLOCS_F64) >>> 1]!;
      const r = f64[(rec + C_FREES_F64) >>> 1]!;
      allocs += a;
      frees += r;
      liveBytes += (a - r) * this.classSizeOf[c]!;
    }
    return {
      liveBytes,
      liveCount: allocs - frees,
      peakLiveBytes: this.samplePeak(liveBytes),
      allocCount: allocs,
      freeCount: frees,
      reservedBytes: reservedBytes(this.subject()),
    };
  }

  /** Forgets the peak: it restarts from the bytes live now. */
  resetPeak(): void {
    this.assertAlive("resetPeak");
    this.f64[(this.cw >>> 1) + D_PEAK] = 0;
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
    this.assertAlive("storageReport");
    const report = storageReport(this.subject());
    this.samplePeak();
    return report;
  }

  /**
   * Visits every slab (spares included) for reports and memory maps:
   * its base address, bytes, slot size (0 for a spare) and slots in use.
   * The parked slot counts as in use here. Cold path.
   */
  walkSlabs(visit: SlabVisitor): void {
    this.assertAlive("walkSlabs");
    walkSlabs(this.subject(), visit);
  }

  /** Slabs held (spares included), and how many were ever leased and returned. */
  slabStats(): SlabStats {
    this.assertAlive("slabStats");
    return slabStats(this.subject());
  }

  /**
   * Walks every slab: header against its class, page-map tag, bitmap against
   * free list (no repeats, only carved free slots, lengths add up), used
   * counts, the class's current slab and partial list, the spare list, and
   * per-class counters against the slabs; and the control block's header
   * and seal. Throws CorruptionError naming the slab (in hex) and the broken
   * invariant. Bounded: damage cannot make it loop.
   */
  check(): void {
    this.assertAlive("check");
    checkSlots(this.subject());
  }

  /**
   * Gives every slab that holds no live slot back to the page allocator: the
   * spares, and the current slabs of classes whose slabs emptied (kept so a
   * free/alloc pair never re-leases). The parked slot is freed into its slab
   * first, so it keeps nothing. Returns the bytes given back. The page
   * allocator calls this before an allocation fails anywhere in the memory.
   * O(classes + spare slabs).
   */
  reclaim(): number {
    this.assertAlive("reclaim");
    this.collectRemoteFrees();
    return this.reclaimSlabs();
  }

  // ------------------------------------------------------------- lifetime

  /** Ends this handle only: the allocator, its slabs and its other handles live on. Idempotent. */
  detach(): void {
    this.end("detached");
  }

  /**
   * Returns every slab and the control block to the page allocator and
   * retires the control block: every handle of this thread on it is dead,
   * and attaching to it is refused. Live blocks die with it. Slabs are found
   * through the page map, so a damaged slab list cannot keep any. Idempotent.
   */
  destroy(): void {
    if (!this.alive) return;
    const spans: Ptr[] = [];
    this.pages.forEachSpan((ptr, _bytes, used, tag) => {
      if (used && tag >>> 24 === this.ownerId && ptr !== this.controlPtr) spans.push(ptr);
    });
    retireControl(this.space, this.controlPtr);
    for (const ptr of spans) this.pages.deallocate(ptr);
    this.pages.deallocate(this.controlPtr);
    this.end("destroyed");
  }

  /** Also unregisters this handle's reclaim hook. */
  protected override end(how: HandleEnd): void {
    super.end(how);
    this.unregisterReclaim();
  }

  // ------------------------------------------------------------- internals

  private tooLarge(size: number, align: number): OutOfMemoryError {
    return tooLarge(this.name, this.maxSlotSize, size, align);
  }
}
