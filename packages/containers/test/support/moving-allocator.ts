import {
  AddressSpace,
  DoubleFreeError,
  OutOfMemoryError,
  alignUp,
  hex,
  invalidPointer,
  validateAllocation,
  validatePointerShape,
} from "@memkit/core";
import type { Allocator, AllocatorStats, BlockOrigin, OriginTracking, Ptr } from "@memkit/core";

/** Byte written over freed memory so a stale read shows up as garbage, not as the old value. */
export const FREED_BYTE = 0xdd;

/** Options of {@link MovingAllocator}. */
export interface MovingAllocatorOptions {
  /** Extra usable bytes reported by allocatedSize (tests that containers use slack). @defaultValue 0 */
  slack?: number;
  /** Scope name reported through originOf. @defaultValue "test" */
  scope?: string;
}

/**
 * A deliberately hostile test allocator: bump allocation (memory is never
 * reused), `reallocate` always moves, freed bytes are poisoned, and the
 * address space grows in 64 KiB steps, so a container that keeps a stale
 * pointer or a stale view reads garbage at once. Tracks every live block, so
 * a double free or a foreign pointer throws like a real allocator.
 */
export class MovingAllocator implements Allocator, OriginTracking {
  readonly name: string;
  readonly space: AddressSpace;
  readonly live = new Map<Ptr, number>();
  /** Make the next `n` allocate/reallocate calls throw OutOfMemoryError. */
  failNext = 0;
  private top = 64;
  private readonly slack: number;
  private readonly scope: string;
  private counters = { allocCount: 0, freeCount: 0, peakLiveBytes: 0, liveBytes: 0 };

  constructor(space: AddressSpace, name = "moving", options: MovingAllocatorOptions = {}) {
    this.space = space;
    this.name = name;
    this.slack = options.slack ?? 0;
    this.scope = options.scope ?? "test";
  }

  allocate(size: number, align = 8): Ptr {
    validateAllocation(`${this.name}.allocate`, size, align);
    if (this.failNext > 0) {
      this.failNext--;
      throw new OutOfMemoryError(`${this.name}: injected failure for ${size} B`);
    }
    const ptr = alignUp(this.top, Math.max(align, 8));
    const end = ptr + Math.max(size + this.slack, 1);
    if (end > this.space.maximumBytes) throw new OutOfMemoryError(`${this.name}: ${size} B does not fit`);
    this.space.ensureByteLength(end);
    this.top = end;
    this.live.set(ptr, size);
    this.counters.allocCount++;
    this.counters.liveBytes += size;
    this.counters.peakLiveBytes = Math.max(this.counters.peakLiveBytes, this.counters.liveBytes);
    return ptr;
  }

  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    validatePointerShape(`${this.name}.deallocate`, ptr);
    const size = this.live.get(ptr);
    if (size === undefined) {
      if (ptr < this.top) throw new DoubleFreeError(`${this.name}: ${hex(ptr)} is not live (freed twice?)`);
      throw invalidPointer(`${this.name}.deallocate`, ptr, "never allocated");
    }
    this.live.delete(ptr);
    this.space.u8.fill(FREED_BYTE, ptr, ptr + size + this.slack);
    this.counters.freeCount++;
    this.counters.liveBytes -= size;
  }

  reallocate(ptr: Ptr, newSize: number, align = 8): Ptr {
    if (ptr === 0) return this.allocate(newSize, align);
    validateAllocation(`${this.name}.reallocate`, newSize, align);
    const size = this.live.get(ptr);
    if (size === undefined) throw invalidPointer(`${this.name}.reallocate`, ptr, "not live");
    const moved = this.allocate(newSize, align);
    this.space.u8.copyWithin(moved, ptr, ptr + Math.min(size, newSize));
    this.deallocate(ptr);
    return moved;
  }

  allocatedSize(ptr: Ptr): number {
    const size = this.live.get(ptr);
    if (size === undefined) throw invalidPointer(`${this.name}.allocatedSize`, ptr, "not live");
    return size + this.slack;
  }

  owns(ptr: Ptr): boolean {
    return this.live.has(ptr);
  }

  stats(): AllocatorStats {
    return {
      liveBytes: this.counters.liveBytes,
      liveCount: this.live.size,
      peakLiveBytes: this.counters.peakLiveBytes,
      allocCount: this.counters.allocCount,
      freeCount: this.counters.freeCount,
      reservedBytes: this.top,
    };
  }

  originOf(ptr: Ptr): BlockOrigin | undefined {
    const size = this.live.get(ptr);
    return size === undefined ? undefined : { scope: this.scope, size };
  }
}

/** A fresh 64 KiB space (growing to `maximumBytes`) with a MovingAllocator over it. */
export function movingAllocator(options: MovingAllocatorOptions & { maximumBytes?: number; name?: string } = {}): MovingAllocator {
  const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: options.maximumBytes ?? 256 << 20 });
  return new MovingAllocator(space, options.name ?? "moving", options);
}
