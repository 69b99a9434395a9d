import type { Allocator, Ptr } from "./types.js";
import { markEntryPoints } from "./entry-points.js";

/**
 * `allocate` with every byte of the block set to 0, for any allocator (what C's
 * `calloc` gives). Reused blocks hold whatever their last owner wrote, so code
 * that expects zeros asks for them here. Errors as `allocate`.
 */
export function allocateZeroed(allocator: Allocator, size: number, align?: number): Ptr {
  const ptr = allocator.allocate(size, align);
  allocator.space.bytes.fill(ptr, 0, size);
  return ptr;
}

// A scope recording call stacks starts the stack at allocateZeroed's caller.
markEntryPoints(allocateZeroed);
