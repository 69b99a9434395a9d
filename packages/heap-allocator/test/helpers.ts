import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator, type HeapAllocatorOptions } from "@memkit/heap-allocator";
import { MIN_BLOCK } from "../src/layout.js";

export interface Rig {
  space: AddressSpace;
  pages: PageAllocator;
  heap: HeapAllocator;
}

export interface RigOptions extends HeapAllocatorOptions {
  pageSize?: number;
  initialBytes?: number;
  maximumBytes?: number;
}

/** A fresh address space, page allocator and heap. */
export function makeRig(options: RigOptions = {}): Rig {
  const space = AddressSpace.create({ initialBytes: options.initialBytes ?? 1 << 20, maximumBytes: options.maximumBytes ?? 64 << 20 });
  const pages = new PageAllocator(space, { pageSize: options.pageSize ?? 4096 });
  const heap = new HeapAllocator(pages, { name: options.name, spanBytes: options.spanBytes ?? 64 << 10 });
  return { space, pages, heap };
}

/** One block as `heap.walk` reports it. */
export interface WalkedBlock {
  ptr: number;
  usable: number;
  free: boolean;
}

export function blocksOf(heap: HeapAllocator): WalkedBlock[] {
  const out: WalkedBlock[] = [];
  heap.walk((ptr, usable, free) => out.push({ ptr, usable, free }));
  return out;
}

export function freeBlocksOf(heap: HeapAllocator): WalkedBlock[] {
  return blocksOf(heap).filter((b) => b.free);
}

/** Calls `fn`, which must throw, and returns what it threw. */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected a throw");
}

/** Bytes a request of `size` occupies (header included, rounded to 8, at least MIN_BLOCK). */
export const blockBytes = (size: number): number => Math.max(MIN_BLOCK, (size + 4 + 7) & -8);
