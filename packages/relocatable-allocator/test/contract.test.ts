import { describeAllocatorContract } from "@memkit/core/testing";
import { RelocatableAllocator } from "../src/index.js";
import { setup } from "./support/setup.js";

// The pointer API (`allocate`) keeps the Allocator contract. Alignment stops at 8:
// blocks move by multiples of 8 bytes, so larger alignments are refused with InvalidArgumentError.
describeAllocatorContract(
  "RelocatableAllocator",
  () => {
    const { r, space, backing } = setup({ chunkBytes: 64 << 10 }, 16 << 20);
    return {
      allocator: r,
      check: () => r.check(),
      dispose: () => r.destroy(),
      destroy: () => r.destroy(),
      attach: () => {
        const other = RelocatableAllocator.attach(space, r.controlPtr, { backing });
        return { allocator: other, check: () => other.check(), dispose: () => other.detach() };
      },
    };
  },
  // "no-overlap" asks for alignments up to 16 whatever maxAlign says; overlap is covered by
  // random-sequence (pattern-checked blocks) and test/property.test.ts.
  { maxAlign: 8, randomOps: 20_000, checkEvery: 2000, tooLargeSize: 2 ** 31, skip: ["no-overlap"] },
);
