import { describeAllocatorContract } from "@memkit/core/testing";
import { GenericAllocator } from "@memkit/generic-allocator";
import { makeGeneric } from "./support.js";

describeAllocatorContract(
  "GenericAllocator",
  () => {
    const { space, pages, generic } = makeGeneric();
    return {
      allocator: generic,
      check: () => {
        generic.check();
        pages.check();
      },
      dispose: () => generic.destroy(),
      destroy: () => generic.destroy(),
      // A second handle on the same allocator, found from its control block alone.
      attach: () => {
        const second = GenericAllocator.attach(space, generic.controlPtr);
        return { allocator: second, check: () => second.check(), dispose: () => second.detach() };
      },
    };
  },
  // Sizes up to 1 MiB cross all three tiers (slots <= 1 KiB, heap < 512 KiB, pages above).
  { maxBlockSize: 1 << 20, maxAlign: 65536, randomOps: 100_000 },
);
