import type { Allocator } from "@memkit/core";
import { describeAllocatorContract, type ContractOptions, type ContractSubject } from "@memkit/core/testing";
import type { PageAllocator } from "@memkit/page-allocator";
import { CanaryAllocator, EndOfPageAllocator, FillAllocator, QuarantineAllocator, debugWrap } from "../src/index.js";
import { makePages } from "./support/fixtures.js";

type Wrapper = Allocator & { check(): void; destroy(): void };

/**
 * One page allocator (256 B pages) per suite, shared by every wrapper the
 * kit builds, so its "pointer from another allocator" check runs: a second
 * wrapper over the same backing hands out real blocks this one must refuse.
 */
function contract(name: string, wrap: (pages: PageAllocator) => Wrapper, options: ContractOptions = {}): void {
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
      };
    },
    options,
  );
}

contract("CanaryAllocator over pages", (pages) => new CanaryAllocator(pages));
contract("CanaryAllocator (guardBytes 1, checkEvery 97)", (pages) => new CanaryAllocator(pages, { guardBytes: 1, checkEvery: 97 }), {
  liveBlocks: 1000,
  randomLive: 200,
});
contract("EndOfPageAllocator (overrun) over pages", (pages) => new EndOfPageAllocator(pages));
contract("EndOfPageAllocator (underrun) over pages", (pages) => new EndOfPageAllocator(pages, { mode: "underrun", guardBytes: 40 }));
contract("FillAllocator (0xcd) over pages", (pages) => new FillAllocator(pages));
contract("FillAllocator (random) over pages", (pages) => new FillAllocator(pages, { onAllocate: "random", seed: 42 }));
contract("QuarantineAllocator (64 KiB) over pages", (pages) => new QuarantineAllocator(pages, { maxBytes: 64 << 10 }));
contract("QuarantineAllocator (maxBytes 0) over pages", (pages) => new QuarantineAllocator(pages, { maxBytes: 0 }));
contract("debugWrap(pages)", (pages) => debugWrap(pages, { quarantine: { maxBytes: 256 << 10 } }));
contract("debugWrap(pages) with stacks and periodic checks", (pages) => debugWrap(pages, { captureStacks: true, checkEvery: 500 }), {
  liveBlocks: 1000,
  randomOps: 10_000,
  randomLive: 200,
});
