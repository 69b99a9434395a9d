import { describeAllocatorContract } from "@memkit/core/testing";
import { makeGeneric } from "./support.js";

describeAllocatorContract(
  "GenericAllocator",
  () => {
    const { pages, generic } = makeGeneric();
    return {
      allocator: generic,
      check: () => {
        generic.check();
        pages.check();
      },
      dispose: () => generic.destroy(),
    };
  },
  // Sizes up to 1 MiB cross all three tiers (slots <= 1 KiB, heap < 512 KiB, pages above).
  { maxBlockSize: 1 << 20, maxAlign: 65536, randomOps: 100_000 },
);
