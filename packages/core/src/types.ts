import type { AddressSpace } from "./address-space.js";

/** A byte offset into an {@link AddressSpace}. `0` is null and is never returned by `allocate`. */
export type Ptr = number;

/**
 * The contract every memkit allocator keeps. All checks named here are always
 * on and O(1); a call that throws changes nothing.
 */
export interface Allocator {
  /** A short name used in error messages and reports. */
  readonly name: string;
  /** The address space the returned pointers index into. */
  readonly space: AddressSpace;
  /** size: integer >= 0; align: power of two, 1..65536, default 8.
   *  Returns a non-zero, aligned Ptr, or throws OutOfMemoryError. */
  allocate(size: number, align?: number): Ptr;
  /** 0 is a no-op. A pointer this allocator did not hand out, or already
   *  freed, throws InvalidPointerError / DoubleFreeError and changes nothing. */
  deallocate(ptr: Ptr): void;
  /** Contents kept up to min(old, new) size; ptr 0 behaves as allocate. */
  reallocate(ptr: Ptr, newSize: number, align?: number): Ptr;
  /** Usable bytes of a live block (>= the size asked for). */
  allocatedSize(ptr: Ptr): number;
  /** True when `ptr` is the start of a live block handed out by this allocator. */
  owns(ptr: Ptr): boolean;
  /** Counters, read on demand (cheap to call, never on a hot path). */
  stats(): AllocatorStats;
}

/** What {@link Allocator.stats} returns. */
export interface AllocatorStats {
  /** Bytes of live blocks: trace scopes count the sizes asked for; a bare
   *  allocator may count usable sizes (its README says which). */
  liveBytes: number;
  /** Number of live blocks. */
  liveCount: number;
  /** Highest `liveBytes` seen (since creation or the last peak reset). */
  peakLiveBytes: number;
  /** `allocate` calls that succeeded, ever. */
  allocCount: number;
  /** `deallocate` calls that freed a block, ever. */
  freeCount: number;
  /** Bytes this allocator holds from its backing. */
  reservedBytes: number;
}

/** Explains how free memory is laid out: the answer to "why did this allocation fail?". */
export interface StorageReport {
  /** Bytes the allocator holds from its backing. */
  reservedBytes: number;
  /** Bytes in live blocks (usable sizes). */
  usedBytes: number;
  /** Bytes free for reuse (sum of free blocks/slots). */
  totalFreeBytes: number;
  /** The largest single request that would succeed without growing. */
  largestFreeBlock: number;
  /** Free blocks by size: `counts[i]` blocks of size in `[2^i, 2^(i+1))` (bucket 0 holds size 0..1). */
  freeHistogram: number[];
  /** `1 - largestFreeBlock / totalFreeBytes` (0 when nothing is free): 0 = one free block, near 1 = shattered. */
  fragmentation: number;
}

/** An allocator that can verify its own invariants. */
export interface Checkable {
  /** Walks the allocator's structures and throws CorruptionError at the first broken invariant. */
  check(): void;
}

/** An allocator that can explain its free memory. */
export interface StorageReporting {
  storageReport(): StorageReport;
}

/** Where a live block came from: its scope path and, when captured, the allocation's call stack. */
export interface BlockOrigin {
  /** Scope path, e.g. `root/physics`. */
  scope: string;
  /** Size asked for. */
  size: number;
  /** Call stack of the allocation (frames joined by newlines), when captured. */
  stack?: string;
  /**
   * The pointer the owner handed out, when the pointer asked about is the
   * start of the block's backing block instead (a trace scope's header lies in
   * front of it). `size` is then the size asked at that pointer; an allocator
   * below the scope names the user's block with the two.
   */
  ptr?: Ptr;
}

/**
 * Implemented by allocators that know where blocks came from (trace scopes),
 * and forwarded by wrappers (debug allocators), so error messages can name
 * the owning scope and the allocation's call stack.
 */
export interface OriginTracking {
  /** The origin of the live block at `ptr`, or undefined when unknown. Cold path. */
  originOf(ptr: Ptr): BlockOrigin | undefined;
}

/** True when `allocator` implements {@link OriginTracking}. */
export function hasOriginTracking(allocator: object): allocator is OriginTracking {
  return typeof (allocator as Partial<OriginTracking>).originOf === "function";
}

/**
 * Implemented by allocators that attribute blocks to labels (trace scopes):
 * a container names what it holds (`HashMap<u32, u32> "entities"`), and the
 * scope's report, leak reports and folded stacks show its blocks under that
 * name. A label id is valid only for the allocator (the tree of scopes) that
 * gave it; 0 means no label. Allocators without labels ignore the extra
 * argument, so pass one only to an allocator {@link hasBlockLabels} accepts.
 */
export interface BlockLabels {
  /** The id of `label` (a positive integer, the same for the same text), for `allocate`/`reallocate`. Cold: call once, keep the id. */
  labelId(label: string): number;
  /** `allocate` attributing the block to label id `label` (0: none). */
  allocate(size: number, align?: number, label?: number): Ptr;
  /** `reallocate` attributing the block to label id `label`; 0 (the default) keeps the block's label. */
  reallocate(ptr: Ptr, newSize: number, align?: number, label?: number): Ptr;
}

/** True when `allocator` implements {@link BlockLabels}: decide once (at construction), not per call. */
export function hasBlockLabels(allocator: object): allocator is Allocator & BlockLabels {
  return typeof (allocator as Partial<BlockLabels>).labelId === "function";
}
