import { describe, expect, it } from "vitest";
import { AddressSpace, DestroyedError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";

const PAGE = 4096;

/** Fills every page left with one-page spans; returns them in address order. */
function fillPages(pages: PageAllocator): number[] {
  const ones: number[] = [];
  for (;;) {
    try {
      ones.push(pages.allocate(PAGE));
    } catch {
      return ones.sort((a, b) => a - b);
    }
  }
}

function setup(): { space: AddressSpace; pages: PageAllocator; heap: HeapAllocator; keep: number; cached: number; ones: number[] } {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
  const pages = new PageAllocator(space, { pageSize: PAGE });
  const heap = new HeapAllocator(pages, { spanBytes: 64 << 10 });
  const keep = heap.allocate(40_000); // in the home span
  space.u8.fill(0x33, keep, keep + 40_000);
  const second = heap.allocate(40_000); // leases a second span
  const cached = pages.range.start + Math.floor((second - pages.range.start) / (64 << 10)) * (64 << 10);
  const ones = fillPages(pages);
  heap.deallocate(second); // the second span is empty now: the heap keeps it cached
  expect(heap.stats().reservedBytes).toBe(128 << 10);
  return { space, pages, heap, keep, cached, ones };
}

describe("HeapAllocator reclaim", () => {
  it("gives its cached empty span back when its own lease fails, and retries", () => {
    const { space, pages, heap, keep, cached, ones } = setup();
    // Free 8 pages right after the cached span: 16 + 8 pages make a run big enough for a 90 KB block.
    const after = ones.filter((p) => p > cached).slice(0, 8);
    expect(after[0]).toBe(cached + (64 << 10));
    for (const p of after) pages.deallocate(p);
    const big = heap.allocate(90_000);
    expect(heap.allocatedSize(big)).toBeGreaterThanOrEqual(90_000);
    heap.check();
    pages.check();
    expect(heap.owns(big)).toBe(true);
    expect(big).toBeGreaterThanOrEqual(cached);
    expect(space.u8.subarray(keep, keep + 40_000).every((b) => b === 0x33)).toBe(true);
  });

  it("gives its cached empty span back to another lessee of the page allocator", () => {
    const { pages, heap, cached } = setup();
    const span = pages.allocate(64 << 10);
    expect(span).toBe(cached);
    expect(heap.stats().reservedBytes).toBe(64 << 10);
    heap.check();
    pages.check();
  });

  it("reclaim() returns the cached span's bytes and keeps the home span", () => {
    const { heap, pages } = setup();
    expect(heap.reclaim()).toBe(64 << 10);
    expect(heap.reclaim()).toBe(0);
    heap.check();
    pages.check();
    const again = heap.allocate(40_000);
    heap.deallocate(again);
    heap.destroy();
    expect(() => heap.reclaim()).toThrow(DestroyedError);
    expect(pages.reclaim()).toBe(0); // the destroyed heap's hook is gone from the page allocator
    pages.check();
  });
});
