import { InvalidArgumentError, describe, formatBytes } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { MAX_MAX_SLOT_SIZE, MIN_MAX_SLOT_SIZE } from "./size-classes.js";

/** Options for {@link SlotAllocator}. */
export interface SlotAllocatorOptions {
  /** Name used in messages, reports and the page allocator's owner table. @defaultValue "slots" */
  name?: string;
  /** Largest slot: a power of two from 16 to 65536, at most slabBytes / 8. @defaultValue 1024 */
  maxSlotSize?: number;
  /**
   * Bytes per slab: a power of two, at least the page size and 4 KiB, at most 16 MiB.
   * @defaultValue 65536 (one default page)
   */
  slabBytes?: number;
  /**
   * Empty slabs kept (across all classes) for reuse before further empty slabs
   * go back to the page allocator: the hysteresis that stops a free/alloc pair
   * at a slab boundary from returning and leasing a slab each time.
   * @defaultValue 4
   */
  keepEmptySlabs?: number;
}

/** Options for {@link SlotAllocator.attach}. */
export interface SlotAttachOptions {
  /** Name used in messages and reports for this handle. @defaultValue "slots" */
  name?: string;
  /**
   * The page allocator handle to lease slabs from: it must be on the control
   * block this slot allocator was created over. @defaultValue this thread's
   * live handle on that control block, or a new handle attached to it
   */
  pages?: PageAllocator;
}

/** Options with defaults applied and validated. */
export interface ResolvedSlotOptions {
  name: string;
  maxSlotSize: number;
  slabBytes: number;
  keepEmptySlabs: number;
}

/** Largest slab. */
export const MAX_SLAB_BYTES = 16 << 20;
/** Most empty slabs kept. */
export const MAX_KEEP_EMPTY = 1 << 20;

/** Smallest slab over pages of `pageSize` bytes: a page, and at least 4 KiB. */
export function minSlabBytes(pageSize: number): number {
  return Math.max(pageSize, 4096);
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Applies defaults and throws InvalidArgumentError naming the bad option. */
export function resolveOptions(options: SlotAllocatorOptions, pageSize: number): ResolvedSlotOptions {
  const name = options.name ?? "slots";
  const maxSlotSize = options.maxSlotSize ?? 1024;
  const slabBytes = options.slabBytes ?? Math.max(pageSize, 65536);
  const keepEmptySlabs = options.keepEmptySlabs ?? 4;
  const who = `SlotAllocator "${name}"`;
  if (!isPow2(slabBytes) || slabBytes < minSlabBytes(pageSize) || slabBytes > MAX_SLAB_BYTES) {
    throw new InvalidArgumentError(
      `${who}: option slabBytes must be a power of two from ${formatBytes(minSlabBytes(pageSize))} (the page size, at least 4 KiB) ` +
        `to ${formatBytes(MAX_SLAB_BYTES)}, received ${describe(slabBytes)}.`,
    );
  }
  if (!isPow2(maxSlotSize) || maxSlotSize < MIN_MAX_SLOT_SIZE || maxSlotSize > MAX_MAX_SLOT_SIZE || maxSlotSize > slabBytes / 8) {
    throw new InvalidArgumentError(
      `${who}: option maxSlotSize must be a power of two from ${MIN_MAX_SLOT_SIZE} to ${Math.min(MAX_MAX_SLOT_SIZE, slabBytes / 8)} ` +
        `(at most slabBytes / 8 = ${slabBytes / 8}, so a slab holds several slots), received ${describe(maxSlotSize)}.`,
    );
  }
  if (!Number.isInteger(keepEmptySlabs) || keepEmptySlabs < 0 || keepEmptySlabs > MAX_KEEP_EMPTY) {
    throw new InvalidArgumentError(`${who}: option keepEmptySlabs must be an integer from 0 to ${MAX_KEEP_EMPTY}, received ${describe(keepEmptySlabs)}.`);
  }
  return { name, maxSlotSize, slabBytes, keepEmptySlabs };
}
