import { AddressSpace, type Allocator, type AllocatorStats, type Checkable, type Ptr } from "@memkit/core";
import { fillPattern, findPatternMismatch, type ContractSubject } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { ScratchAllocator } from "@memkit/temp-allocator";

/** A fresh address space with a page allocator over it. */
export function makePages(options: { initialBytes?: number; maximumBytes?: number; pageSize?: number } = {}): PageAllocator {
  const space = AddressSpace.create({ initialBytes: options.initialBytes ?? 1 << 20, maximumBytes: options.maximumBytes ?? 256 << 20 });
  return new PageAllocator(space, { pageSize: options.pageSize ?? 4096 });
}

/** A backing allocator that counts the calls it forwards, to prove a steady state makes none. */
export class CountingBacking implements Allocator {
  allocateCalls = 0;
  deallocateCalls = 0;
  constructor(readonly inner: Allocator) {}
  get name(): string {
    return this.inner.name;
  }
  get space(): AddressSpace {
    return this.inner.space;
  }
  allocate(size: number, align?: number): Ptr {
    const ptr = this.inner.allocate(size, align);
    this.allocateCalls++;
    return ptr;
  }
  deallocate(ptr: Ptr): void {
    this.inner.deallocate(ptr);
    if (ptr !== 0) this.deallocateCalls++;
  }
  reallocate(ptr: Ptr, newSize: number, align?: number): Ptr {
    return this.inner.reallocate(ptr, newSize, align);
  }
  allocatedSize(ptr: Ptr): number {
    return this.inner.allocatedSize(ptr);
  }
  owns(ptr: Ptr): boolean {
    return this.inner.owns(ptr);
  }
  stats(): AllocatorStats {
    return this.inner.stats();
  }
}

/**
 * For the contract's random sequence: forwards every call to a temp
 * allocator, and reports as live only the blocks the caller has not freed.
 * A temp allocator defers most frees (the block stays allocated, and counted,
 * until its mark is released or its frame recycled), so its own liveCount
 * is higher by design. Every byte-pattern, overlap and reallocate check of
 * the sequence still runs against the temp allocator's memory, and `check`
 * runs the allocator's own walk and verifies it still owns every block the
 * caller holds, with at least the size asked for.
 */
export function deferredFreeSubject(inner: Allocator & Checkable, dispose: () => void): ContractSubject {
  const live = new Map<Ptr, number>();
  let bytes = 0;
  let peak = 0;
  let allocs = 0;
  let frees = 0;
  const add = (ptr: Ptr, size: number): void => {
    live.set(ptr, size);
    bytes += size;
    peak = Math.max(peak, bytes);
  };
  const remove = (ptr: Ptr): void => {
    bytes -= live.get(ptr) ?? 0;
    live.delete(ptr);
  };
  const allocator: Allocator = {
    name: inner.name,
    space: inner.space,
    allocate(size, align) {
      const ptr = inner.allocate(size, align);
      add(ptr, size);
      allocs++;
      return ptr;
    },
    deallocate(ptr) {
      inner.deallocate(ptr);
      if (ptr !== 0) {
        remove(ptr);
        frees++;
      }
    },
    reallocate(ptr, newSize, align) {
      const moved = inner.reallocate(ptr, newSize, align);
      if (ptr !== 0) remove(ptr);
      add(moved, newSize);
      return moved;
    },
    allocatedSize: (ptr) => inner.allocatedSize(ptr),
    owns: (ptr) => live.has(ptr) && inner.owns(ptr),
    stats: () => ({ ...inner.stats(), liveCount: live.size, liveBytes: bytes, peakLiveBytes: peak, allocCount: allocs, freeCount: frees }),
  };
  return {
    allocator,
    check: () => {
      inner.check();
      for (const [ptr, size] of live) {
        if (!inner.owns(ptr)) throw new Error(`${inner.name} no longer owns ${ptr}, which the caller still holds`);
        if (inner.allocatedSize(ptr) < size) throw new Error(`${inner.name}: allocatedSize(${ptr}) < ${size}`);
      }
      if (inner.stats().liveCount < live.size) throw new Error(`${inner.name}: liveCount ${inner.stats().liveCount} < ${live.size} held`);
    },
    dispose,
  };
}

/** A block a test keeps, with its pattern identity. */
export interface Held {
  ptr: Ptr;
  size: number;
  id: number;
}

let nextId = 1;

/** Fills a new block with a fresh pattern and returns its record. */
export function hold(allocator: Allocator, ptr: Ptr, size: number): Held {
  const id = nextId++;
  fillPattern(allocator, ptr, size, id);
  return { ptr, size, id };
}

/** Throws with the block and offset when a held block lost its pattern. */
export function expectIntact(allocator: Allocator, block: Held, what = "block"): void {
  const bad = findPatternMismatch(allocator, block.ptr, block.size, block.id);
  if (bad >= 0) throw new Error(`${what} ${block.ptr} (${block.size} B) changed at +${bad}`);
}

/** Runs `fn`, expecting it to throw an error with `code`; returns the error. */
export function catchError(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected an error, but the call returned");
}

/** A scratch allocator over a counting backing, with chunks of `chunkBytes`. */
export function scratchRig(chunkBytes = 4096): { pages: PageAllocator; backing: CountingBacking; scratch: ScratchAllocator } {
  const pages = makePages();
  const backing = new CountingBacking(pages);
  const scratch = new ScratchAllocator(backing, { chunkBytes });
  return { pages, backing, scratch };
}
