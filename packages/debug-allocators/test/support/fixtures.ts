import { AddressSpace, type Allocator, type AllocatorError, type AllocatorStats, type BlockOrigin, type Ptr } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { expect } from "vitest";

/** A fresh space and a page allocator with small pages: the backing of most tests. */
export function makePages(pageSize = 256, maximumBytes = 64 << 20): PageAllocator {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes });
  return new PageAllocator(space, { pageSize });
}

/** The allocation stack a {@link TrackedBacking} reports for every block. */
export const ALLOCATION_STACK = "Blackboard.set (ai/blackboard.ts:57)\nAiSystem.update (ai/system.ts:12)";

/**
 * A stand-in for a trace scope: forwards to a backing and answers
 * `originOf` with scope `root/ai` and a fixed allocation stack, and says it
 * captures stacks. Only what the wrappers need to name a block's origin.
 */
export class TrackedBacking implements Allocator {
  readonly name = "root/ai";
  readonly space: AddressSpace;
  readonly capturesStacks = true;
  readonly sizes = new Map<Ptr, number>();
  checks = 0;

  constructor(readonly backing: Allocator) {
    this.space = backing.space;
  }

  allocate(size: number, align?: number): Ptr {
    const ptr = this.backing.allocate(size, align);
    this.sizes.set(ptr, size);
    return ptr;
  }

  deallocate(ptr: Ptr): void {
    this.backing.deallocate(ptr);
    this.sizes.delete(ptr);
  }

  reallocate(ptr: Ptr, newSize: number, align?: number): Ptr {
    const next = this.backing.reallocate(ptr, newSize, align);
    this.sizes.delete(ptr);
    this.sizes.set(next, newSize);
    return next;
  }

  allocatedSize(ptr: Ptr): number {
    return this.backing.allocatedSize(ptr);
  }

  owns(ptr: Ptr): boolean {
    return this.backing.owns(ptr);
  }

  stats(): AllocatorStats {
    return this.backing.stats();
  }

  check(): void {
    this.checks++;
  }

  originOf(ptr: Ptr): BlockOrigin | undefined {
    const size = this.sizes.get(ptr);
    return size === undefined ? undefined : { scope: "root/ai", size, stack: ALLOCATION_STACK };
  }
}

/** Calls `fn`, expects it to throw an instance of `type` with `code`, and returns the error for further checks. */
export function catchError<T extends AllocatorError>(type: abstract new (...args: never[]) => T, code: string, fn: () => unknown): T {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected the call to throw").toBeInstanceOf(type);
  const error = caught as T;
  expect(error.code).toBe(code);
  return error;
}

/** Fills `size` bytes at `ptr` with a pattern derived from `seed`. */
export function writePattern(allocator: Allocator, ptr: Ptr, size: number, seed: number): void {
  const u8 = allocator.space.u8;
  for (let i = 0; i < size; i++) u8[ptr + i] = (seed * 31 + i * 7) & 0xff;
}

/** True when the bytes at `ptr` still hold the pattern of `seed`. */
export function holdsPattern(allocator: Allocator, ptr: Ptr, size: number, seed: number): boolean {
  const u8 = allocator.space.u8;
  for (let i = 0; i < size; i++) if (u8[ptr + i] !== ((seed * 31 + i * 7) & 0xff)) return false;
  return true;
}
