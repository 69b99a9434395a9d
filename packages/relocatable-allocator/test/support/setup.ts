import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { RelocatableAllocator, type RelocatableAllocatorOptions } from "../../src/index.js";

/** A fresh space with a generic allocator as the backing and a relocatable allocator over it. */
export function setup(options: RelocatableAllocatorOptions = {}, initialBytes = 4 << 20): { space: AddressSpace; pages: PageAllocator; backing: GenericAllocator; r: RelocatableAllocator } {
  const space = AddressSpace.create({ initialBytes, maximumBytes: 256 << 20 });
  const pages = new PageAllocator(space);
  const backing = new GenericAllocator(pages);
  const r = new RelocatableAllocator(backing, { chunkBytes: 16 << 10, ...options });
  return { space, pages, backing, r };
}

/** The byte every block's offset `i` holds for block `id`. */
export function pattern(id: number, i: number): number {
  return (id * 131 + i * 7 + 1) & 0xff;
}

export function fill(u8: Uint8Array, ptr: number, size: number, id: number): void {
  for (let i = 0; i < size; i++) u8[ptr + i] = pattern(id, i);
}

/** Offset of the first byte that differs from the pattern, or -1. */
export function mismatch(u8: Uint8Array, ptr: number, size: number, id: number): number {
  for (let i = 0; i < size; i++) if (u8[ptr + i] !== pattern(id, i)) return i;
  return -1;
}
