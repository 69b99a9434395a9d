import { CorruptionError, DoubleFreeError, OutOfMemoryError, formatSize, hex, invalidPointer, validatePointerShape, type Ptr } from "@memkit/core";
import type { CheckSubject } from "./check.js";
import { DATA_MAX, S_BUMP, S_COUNT, S_SIZE, W_PARKED_PTR } from "./layout.js";

/*
 * The errors of the slow paths: what a pointer that is not a live slot start
 * is, and why a request cannot be served. Cold: only reached on the way to
 * a throw.
 */

/** For messages: `slab 0x… (N-byte slots)`. */
export function describeSlab(base: number, size: number): string {
  return `slab ${hex(base)} (${size}-byte slots)`;
}

/**
 * Throws InvalidPointerError (or DoubleFreeError when deallocating a freed
 * slot) saying what `ptr` is: past the page map, another owner's page, the
 * control block, inside a slot, never handed out, or free.
 */
export function explainPointer(a: CheckSubject, ptr: Ptr, op: string): never {
  const { i32, geo: g, pages } = a;
  const who = `${a.name}.${op}`;
  validatePointerShape(who, ptr);
  if (ptr >= g.slabLimit) throw invalidPointer(who, ptr, `past the end of the page map at ${hex(g.slabLimit)}`);
  const tag = pages.tagOf(ptr);
  const owner = tag >>> 24;
  const data = tag & DATA_MAX;
  if (tag === 0) throw invalidPointer(who, ptr, "not in a slab: the page is free, reserved or untagged");
  if (owner !== g.ownerId) throw invalidPointer(who, ptr, `in pages owned by "${pages.ownerName(owner)}", not in a slab of this allocator`);
  if (data === 0) throw invalidPointer(who, ptr, "inside the slot allocator's control block");
  const base = data << g.pageShift;
  const s = (base + g.hdrOffset) >>> 2;
  const size = i32[s + S_SIZE]!;
  const off = ptr - base;
  const i = Math.floor(off / size);
  const slab = describeSlab(base, size);
  if (i >= i32[s + S_COUNT]!) throw invalidPointer(who, ptr, `in the bitmap/header area at the end of ${slab}`);
  if (i * size !== off) throw invalidPointer(who, ptr, `${off - i * size} bytes into the slot at ${hex(base + i * size)} of ${slab}`);
  if (i >= i32[s + S_BUMP]!) throw invalidPointer(who, ptr, `slot ${i} of ${slab} was never handed out`);
  const live = (i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) !== 0;
  const parked = ptr === i32[g.cw + W_PARKED_PTR];
  if (live && !parked) throw new CorruptionError(`${who}: ${hex(ptr)} is a live slot (slot ${i} of ${slab}) that the fast path refused: the slab header is inconsistent.`);
  if (op === "deallocate") throw new DoubleFreeError(`${who}: ${hex(ptr)} was already freed (slot ${i} of ${slab}).`);
  throw invalidPointer(who, ptr, `slot ${i} of ${slab} is free`);
}

/** The OutOfMemoryError for a size above the largest slot or an alignment no class guarantees. */
export function tooLarge(name: string, maxSlotSize: number, size: number, align: number): OutOfMemoryError {
  const what = size > maxSlotSize ? `that is above the largest slot (${maxSlotSize} B)` : `no class up to ${maxSlotSize} B guarantees align ${align}`;
  return new OutOfMemoryError(
    `${name}: cannot allocate ${formatSize(size)} (align ${align}): ${what}.\n` +
      `  The slot allocator serves sizes 0..${maxSlotSize} with alignment up to the largest power of two dividing their class; ` +
      `use the generic allocator (@memkit/generic-allocator) or a heap for larger or more aligned blocks.`,
  );
}
