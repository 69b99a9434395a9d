import {
  Attachment,
  DoubleFreeError,
  SpaceHandle,
  SpaceViews,
  hex,
  collectRemoteFrees,
  invalidPointer,
  openControl,
  retireControl,
  validateAllocation,
  validatePointerShape,
  type Allocator,
  type AllocatorStats,
  type AddressSpace,
  type Checkable,
  type HandleEnd,
  type Ptr,
  type StorageReport,
  type StorageReporting,
  type ViewSet,
} from "@memkit/core";
import type { HeapAllocator } from "@memkit/heap-allocator";
import type { PageAllocator, PageReclaimer, ReclaimRegistry } from "@memkit/page-allocator";
import type { SlotAllocator } from "@memkit/slot-allocator";
import { foreignSize, freeForeign } from "./foreign.js";
import { checkLarge, checkLargeRemoteList, countLargeAlloc, countLargeFree, countLargeResize, largeSpans, largeStats, leaseLarge, resetLargePeak } from "./large.js";
import { CONTROL_BYTES, GENERIC_LAYOUT, W_LARGE_OWNER, W_LARGE_THRESHOLD, W_REMOTE_HEAD, W_ROUTES, W_SMALL_ALIGN_MAX, W_SMALL_MAX } from "./layout.js";
import { ROUTE_NONE, openRoutes, setRoute } from "./routes.js";
import { checkPolicy, type GenericAllocatorOptions, type GenericAttachOptions } from "./options.js";
import { attachTiers, createTiers } from "./tiers.js";

/** Which tier serves a block. */
export type GenericTier = "slots" | "heap" | "large";

const TIER_SLOTS = 0;
const TIER_HEAP = 1;
const TIER_LARGE = 2;
/** Blocks reallocated to grow to at least this many bytes may become page spans (see growthTier). */
const GROW_SPAN_MIN = 32768;

/**
 * The allocator engine code uses by default. It routes by size:
 *
 *   size <= smallMax (4 KiB), align <= 64   -> SlotAllocator   (size classes, no header)
 *   size <  largeThreshold (512 KiB)        -> HeapAllocator   (TLSF)
 *   size >= largeThreshold                  -> page spans      (tagged "<name>.large")
 *
 * `deallocate`, `allocatedSize`, `owns` and `reallocate` find the tier in O(1)
 * from the pointer alone: one read of the page map's tag word (`owner << 24 |
 * data`) says which tier leased the page. `stats()` and `storageReport()` cover
 * all three tiers.
 *
 * Its own state (the tiers' control pointers, the routing policy, the
 * large-span counters) is a control block in linear memory (layout.ts), so
 * {@link GenericAllocator.attach} makes a second handle from its pointer.
 */
export class GenericAllocator extends SpaceHandle implements Allocator, Checkable, StorageReporting, ReclaimRegistry {
  readonly name: string;
  readonly pages: PageAllocator;
  /** The small-block tier. */
  readonly slots: SlotAllocator;
  /** The medium-block tier. */
  readonly heap: HeapAllocator;
  /** Page-map owner id of large spans. */
  readonly largeOwnerId: number;
  readonly smallMax: number;
  readonly smallAlignMax: number;
  readonly largeThreshold: number;

  // Hot-path routing: views (empty once the handle ended, so every pointer reads owner 0), and the owner ids.
  /**
   * Int32 view: page tags (read as int32: `>>> 24` and `& 0xff_ffff` see the
   * same bits), the remote-free lists and the routes table. One view for all
   * of them: once any buffer in the process was detached, V8 checks each
   * typed array a hot path touches, and the slot tier reads the same one.
   */
  private i32: Int32Array = SpaceViews.dead.i32;
  /** Int32 word of the routes table's entry 0, or -1 when this allocator has none (docs/threads.md). */
  readonly routes: number;
  /** The large-span counters live here, at float64 index {@link f}. */
  private f64: Float64Array = SpaceViews.dead.f64;
  private readonly f: number;
  private readonly tagBase: number;
  private readonly pageShift: number;
  /** Addresses the page map covers. */
  private readonly limit: number;
  /** smallMax for the fast path; -1 once this handle ended (the fast path reads no view, so it needs its own way out). */
  private fastSmallMax: number;
  private readonly slotOwner: number;
  private readonly heapOwner: number;

  /**
   * A new generic allocator over `pages` (its two tiers, a page for its
   * control block) — or, given an {@link Attachment} (see
   * {@link GenericAllocator.attach}), a second handle on the one whose
   * control block that is. One path: the policy and owners are read back
   * from the sealed control block and checked the same way for both.
   */
  constructor(source: PageAllocator | Attachment, options: GenericAllocatorOptions | GenericAttachOptions = {}) {
    const tiers = source instanceof Attachment ? attachTiers(source, options) : createTiers(source, options);
    super(tiers.pages.space, tiers.controlPtr);
    this.name = tiers.name;
    this.pages = tiers.pages;
    this.slots = tiers.slots;
    this.heap = tiers.heap;
    const u32 = this.space.u32;
    const w = this.controlPtr >>> 2;
    this.largeOwnerId = u32[w + W_LARGE_OWNER]!;
    this.smallMax = u32[w + W_SMALL_MAX]!;
    this.smallAlignMax = u32[w + W_SMALL_ALIGN_MAX]!;
    this.largeThreshold = u32[w + W_LARGE_THRESHOLD]!;
    checkPolicy(source instanceof Attachment ? source.who : this.name, this.controlPtr, this, this.slots.maxSlotSize);
    this.f = this.controlPtr >>> 3;
    this.slotOwner = this.slots.ownerId;
    this.heapOwner = this.heap.ownerId;
    this.tagBase = this.pages.tagWordBase;
    this.pageShift = this.pages.pageShift;
    this.limit = this.pages.range.limit;
    this.fastSmallMax = this.smallMax;
    const routesPtr = u32[w + W_ROUTES]!;
    this.routes = routesPtr === 0 ? -1 : openRoutes(this.space, routesPtr, this.name);
    this.followViews();
  }

  /**
   * A second handle on the generic allocator whose control block is at
   * `controlPtr` (`generic.controlPtr` of the creating side). Its tiers are
   * this thread's handles on them when there are some, else attached (so
   * they check their own control blocks). Damage is a CorruptionError here
   * or at the first {@link check}.
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: GenericAttachOptions = {}): GenericAllocator {
    return new GenericAllocator(Attachment.open(space, controlPtr, GENERIC_LAYOUT, "GenericAllocator.attach", [CONTROL_BYTES, CONTROL_BYTES]), options);
  }

  refreshViews(views: ViewSet): void {
    this.i32 = views.i32;
    this.f64 = views.f64;
  }

  /** Routes by size: slots, heap, or whole page spans. */
  allocate(size: number, align = 8): Ptr {
    // The common call first: a small block at the default alignment, already a valid request.
    // typeof before `>>>`, which throws TypeError on a BigInt or a Symbol: they get core's InvalidArgumentError.
    if (align === 8 && typeof size === "number" && size >>> 0 === size && size <= this.fastSmallMax) return this.slots.allocateSmall(size);
    validateAllocation(this.name, size, align);
    if (this.fastSmallMax < 0) throw this.endedError("allocate"); // -1 exactly when this handle ended
    if (size <= this.smallMax && align <= this.smallAlignMax) return this.slots.allocate(size, align);
    if (size < this.largeThreshold) return this.heap.allocate(size, align);
    return this.allocateLarge(size, align);
  }

  /** O(1): the page map says which tier owns the pointer. */
  deallocate(ptr: Ptr): void {
    // The tag word is read once: the slot tier checks the rest from it (ownerOf's checks, inlined).
    const tag = typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr >= this.limit ? 0 : this.i32[this.tagBase + (ptr >>> this.pageShift)]!;
    const owner = tag >>> 24;
    if (owner === this.slotOwner) this.slots.freeTagged(ptr, tag);
    else if (owner === this.heapOwner) this.heap.deallocate(ptr);
    else if (owner === this.largeOwnerId) this.freeLarge(ptr);
    // Another thread's block goes back to it; null is a no-op, until the handle ended.
    else if (!(this.routes >= 0 && owner !== 0 && freeForeign(this.i32, this.routes, this.pages, owner, ptr)) && (ptr !== 0 || this.fastSmallMax < 0)) throw this.notMine(ptr, "deallocate");
  }

  /** In place within a tier when the tier can; across tiers it moves (contents kept). */
  reallocate(ptr: Ptr, newSize: number, align = 8): Ptr {
    // The common call first, as in allocate: a slot block staying small at the default alignment.
    // The slot tier's wasm move checks the slot from the tag; 0 means it handed over to the general way below.
    if (align === 8 && typeof newSize === "number" && newSize >>> 0 === newSize && newSize <= this.fastSmallMax && typeof ptr === "number" && ptr >>> 0 === ptr && ptr !== 0 && ptr < this.limit) {
      const tag = this.i32[this.tagBase + (ptr >>> this.pageShift)]!;
      if (tag >>> 24 === this.slotOwner) {
        const moved = this.slots.reallocateSmall(ptr, tag, newSize);
        if (moved !== 0) return moved;
      }
    }
    validateAllocation(this.name, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    const owner = this.ownerOf(ptr);
    const tier = this.growthTier(owner, ptr, newSize, align);
    if (owner === this.slotOwner) {
      if (tier === TIER_SLOTS) return this.slots.reallocate(ptr, newSize, align);
    } else if (owner === this.heapOwner) {
      if (tier === TIER_HEAP) return this.heap.reallocate(ptr, newSize, align);
      // Bound for a span, it moves only if it must: growing in place copies nothing.
      if ((ptr & (align - 1)) === 0 && this.heap.resizeInPlace(ptr, newSize)) return ptr;
    } else if (owner === this.largeOwnerId) {
      if (tier === TIER_LARGE) return this.reallocateLarge(ptr, newSize, align);
    } else {
      return this.reallocateForeign(ptr, owner, newSize, align);
    }
    const oldSize = this.allocatedSize(ptr);
    const moved = tier === TIER_LARGE ? this.allocateLarge(newSize, align) : this.allocate(newSize, align);
    this.space.bytes.copy(moved, ptr, Math.min(oldSize, newSize));
    this.deallocate(ptr);
    return moved;
  }

  /** Usable bytes of the live block at `ptr`. */
  allocatedSize(ptr: Ptr): number {
    const owner = this.ownerOf(ptr);
    if (owner === this.slotOwner) return this.slots.allocatedSize(ptr);
    if (owner === this.heapOwner) return this.heap.allocatedSize(ptr);
    if (owner === this.largeOwnerId) return this.largeSize(ptr, "allocatedSize");
    const size = this.routes >= 0 && owner !== 0 ? foreignSize(this.i32, this.routes, this.pages, owner, ptr) : -1;
    if (size < 0) throw this.notMine(ptr, "allocatedSize");
    return size;
  }

  /** True when `ptr` is a live block of any tier (false on an ended handle). */
  owns(ptr: Ptr): boolean {
    const owner = this.ownerOf(ptr);
    if (owner === this.slotOwner) return this.slots.owns(ptr);
    if (owner === this.heapOwner) return this.heap.owns(ptr);
    if (owner === this.largeOwnerId) return (this.i32[this.tagBase + (ptr >>> this.pageShift)]! & 0xff_ffff) === 0 && this.pages.owns(ptr);
    return false;
  }

  /** Which tier serves the live block at `ptr` (throws for a pointer of no tier). */
  tierOf(ptr: Ptr): GenericTier {
    const owner = this.ownerOf(ptr);
    if (owner === this.slotOwner) return "slots";
    if (owner === this.heapOwner) return "heap";
    if (owner === this.largeOwnerId) {
      this.largeSize(ptr, "tierOf");
      return "large";
    }
    throw this.notMine(ptr, "tierOf");
  }

  /**
   * Sums of the three tiers. liveBytes counts usable sizes. peakLiveBytes is
   * the sum of each tier's peak: an upper bound of the combined peak (keeping
   * an exact combined peak would cost a shared counter on every call; trace
   * scopes keep exact peaks of the sizes asked for). reservedBytes includes
   * the control block's page.
   */
  stats(): AllocatorStats {
    const t = this.tierStats();
    const { slots: s, heap: h, large: l } = t;
    return {
      liveBytes: s.liveBytes + h.liveBytes + l.liveBytes,
      liveCount: s.liveCount + h.liveCount + l.liveCount,
      peakLiveBytes: s.peakLiveBytes + h.peakLiveBytes + l.peakLiveBytes,
      allocCount: s.allocCount + h.allocCount + l.allocCount,
      freeCount: s.freeCount + h.freeCount + l.freeCount,
      reservedBytes: s.reservedBytes + h.reservedBytes + l.reservedBytes + this.controlSpanBytes(),
    };
  }

  /** Per-tier stats, for reports. */
  tierStats(): Record<GenericTier, AllocatorStats> {
    this.assertAlive("tierStats");
    return { slots: this.slots.stats(), heap: this.heap.stats(), large: largeStats(this.f64, this.f) };
  }

  /**
   * Gives the pages both tiers only cache (the heap's empty span, the slot
   * tier's spare and empty slabs) back to the page allocator; returns the
   * bytes given back. The page allocator does this on its own before any
   * allocation fails; call it to hand memory to other lessees sooner.
   */
  reclaim(): number {
    this.assertAlive("reclaim");
    this.collectLargeRemoteFrees();
    return this.slots.reclaim() + this.heap.reclaim();
  }

  /**
   * Frees, on this thread, every block other threads gave back to this
   * allocator (its tiers' and its large spans' remote-free lists), and returns
   * how many. The owning thread only. The tiers also collect on their own
   * before they lease pages; call this at a frame end to return memory
   * sooner (docs/threads.md).
   */
  collectRemoteFrees(): number {
    this.assertAlive("collectRemoteFrees");
    return this.slots.collectRemoteFrees() + this.heap.collectRemoteFrees() + this.collectLargeRemoteFrees();
  }

  /**
   * Registers a reclaim hook with this handle's page allocator handle, so an
   * allocator backed by this one (a temp allocator's chunks) is asked to
   * give back cached memory before an allocation fails. Hooks are functions:
   * they stay with the handle (and thread) that registered them.
   */
  addReclaimer(reclaim: PageReclaimer): () => void {
    this.assertAlive("addReclaimer");
    return this.pages.addReclaimer(reclaim);
  }

  /** Starts a new high-water mark in every tier. */
  resetPeak(): void {
    this.assertAlive("resetPeak");
    this.slots.resetPeak();
    this.heap.resetPeak();
    resetLargePeak(this.f64, this.f);
  }

  /** Free memory across the slot and heap tiers (large spans have no internal free space). */
  storageReport(): StorageReport {
    this.assertAlive("storageReport");
    const s = this.slots.storageReport();
    const h = this.heap.storageReport();
    const large = largeStats(this.f64, this.f).liveBytes;
    const histogram: number[] = [];
    for (const r of [s, h]) r.freeHistogram.forEach((n, i) => (histogram[i] = (histogram[i] ?? 0) + n));
    for (let i = 0; i < histogram.length; i++) histogram[i] ??= 0;
    const totalFree = s.totalFreeBytes + h.totalFreeBytes;
    const largest = Math.max(s.largestFreeBlock, h.largestFreeBlock);
    return {
      reservedBytes: s.reservedBytes + h.reservedBytes + large + this.controlSpanBytes(),
      usedBytes: s.usedBytes + h.usedBytes + large,
      totalFreeBytes: totalFree,
      largestFreeBlock: largest,
      freeHistogram: histogram,
      fragmentation: totalFree === 0 ? 0 : 1 - largest / totalFree,
    };
  }

  /** Checks the control block (header, seal), both tiers, and every large span against the counters. */
  check(): void {
    this.assertAlive("check");
    openControl(this.space, this.controlPtr, GENERIC_LAYOUT, `${this.name}.check`, [CONTROL_BYTES, CONTROL_BYTES]);
    this.slots.check();
    this.heap.check();
    checkLarge(this.pages, this.f64, this.f, this.largeOwnerId, this.controlPtr, this.name);
    checkLargeRemoteList(this.pages, this.i32, this.f64, this.f, this.largeOwnerId, this.controlPtr, this.name);
  }

  /** Ends this handle only: the allocator, its tiers and this thread's handles on them live on. Idempotent. */
  detach(): void {
    this.end("detached");
  }

  /**
   * Returns every large span, both tiers' memory and the control block's
   * page to the page allocator, and retires the control block: every handle
   * of this thread on the allocator or its tiers is dead. Idempotent.
   */
  destroy(): void {
    if (!this.alive) return;
    if (this.routes >= 0) {
      for (const owner of [this.slotOwner, this.heapOwner, this.largeOwnerId]) setRoute(this.i32, this.routes, owner, ROUTE_NONE, 0);
    }
    for (const ptr of largeSpans(this.pages, this.largeOwnerId)) this.pages.deallocate(ptr);
    this.slots.destroy();
    this.heap.destroy();
    retireControl(this.space, this.controlPtr);
    this.pages.deallocate(this.controlPtr);
    this.end("destroyed");
  }

  /** Also closes the allocate fast path, which reads no view. */
  protected override end(how: HandleEnd): void {
    this.fastSmallMax = -1;
    super.end(how);
  }

  // -------------------------------------------------------------- internals

  /** Owner id of the page holding `ptr` (0 for null, malformed, free or foreign pages, and on an ended handle). */
  private ownerOf(ptr: Ptr): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr >= this.limit) return 0;
    return this.i32[this.tagBase + (ptr >>> this.pageShift)]! >>> 24;
  }

  private tierFor(size: number, align: number): number {
    if (size <= this.smallMax && align <= this.smallAlignMax) return TIER_SLOTS;
    return size < this.largeThreshold ? TIER_HEAP : TIER_LARGE;
  }

  /**
   * The tier a reallocation to `newSize` goes to: as for an allocation, but
   * a block that grows to GROW_SPAN_MIN bytes or more becomes a page span
   * when whole pages waste at most 1/8 of it, and a span stays one while
   * that holds. A growing block is likely to grow again (a dynamic array),
   * and a span grows in place into the free pages after it, where a heap
   * block must be copied to a larger one. (A heap block that can grow where
   * it is does so and stays in the heap: reallocate tries that first.)
   */
  private growthTier(owner: number, ptr: Ptr, newSize: number, align: number): number {
    const tier = this.tierFor(newSize, align);
    if (tier !== TIER_HEAP || newSize < GROW_SPAN_MIN || align > this.pages.pageSize) return tier;
    const mask = this.pages.pageSize - 1;
    if (((newSize + mask) & ~mask) - newSize > newSize >>> 3) return tier;
    if (owner === this.largeOwnerId || owner === this.slotOwner) return TIER_LARGE;
    // A pointer the heap does not hold goes on to heap.reallocate, which names what is wrong with it.
    return owner === this.heapOwner && this.heap.owns(ptr) && newSize > this.heap.allocatedSize(ptr) ? TIER_LARGE : tier;
  }

  private allocateLarge(size: number, align: number): Ptr {
    this.collectLargeRemoteFrees();
    const span = leaseLarge(this.pages, this.name, this.largeOwnerId, size, align);
    countLargeAlloc(this.f64, this.f, this.pages.allocatedSize(span));
    return span;
  }

  /** Frees the large spans other threads gave back; returns how many. */
  private collectLargeRemoteFrees(): number {
    // Every large allocation asks: an empty list returns before the walk's closures are made.
    if (this.i32[(this.controlPtr >>> 2) + W_REMOTE_HEAD] === 0) return 0;
    return collectRemoteFrees(
      () => this.i32,
      (this.controlPtr >>> 2) + W_REMOTE_HEAD,
      (ptr) => this.ownerOf(ptr) === this.largeOwnerId && this.pages.owns(ptr),
      (ptr) => this.freeLarge(ptr),
      `${this.name} (large spans)`,
    );
  }


  /** reallocate of another thread's block: moved into this allocator, the old block given back to its owner. */
  private reallocateForeign(ptr: Ptr, owner: number, newSize: number, align: number): Ptr {
    const oldSize = this.routes >= 0 && owner !== 0 ? foreignSize(this.i32, this.routes, this.pages, owner, ptr) : -1;
    if (oldSize < 0) throw this.notMine(ptr, "reallocate");
    const moved = this.allocate(newSize, align);
    this.space.bytes.copy(moved, ptr, Math.min(oldSize, newSize));
    freeForeign(this.i32, this.routes, this.pages, owner, ptr);
    return moved;
  }

  private reallocateLarge(ptr: Ptr, newSize: number, align: number): Ptr {
    const before = this.largeSize(ptr, "reallocate");
    const moved = this.pages.reallocate(ptr, newSize, align);
    countLargeResize(this.f64, this.f, this.pages.allocatedSize(moved) - before);
    return moved;
  }

  private freeLarge(ptr: Ptr): void {
    const bytes = this.largeSize(ptr, "deallocate"); // throws InvalidPointerError for an interior pointer
    this.pages.deallocate(ptr);
    countLargeFree(this.f64, this.f, bytes);
  }

  /** Bytes of the large span at `ptr`; InvalidPointerError for the control block's span or an interior pointer. */
  private largeSize(ptr: Ptr, op: string): number {
    if ((this.i32[this.tagBase + (ptr >>> this.pageShift)]! & 0xff_ffff) !== 0) {
      throw invalidPointer(`${this.name}.${op}`, ptr, "it is inside the generic allocator's control block");
    }
    return this.pages.allocatedSize(ptr);
  }

  private controlSpanBytes(): number {
    return this.pages.allocatedSize(this.controlPtr);
  }

  /** The error for a pointer no tier owns: a double free when the page allocator remembers freeing it, else invalid. */
  private notMine(ptr: Ptr, op: string): Error {
    const who = `${this.name}.${op}`;
    validatePointerShape(who, ptr);
    if (!this.alive) return this.endedError(op);
    if (!this.pages.owns(ptr)) {
      try {
        this.pages.allocatedSize(ptr);
      } catch (err) {
        if (err instanceof DoubleFreeError) return new DoubleFreeError(`${who}: the large block at ${hex(ptr)} was already freed.`);
      }
    }
    const owner = this.pages.tagOf(ptr) >>> 24;
    return invalidPointer(who, ptr, owner === 0 ? "no tier of this allocator holds that page" : `the page belongs to "${this.pages.ownerName(owner)}"`);
  }
}
