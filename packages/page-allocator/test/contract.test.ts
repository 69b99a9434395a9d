import { AddressSpace, ThreadTable } from "@memkit/core";
import { describeAllocatorContract, type ContractSubject } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";

/** A page allocator with the lifecycle hooks: `attach` opens a second handle from the control block. */
function subject(pageSize: number, maximumBytes: number, shared = false): ContractSubject {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes, shared });
  const table = shared ? ThreadTable.create(space, 1024) : undefined;
  const pages = new PageAllocator(space, { pageSize, controlPtr: 8192, thread: table?.claim("main") });
  return {
    allocator: pages,
    check: () => pages.check(),
    dispose: () => pages.destroy(),
    destroy: () => pages.destroy(),
    attach: () => {
      const second = PageAllocator.attach(space, pages.controlPtr, { name: "pages-2", thread: table?.claim("second") });
      return { allocator: second, check: () => second.check(), dispose: () => second.detach() };
    },
  };
}

// Small pages keep thousands of live spans cheap; sizes round up to pages.
describeAllocatorContract("PageAllocator (1 KiB pages)", () => subject(1024, 64 << 20), {
  maxBlockSize: 16 << 10,
  liveBlocks: 2000,
  randomOps: 100_000,
  randomLive: 400,
});

describeAllocatorContract("PageAllocator (64 KiB pages)", () => subject(65536, 512 << 20), {
  maxBlockSize: 256 << 10,
  maxAlign: 65536,
  liveBlocks: 300,
  randomOps: 20_000,
  randomLive: 100,
});

// On a shared space every operation runs under the allocator's lock with logged writes.
describeAllocatorContract("PageAllocator (1 KiB pages, shared space, locked)", () => subject(1024, 64 << 20, true), {
  maxBlockSize: 16 << 10,
  liveBlocks: 2000,
  randomOps: 100_000,
  randomLive: 400,
});
