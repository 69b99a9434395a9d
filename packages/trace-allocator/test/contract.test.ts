import { describeAllocatorContract } from "@memkit/core/testing";
import { TraceAllocator } from "../src/index.js";
import { makePages } from "./helpers.js";

// 256-byte pages keep thousands of live spans cheap; every size rounds up to a page.
const options = { maxBlockSize: 4096, liveBlocks: 1500, randomOps: 60_000, randomLive: 400 };

describeAllocatorContract(
  "TraceAllocator (counts) over PageAllocator",
  () => {
    const pages = makePages();
    const root = new TraceAllocator(pages);
    return { allocator: root, check: () => root.check(), dispose: () => root.dispose() };
  },
  options,
);

describeAllocatorContract(
  "TraceAllocator (callstacks) over PageAllocator",
  () => {
    const pages = makePages();
    const root = new TraceAllocator(pages, { tracing: "callstacks" });
    return { allocator: root, check: () => root.check(), dispose: () => root.dispose() };
  },
  { ...options, randomOps: 30_000 },
);

describeAllocatorContract(
  "TraceAllocator (guardHeaders) over PageAllocator",
  () => {
    const pages = makePages();
    const root = new TraceAllocator(pages, { guardHeaders: true });
    return { allocator: root, check: () => root.check(), dispose: () => root.dispose() };
  },
  { ...options, randomOps: 30_000 },
);

describeAllocatorContract(
  'TraceAllocator (tracing "off") over PageAllocator',
  () => {
    const pages = makePages();
    const root = new TraceAllocator(pages, { tracing: "off" });
    return { allocator: root, check: () => root.check(), dispose: () => root.dispose() };
  },
  { ...options, randomOps: 30_000 },
);

describeAllocatorContract(
  "TraceAllocator child scope root/engine/physics",
  () => {
    const pages = makePages();
    const root = new TraceAllocator(pages);
    const physics = root.child("engine").child("physics", { budget: 1 << 30 });
    return {
      allocator: physics,
      check: () => root.check(),
      dispose: () => {
        physics.dispose();
        physics.parent!.dispose();
        root.dispose();
      },
    };
  },
  options,
);

// Siblings in one tree: the kit's "pointer from another allocator" is then a sibling's
// block, which must be refused as a cross-scope free.
const shared = new TraceAllocator(makePages(256 << 20));
let sibling = 0;
describeAllocatorContract(
  "TraceAllocator sibling scopes of one tree",
  () => {
    const scope = shared.child(`subsystem-${sibling++}`, { tracing: sibling % 2 === 0 ? "counts" : "callstacks" });
    return { allocator: scope, check: () => shared.check(), dispose: () => scope.dispose() };
  },
  { ...options, randomOps: 20_000 },
);
