import { describeAllocatorContract, type ContractSubject } from "@memkit/core/testing";
import type { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator, type TraceAllocatorOptions } from "../src/index.js";
import { makePages } from "./helpers.js";

// 256-byte pages keep thousands of live spans cheap; every size rounds up to a page.
const options = { maxBlockSize: 4096, liveBlocks: 1500, randomOps: 60_000, randomLive: 400 };

/**
 * A subject on the scope at `path` (relative to the root; "" for the root) of a new tree.
 * Its `attach` is a second handle (TraceAllocator.attach, then openScope), its `destroy` ends the tree.
 */
function subject(treeOptions: TraceAllocatorOptions, path = "", childOptions: Parameters<TraceAllocator["child"]>[1] = {}): ContractSubject {
  const pages = makePages();
  const root = new TraceAllocator(pages, treeOptions);
  let scope = root;
  for (const name of path === "" ? [] : path.split("/")) scope = scope.child(name, childOptions);
  const open = (handle: TraceAllocator): TraceAllocator => (path === "" ? handle : handle.openScope(path));
  return {
    allocator: scope,
    check: () => root.check(),
    dispose: () => {
      for (let s: TraceAllocator | undefined = scope; s !== undefined; s = s.parent) s.dispose();
      root.destroy();
    },
    attach: () => attached(pages, root, open),
    destroy: () => root.destroy(),
  };
}

function attached(pages: PageAllocator, root: TraceAllocator, open: (handle: TraceAllocator) => TraceAllocator): ContractSubject {
  const other = TraceAllocator.attach(pages.space, root.controlPtr, { backing: pages });
  return { allocator: open(other), check: () => other.check(), dispose: () => other.detach() };
}

describeAllocatorContract('TraceAllocator ("counts") over PageAllocator', () => subject({}), options);

describeAllocatorContract('TraceAllocator ("callstacks") over PageAllocator', () => subject({ tracing: "callstacks" }), { ...options, randomOps: 30_000 });

describeAllocatorContract("TraceAllocator (guardHeaders) over PageAllocator", () => subject({ guardHeaders: true }), { ...options, randomOps: 30_000 });

describeAllocatorContract('TraceAllocator (tracing "off") over PageAllocator', () => subject({ tracing: "off" }), { ...options, randomOps: 30_000 });

describeAllocatorContract("TraceAllocator child scope root/engine/physics", () => subject({}, "engine/physics", { budget: 1 << 30 }), options);

// Siblings in one tree: the kit's "pointer from another allocator" is then a sibling's
// block, which must be refused as a cross-scope free. Destroying one destroys the tree,
// so the next subjects start a new one.
let shared = new TraceAllocator(makePages(256 << 20));
let sibling = 0;
describeAllocatorContract(
  "TraceAllocator sibling scopes of one tree",
  () => {
    const tree = shared;
    const name = `subsystem-${sibling++}`;
    const scope = tree.child(name, { tracing: sibling % 2 === 0 ? "counts" : "callstacks" });
    const pages = tree.backing as PageAllocator;
    return {
      allocator: scope,
      check: () => tree.check(),
      dispose: () => {
        if (scope.alive) scope.dispose();
      },
      attach: () => attached(pages, tree, (handle) => handle.openScope(name)),
      destroy: () => {
        tree.destroy();
        shared = new TraceAllocator(makePages(256 << 20));
      },
    };
  },
  { ...options, randomOps: 20_000 },
);
