import { AddressSpace } from "@memkit/core";
import { describeAllocatorContract, type ContractSubject } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";

/** A page allocator with the lifecycle hooks: `attach` opens a second handle from the control block. */
function subject(pageSize: number, maximumBytes: number): ContractSubject {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes });
  const pages = new PageAllocator(space, { pageSize });
  return {
    allocator: pages,
    check: () => pages.check(),
    dispose: () => pages.destroy(),
    destroy: () => pages.destroy(),
    attach: () => {
      const second = PageAllocator.attach(space, pages.controlPtr, { name: "pages-2" });
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
