import { AddressSpace } from "@memkit/core";
import { describeAllocatorContract, type ContractSubject } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";

/** A heap (and its page allocator) with the lifecycle hooks: `attach` opens a second heap handle from the control block. */
function makeHeap(pageSize: number, spanBytes: number, maximumBytes = 256 << 20): ContractSubject {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes });
  const pages = new PageAllocator(space, { pageSize });
  const heap = new HeapAllocator(pages, { spanBytes });
  return {
    allocator: heap,
    check: () => {
      heap.check();
      pages.check();
    },
    dispose: () => {
      heap.destroy();
      pages.destroy();
    },
    destroy: () => heap.destroy(),
    attach: () => {
      const second = HeapAllocator.attach(space, heap.controlPtr, { name: "heap-2" });
      return { allocator: second, check: () => second.check(), dispose: () => second.detach() };
    },
  };
}

describeAllocatorContract("HeapAllocator", () => makeHeap(4096, 256 << 10), { maxBlockSize: 64 << 10 });

// Spans of 64 KiB pages, alignments up to 64 KiB.
describeAllocatorContract("HeapAllocator (64 KiB pages, align up to 64 KiB)", () => makeHeap(65536, 1 << 20), {
  maxAlign: 65536,
  maxBlockSize: 32 << 10,
  liveBlocks: 1000,
  randomOps: 30_000,
  randomLive: 300,
});

// Tiny spans: nearly every sequence leases and returns spans.
describeAllocatorContract("HeapAllocator (4 KiB spans)", () => makeHeap(1024, 4096, 64 << 20), {
  maxBlockSize: 8192,
  randomOps: 30_000,
  randomLive: 300,
});

// The smallest pages the page allocator offers: span bases are only 256-aligned.
describeAllocatorContract("HeapAllocator (256 B pages)", () => makeHeap(256, 8192, 32 << 20), {
  maxBlockSize: 8192,
  liveBlocks: 1000,
  randomOps: 20_000,
  randomLive: 300,
});
