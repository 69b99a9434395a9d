import { describeAllocatorContract } from "@memkit/core/testing";
import { MyAllocator } from "./my-allocator.js";

describeAllocatorContract("MyAllocator", () => {
  const a = new MyAllocator(/* fresh state */);
  return { allocator: a, check: () => a.check(), dispose: () => a.destroy() };
}, { maxBlockSize: 4096, randomOps: 100_000 });
