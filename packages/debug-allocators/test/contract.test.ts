import type { AddressSpace, Allocator, Ptr } from "@memkit/core";
import { describeAllocatorContract, type ContractOptions, type ContractSubject } from "@memkit/core/testing";
import type { PageAllocator } from "@memkit/page-allocator";
import { CanaryAllocator, DebugAllocator, EndOfPageAllocator, FillAllocator, QuarantineAllocator, debugWrap } from "../src/index.js";
import { makePages } from "./support/fixtures.js";

type Wrapper = Allocator & { controlPtr: Ptr; check(): void; detach(): void; destroy(): void };
type Attach = (space: AddressSpace, controlPtr: Ptr, options: { backing: Allocator }) => Wrapper;

/**
 * One page allocator (256 B pages) per suite, shared by every wrapper the
 * kit builds, so its "pointer from another allocator" check runs: a second
 * wrapper over the same backing hands out real blocks this one must refuse.
 */
function contract(name: string, wrap: (pages: PageAllocator) => Wrapper, attach: Attach, options: ContractOptions = {}): void {
  let pages: PageAllocator | undefined;
  describeAllocatorContract(
    name,
    (): ContractSubject => {
      pages ??= makePages(256, 256 << 20);
      const backing = pages;
      const wrapper = wrap(backing);
      return {
        allocator: wrapper,
        // Through the wrapper: its own walk, then the page allocator's check().
        check: () => wrapper.check(),
        dispose: () => wrapper.destroy(),
        // A second handle from the control block, over the same backing; its dispose detaches it only.
        attach: () => {
          const second = attach(backing.space, wrapper.controlPtr, { backing });
          return { allocator: second, check: () => second.check(), dispose: () => second.detach() };
        },
        destroy: () => wrapper.destroy(),
      };
    },
    options,
  );
}

const canary: Attach = (space, ptr, o) => CanaryAllocator.attach(space, ptr, o);
const endOfPage: Attach = (space, ptr, o) => EndOfPageAllocator.attach(space, ptr, o);
const fill: Attach = (space, ptr, o) => FillAllocator.attach(space, ptr, o);
const quarantine: Attach = (space, ptr, o) => QuarantineAllocator.attach(space, ptr, o);
const debug: Attach = (space, ptr, o) => DebugAllocator.attach(space, ptr, o);

contract("CanaryAllocator over pages", (pages) => new CanaryAllocator(pages), canary);
contract("CanaryAllocator (guardBytes 1, checkEvery 97)", (pages) => new CanaryAllocator(pages, { guardBytes: 1, checkEvery: 97 }), canary, {
  liveBlocks: 1000,
  randomLive: 200,
});
contract("EndOfPageAllocator (overrun) over pages", (pages) => new EndOfPageAllocator(pages), endOfPage);
contract("EndOfPageAllocator (underrun) over pages", (pages) => new EndOfPageAllocator(pages, { mode: "underrun", guardBytes: 40 }), endOfPage);
contract("FillAllocator (0xcd) over pages", (pages) => new FillAllocator(pages), fill);
contract("FillAllocator (random) over pages", (pages) => new FillAllocator(pages, { onAllocate: "random", seed: 42 }), fill);
contract("QuarantineAllocator (64 KiB) over pages", (pages) => new QuarantineAllocator(pages, { maxBytes: 64 << 10 }), quarantine);
contract("QuarantineAllocator (maxBytes 0) over pages", (pages) => new QuarantineAllocator(pages, { maxBytes: 0 }), quarantine);
contract("debugWrap(pages)", (pages) => debugWrap(pages, { quarantine: { maxBytes: 256 << 10 } }), debug);
contract("debugWrap(pages) with stacks and periodic checks", (pages) => debugWrap(pages, { captureStacks: true, checkEvery: 500 }), debug, {
  liveBlocks: 1000,
  randomOps: 10_000,
  randomLive: 200,
});
