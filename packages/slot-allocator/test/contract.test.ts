import { AddressSpace } from "@memkit/core";
import { describeAllocatorContract } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import { makeRig } from "./helpers.js";

function subject(options: Parameters<typeof makeRig>[0] = {}) {
  return () => {
    const rig = makeRig(options);
    return { allocator: rig.slots, check: () => rig.slots.check(), dispose: () => rig.dispose() };
  };
}

// maxAlign 512, not 1024: the kit's alignment check asks for align + 1 bytes
// (1025 at align 1024), beyond the 1024-byte largest slot. The 2 KiB-slot
// configuration below covers align 1024.
describeAllocatorContract("SlotAllocator (defaults)", subject(), {
  maxBlockSize: 1024,
  maxAlign: 512,
  tooLargeSize: 1025,
  randomOps: 100_000,
});

describeAllocatorContract("SlotAllocator (2 KiB slots, 4 KiB pages, 32 KiB slabs, no spares)", subject({ pageSize: 4096, maxSlotSize: 2048, slabBytes: 32768, keepEmptySlabs: 0 }), {
  maxBlockSize: 2048,
  maxAlign: 1024,
  randomOps: 50_000,
});

// Every subject leases from one shared page allocator, so the kit's "pointer
// from another allocator" really is a live slot of a neighbour: same space,
// another owner in the page map.
let shared: { pages: PageAllocator } | undefined;
let made = 0;
describeAllocatorContract(
  "SlotAllocator (neighbours on one page allocator)",
  () => {
    shared ??= { pages: new PageAllocator(AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 256 << 20 })) };
    const pages = shared.pages;
    const slots = new SlotAllocator(pages, { name: `slots-${++made}` });
    return {
      allocator: slots,
      check: () => {
        slots.check();
        pages.check();
      },
      dispose: () => slots.destroy(),
    };
  },
  { maxBlockSize: 1024, maxAlign: 512, randomOps: 30_000 },
);
