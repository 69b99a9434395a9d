import { AddressSpace } from "@memkit/core";
import { describeAllocatorContract, type ContractSubject } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import { makeRig } from "./helpers.js";

/**
 * The kit's subject for one slot allocator: `attach` gives a second handle on
 * the same control block (with the page allocator handle passed in, or found
 * by the attach itself), `destroy` ends the allocator.
 */
function withLifecycle(slots: SlotAllocator, check: () => void, dispose: () => void, passPages: boolean): ContractSubject {
  return {
    allocator: slots,
    check,
    dispose,
    destroy: () => slots.destroy(),
    attach: () => {
      const second = SlotAllocator.attach(slots.space, slots.controlPtr, passPages ? { pages: slots.pages } : {});
      return { allocator: second, check: () => second.check(), dispose: () => second.detach() };
    },
  };
}

function subject(options: Parameters<typeof makeRig>[0] = {}, passPages = true) {
  return () => {
    const rig = makeRig(options);
    return withLifecycle(rig.slots, () => rig.slots.check(), () => rig.dispose(), passPages);
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

describeAllocatorContract("SlotAllocator (2 KiB slots, 4 KiB pages, 32 KiB slabs, no spares; attach finds its page allocator)", subject({ pageSize: 4096, maxSlotSize: 2048, slabBytes: 32768, keepEmptySlabs: 0 }, false), {
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
    return withLifecycle(
      slots,
      () => {
        slots.check();
        pages.check();
      },
      () => slots.destroy(),
      true,
    );
  },
  { maxBlockSize: 1024, maxAlign: 512, randomOps: 30_000 },
);
