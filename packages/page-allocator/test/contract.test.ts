import { AddressSpace } from "@memkit/core";
import { describeAllocatorContract } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";

// Small pages keep thousands of live spans cheap; sizes round up to pages.
describeAllocatorContract(
  "PageAllocator (1 KiB pages)",
  () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space, { pageSize: 1024 });
    return { allocator: pages, check: () => pages.check(), dispose: () => pages.destroy() };
  },
  { maxBlockSize: 16 << 10, liveBlocks: 2000, randomOps: 100_000, randomLive: 400 },
);

describeAllocatorContract(
  "PageAllocator (64 KiB pages)",
  () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 512 << 20 });
    const pages = new PageAllocator(space);
    return { allocator: pages, check: () => pages.check(), dispose: () => pages.destroy() };
  },
  { maxBlockSize: 256 << 10, maxAlign: 65536, liveBlocks: 300, randomOps: 20_000, randomLive: 100 },
);
