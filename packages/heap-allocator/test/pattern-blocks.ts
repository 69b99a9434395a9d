import { hex } from "@memkit/core";
import type { HeapAllocator } from "@memkit/heap-allocator";

/** A live block a test holds: its pointer, the size asked for and its pattern identity. */
export interface Held {
  ptr: number;
  size: number;
  id: number;
}

/** The byte block `id` holds at `offset`: differs between blocks and positions, so overlaps and shifts show. */
export function patternByte(id: number, offset: number): number {
  return (Math.imul(id, 0x9e3779b1) + offset * 0x3b + (offset >>> 8)) & 0xff;
}

/** Fills `size` bytes at `ptr` with block `id`'s pattern. */
export function fill(heap: HeapAllocator, ptr: number, size: number, id: number): void {
  const u8 = heap.space.u8;
  for (let i = 0; i < size; i++) u8[ptr + i] = patternByte(id, i);
}

/** Throws naming the block and offset unless the first `size` bytes at `ptr` hold block `id`'s pattern. */
export function verify(heap: HeapAllocator, ptr: number, size: number, id: number): void {
  const u8 = heap.space.u8;
  for (let i = 0; i < size; i++) {
    if (u8[ptr + i] !== patternByte(id, i)) {
      throw new Error(`block ${hex(ptr)} (${size} B, #${id}) changed at +${i}: found ${u8[ptr + i]}, expected ${patternByte(id, i)}`);
    }
  }
}

/** Throws when two held blocks overlap (by the sizes asked for). */
export function verifyDisjoint(blocks: Iterable<Held>): void {
  const sorted = [...blocks].sort((a, b) => a.ptr - b.ptr);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (a.ptr + Math.max(a.size, 1) > b.ptr) throw new Error(`blocks ${hex(a.ptr)} (${a.size} B) and ${hex(b.ptr)} overlap`);
  }
}
