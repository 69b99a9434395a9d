import {
  type DestroyedError,
  DoubleFreeError,
  InvalidArgumentError,
  OutOfMemoryError,
  describe,
  destroyedError,
  formatBytes,
  formatSize,
  hex,
  invalidPointer,
  validateAllocation,
  validatePointerShape,
  type Allocator,
  type AllocatorStats,
  type AddressSpace,
  type Checkable,
  type Ptr,
  type StorageReport,
  type StorageReporting,
  CorruptionError,
} from "@memkit/core";
import type { PageAllocator, PageReclaimer, ReclaimRegistry } from "@memkit/page-allocator";
import { HeapAllocator, type HeapAllocatorOptions } from "@memkit/heap-allocator";
import { SlotAllocator, type SlotAllocatorOptions } from "@memkit/slot-allocator";

/** Options for {@link GenericAllocator}. */
export interface GenericAllocatorOptions {
  /** Name used in messages and reports. @defaultValue "generic" */
  name?: string;
  /** Sizes up to this (and alignments up to {@link smallAlignMax}) go to the slot allocator. @defaultValue the slot allocator's largest slot (1024) */
  smallMax?: number;
  /** Largest alignment the slot tier serves; larger alignments of small sizes go to the heap. @defaultValue 64 */
  smallAlignMax?: number;
  /** Sizes from this up are whole page spans. @defaultValue 512 KiB (page rounding then wastes at most 12.5% with 64 KiB pages) */
  largeThreshold?: number;
  /** Options of the slot tier. @defaultValue slabs of max(16 KiB, page size) */
  slots?: SlotAllocatorOptions;
  /** Options of the heap tier. */
  heap?: HeapAllocatorOptions;
}

/** Which tier serves a block. */
export type GenericTier = "slots" | "heap" | "large";

const TIER_SLOTS = 0;
const TIER_HEAP = 1;
const TIER_LARGE = 2;

/**
 * The allocator engine code uses by default. It routes by size:
 *
 *   size <= smallMax (1 KiB), align <= 64   -> SlotAllocator   (size classes, no header)
 *   size <  largeThreshold (512 KiB)        -> HeapAllocator   (TLSF)
 *   size >= largeThreshold                  -> page spans      (tagged "<name>.large")
 *
 * `deallocate`, `allocatedSize`, `owns` and `reallocate` find the tier in O(1)
 * from the pointer alone: one read of the page map's tag word (`owner << 24 |
 * data`) says which tier leased the page. `stats()` and `storageReport()` cover
 * all three tiers.
 */
export class GenericAllocator implements Allocator, Checkable, StorageReporting, ReclaimRegistry {
  readonly name: string;
  readonly space: AddressSpace;
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

  // Hot-path routing: a view of the page map refreshed on growth, and the owner ids.
  private tags: Uint32Array;
  /** Byte view for moves across tiers, refreshed on growth (`space.u8` re-checks the buffer on every read). */
  private u8: Uint8Array;
  private readonly tagBase: number;
  private readonly pageShift: number;
  /** Addresses the page map covers; 0 once destroyed, so every pointer takes the cold path. */
  private limit: number;
  /** smallMax for the fast path; -1 once destroyed. */
  private fastSmallMax: number;
  private readonly slotOwner: number;
  private readonly heapOwner: number;
  private readonly unsubscribe: () => void;

  // Large spans are few and slow anyway; their counters are plain fields.
  private largeLiveBytes = 0;
  private largeLiveCount = 0;
  private largePeakBytes = 0;
  private largeAllocs = 0;
  private largeFrees = 0;
  private destroyed = false;

  constructor(pages: PageAllocator, options: GenericAllocatorOptions = {}) {
    this.name = options.name ?? "generic";
    this.space = pages.space;
    this.pages = pages;
    // Slabs of 16 KiB (or one page, if larger): 36 size classes each holding a partly
    // used slab cost 576 KiB instead of 2.3 MiB with 64 KiB slabs.
    this.slots = new SlotAllocator(pages, { name: `${this.name}.slots`, slabBytes: Math.max(pages.pageSize, 16384), ...options.slots });
    this.heap = new HeapAllocator(pages, { name: `${this.name}.heap`, ...options.heap });
    this.largeOwnerId = pages.registerOwner(`${this.name}.large`);
    this.smallMax = options.smallMax ?? this.slots.maxSlotSize;
    this.smallAlignMax = options.smallAlignMax ?? 64;
    this.largeThreshold = options.largeThreshold ?? 512 * 1024;
    if (!Number.isInteger(this.smallMax) || this.smallMax < 0 || this.smallMax > this.slots.maxSlotSize) {
      throw new InvalidArgumentError(`${this.name}: option smallMax must be an integer from 0 to the largest slot (${this.slots.maxSlotSize}), received ${describe(options.smallMax)}.`);
    }
    if (!Number.isInteger(this.smallAlignMax) || this.smallAlignMax < 1 || this.smallAlignMax > this.slots.maxSlotSize || (this.smallAlignMax & (this.smallAlignMax - 1)) !== 0) {
      throw new InvalidArgumentError(`${this.name}: option smallAlignMax must be a power of two from 1 to ${this.slots.maxSlotSize}, received ${describe(options.smallAlignMax)}.`);
    }
    if (!Number.isInteger(this.largeThreshold) || this.largeThreshold <= this.smallMax) {
      throw new InvalidArgumentError(`${this.name}: option largeThreshold must be an integer above smallMax (${this.smallMax}), received ${describe(options.largeThreshold)}.`);
    }
    this.slotOwner = this.slots.ownerId;
    this.heapOwner = this.heap.ownerId;
    this.tagBase = pages.tagWordBase;
    this.pageShift = pages.pageShift;
    this.limit = pages.range.limit;
    this.fastSmallMax = this.smallMax;
    this.tags = this.space.u32;
    this.u8 = this.space.u8;
    this.unsubscribe = this.space.onGrow(() => {
      this.tags = this.space.u32;
      this.u8 = this.space.u8;
    });
  }

  /** Routes by size: slots, heap, or whole page spans. */
  allocate(size: number, align = 8): Ptr {
    // The common call first: a small block at the default alignment, already a valid request.
    // typeof before `>>>`, which throws TypeError on a BigInt or a Symbol: they get core's InvalidArgumentError.
    if (align === 8 && typeof size === "number" && size >>> 0 === size && size <= this.fastSmallMax) return this.slots.allocate(size, 8);
    validateAllocation(this.name, size, align);
    if (this.destroyed) throw this.destroyedError("allocate");
    if (size <= this.smallMax && align <= this.smallAlignMax) return this.slots.allocate(size, align);
    if (size < this.largeThreshold) return this.heap.allocate(size, align);
    return this.allocateLarge(size, align);
  }

  /** O(1): the page map says which tier owns the pointer. */
  deallocate(ptr: Ptr): void {
    const owner = this.ownerOf(ptr);
    if (owner === this.slotOwner) this.slots.deallocate(ptr);
    else if (owner === this.heapOwner) this.heap.deallocate(ptr);
    else if (owner === this.largeOwnerId) this.freeLarge(ptr);
    else if (ptr !== 0) throw this.notMine(ptr, "deallocate");
  }

  /** In place within a tier when the tier can; across tiers it moves (contents kept). */
  reallocate(ptr: Ptr, newSize: number, align = 8): Ptr {
    validateAllocation(this.name, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    const owner = this.ownerOf(ptr);
    const tier = this.tierFor(newSize, align);
    if (owner === this.slotOwner) {
      if (tier === TIER_SLOTS) return this.slots.reallocate(ptr, newSize, align);
    } else if (owner === this.heapOwner) {
      if (tier === TIER_HEAP) return this.heap.reallocate(ptr, newSize, align);
    } else if (owner === this.largeOwnerId) {
      if (tier === TIER_LARGE) return this.reallocateLarge(ptr, newSize, align);
    } else {
      throw this.notMine(ptr, "reallocate");
    }
    const oldSize = this.allocatedSize(ptr);
    const moved = this.allocate(newSize, align);
    this.u8.copyWithin(moved, ptr, ptr + Math.min(oldSize, newSize));
    this.deallocate(ptr);
    return moved;
  }

  /** Usable bytes of the live block at `ptr`. */
  allocatedSize(ptr: Ptr): number {
    const owner = this.ownerOf(ptr);
    if (owner === this.slotOwner) return this.slots.allocatedSize(ptr);
    if (owner === this.heapOwner) return this.heap.allocatedSize(ptr);
    if (owner === this.largeOwnerId) return this.pages.allocatedSize(ptr);
    throw this.notMine(ptr, "allocatedSize");
  }

  /** True when `ptr` is a live block of any tier. */
  owns(ptr: Ptr): boolean {
    const owner = this.ownerOf(ptr);
    if (owner === this.slotOwner) return this.slots.owns(ptr);
    if (owner === this.heapOwner) return this.heap.owns(ptr);
    if (owner === this.largeOwnerId) return this.pages.owns(ptr);
    return false;
  }

  /** Which tier serves the live block at `ptr` (throws for a pointer of no tier). */
  tierOf(ptr: Ptr): GenericTier {
    const owner = this.ownerOf(ptr);
    if (owner === this.slotOwner) return "slots";
    if (owner === this.heapOwner) return "heap";
    if (owner === this.largeOwnerId) return "large";
    throw this.notMine(ptr, "tierOf");
  }

  /**
   * Sums of the three tiers. liveBytes counts usable sizes. peakLiveBytes is
   * the sum of each tier's peak: an upper bound of the combined peak (keeping
   * an exact combined peak would cost a shared counter on every call; trace
   * scopes keep exact peaks of the sizes asked for).
   */
  stats(): AllocatorStats {
    const s = this.slots.stats();
    const h = this.heap.stats();
    return {
      liveBytes: s.liveBytes + h.liveBytes + this.largeLiveBytes,
      liveCount: s.liveCount + h.liveCount + this.largeLiveCount,
      peakLiveBytes: s.peakLiveBytes + h.peakLiveBytes + this.largePeakBytes,
      allocCount: s.allocCount + h.allocCount + this.largeAllocs,
      freeCount: s.freeCount + h.freeCount + this.largeFrees,
      reservedBytes: s.reservedBytes + h.reservedBytes + this.largeLiveBytes,
    };
  }

  /** Per-tier stats, for reports. */
  tierStats(): Record<GenericTier, AllocatorStats> {
    return {
      slots: this.slots.stats(),
      heap: this.heap.stats(),
      large: {
        liveBytes: this.largeLiveBytes,
        liveCount: this.largeLiveCount,
        peakLiveBytes: this.largePeakBytes,
        allocCount: this.largeAllocs,
        freeCount: this.largeFrees,
        reservedBytes: this.largeLiveBytes,
      },
    };
  }

  /**
   * Gives the pages both tiers only cache (the heap's empty span, the slot
   * tier's spare and empty slabs) back to the page allocator; returns the
   * bytes given back. The page allocator does this on its own before any
   * allocation fails; call it to hand memory to other lessees sooner.
   */
  reclaim(): number {
    if (this.destroyed) return 0;
    return this.slots.reclaim() + this.heap.reclaim();
  }

  /**
   * Registers a reclaim hook with the page allocator the tiers lease from,
   * so an allocator backed by this one (a temp allocator's chunks) is asked
   * to give back cached memory before an allocation fails.
   */
  addReclaimer(reclaim: PageReclaimer): () => void {
    return this.pages.addReclaimer(reclaim);
  }

  /** Starts a new high-water mark in every tier. */
  resetPeak(): void {
    this.slots.resetPeak();
    this.heap.resetPeak();
    this.largePeakBytes = this.largeLiveBytes;
  }

  /** Free memory across the slot and heap tiers (large spans have no internal free space). */
  storageReport(): StorageReport {
    const s = this.slots.storageReport();
    const h = this.heap.storageReport();
    const histogram: number[] = [];
    for (const r of [s, h]) r.freeHistogram.forEach((n, i) => (histogram[i] = (histogram[i] ?? 0) + n));
    for (let i = 0; i < histogram.length; i++) histogram[i] ??= 0;
    const totalFree = s.totalFreeBytes + h.totalFreeBytes;
    const largest = Math.max(s.largestFreeBlock, h.largestFreeBlock);
    return {
      reservedBytes: s.reservedBytes + h.reservedBytes + this.largeLiveBytes,
      usedBytes: s.usedBytes + h.usedBytes + this.largeLiveBytes,
      totalFreeBytes: totalFree,
      largestFreeBlock: largest,
      freeHistogram: histogram,
      fragmentation: totalFree === 0 ? 0 : 1 - largest / totalFree,
    };
  }

  /** Checks both tiers and that every large span is tagged and counted. */
  check(): void {
    this.slots.check();
    this.heap.check();
    let count = 0;
    let bytes = 0;
    this.pages.forEachSpan((ptr, spanBytes, used, tag) => {
      if (used && tag >>> 24 === this.largeOwnerId) {
        count++;
        bytes += spanBytes;
      }
    });
    if (count !== this.largeLiveCount || bytes !== this.largeLiveBytes) {
      throw new CorruptionError(`${this.name}: ${count} large spans (${formatBytes(bytes)}) in the page map, but the counters say ${this.largeLiveCount} (${formatBytes(this.largeLiveBytes)}).`);
    }
  }

  /** Returns every large span and both tiers' memory to the page allocator. The handle is dead afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.fastSmallMax = -1;
    this.limit = 0;
    const large: Ptr[] = [];
    this.pages.forEachSpan((ptr, _bytes, used, tag) => {
      if (used && tag >>> 24 === this.largeOwnerId) large.push(ptr);
    });
    for (const ptr of large) this.pages.deallocate(ptr);
    this.largeLiveBytes = this.largeLiveCount = 0;
    this.slots.destroy();
    this.heap.destroy();
    this.unsubscribe();
  }

  // -------------------------------------------------------------- internals

  /** Owner id of the page holding `ptr` (0 for null, malformed, free or foreign pages). */
  private ownerOf(ptr: Ptr): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr >= this.limit) return 0;
    return this.tags[this.tagBase + (ptr >>> this.pageShift)]! >>> 24;
  }

  private tierFor(size: number, align: number): number {
    if (size <= this.smallMax && align <= this.smallAlignMax) return TIER_SLOTS;
    return size < this.largeThreshold ? TIER_HEAP : TIER_LARGE;
  }

  private allocateLarge(size: number, align: number): Ptr {
    let span: Ptr;
    try {
      span = this.pages.allocate(size, align);
    } catch (err) {
      if (err instanceof OutOfMemoryError) {
        throw new OutOfMemoryError(`${this.name}: cannot allocate ${formatSize(size)} (align ${align}) as a large block.\n  ${err.message}`, { cause: err });
      }
      throw err;
    }
    this.pages.setTag(span, this.largeOwnerId);
    const bytes = this.pages.allocatedSize(span);
    this.largeLiveBytes += bytes;
    this.largeLiveCount++;
    this.largeAllocs++;
    if (this.largeLiveBytes > this.largePeakBytes) this.largePeakBytes = this.largeLiveBytes;
    return span;
  }

  private freeLarge(ptr: Ptr): void {
    const bytes = this.pages.allocatedSize(ptr); // throws InvalidPointerError for an interior pointer
    this.pages.deallocate(ptr);
    this.largeLiveBytes -= bytes;
    this.largeLiveCount--;
    this.largeFrees++;
  }

  private reallocateLarge(ptr: Ptr, newSize: number, align: number): Ptr {
    const before = this.pages.allocatedSize(ptr);
    const moved = this.pages.reallocate(ptr, newSize, align);
    this.largeLiveBytes += this.pages.allocatedSize(moved) - before;
    if (this.largeLiveBytes > this.largePeakBytes) this.largePeakBytes = this.largeLiveBytes;
    return moved;
  }

  private destroyedError(op: string): DestroyedError {
    return destroyedError(`${this.name}.${op}`, "this generic allocator was destroyed", "create a new one.");
  }

  /** The error for a pointer no tier owns: a double free when the page allocator remembers freeing it, else invalid. */
  private notMine(ptr: Ptr, op: string): Error {
    const who = `${this.name}.${op}`;
    validatePointerShape(who, ptr);
    if (this.destroyed) return this.destroyedError(op);
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
