import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";
import { describe, expect, it } from "vitest";
import { runSequence } from "./sequence.js";

describe("long seeded sequences", () => {
  it("1M operations with check() every 10k and every byte of every block verified", () => {
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 256 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const heap = new HeapAllocator(pages, { spanBytes: 256 << 10 });
    const { peakLive } = runSequence(heap, { ops: 1_000_000, seed: 0x1badb002, live: 2000, checkEvery: 10_000, maxSize: 300_000 });
    expect(peakLive).toBeGreaterThan(1 << 20);
    const s = heap.stats();
    expect(s.liveCount).toBe(0);
    expect(s.allocCount).toBeGreaterThan(300_000);
    // Everything freed: the heap keeps its home span and at most one cached empty span.
    expect(s.reservedBytes).toBeLessThanOrEqual(2 * heap.spanBytes);
    pages.check();
  });

  it("keeps working while leases grow the address space mid-sequence (and others grow it too)", () => {
    const space = AddressSpace.create({ initialBytes: 64 << 10, maximumBytes: 256 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const heap = new HeapAllocator(pages, { spanBytes: 64 << 10 });
    const start = space.generation;
    const others: number[] = [];
    runSequence(heap, {
      ops: 150_000,
      seed: 0x9e0,
      live: 3000,
      checkEvery: 5000,
      maxSize: 200_000,
      onCheckpoint: (op) => {
        // Another allocator leasing from the same pages grows the memory behind the heap's back.
        if (op % 20_000 === 0) others.push(pages.allocate(512 << 10));
      },
    });
    expect(space.generation - start).toBeGreaterThan(10);
    for (const p of others) pages.deallocate(p);
    pages.check();
  });
});
