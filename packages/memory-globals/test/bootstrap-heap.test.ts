import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, OutOfMemoryError, SeededRandom, type Allocator } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { BootstrapHeap } from "@memkit/memory-globals";

const BASE = 4096;

describe("BootstrapHeap lifecycle", () => {
  it("an attached handle carves after what the first carved, and the region refuses to carve past its end", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
    const boot = BootstrapHeap.create(space, BASE, 4096);
    const a = boot.carve(1000);
    const other = BootstrapHeap.attach(space, BASE);
    expect(other.bytes).toBe(4096);
    expect(other.usedBytes).toBe(boot.usedBytes);
    const b = other.carve(100, 64);
    expect(b).toBeGreaterThanOrEqual(a + 1000);
    expect(b % 64).toBe(0);
    expect(boot.usedBytes).toBe(b + 100 - BASE);
    expect(() => other.carve(4096)).toThrow(OutOfMemoryError);
    other.detach();
    expect(() => other.carve(8)).toThrow(DestroyedError);
    expect(boot.carve(8)).toBeGreaterThan(b);
  });

  it("refuses a damaged region: the bump top is sealed with the header, so a rolled-back top cannot carve over what was carved", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
    const boot = BootstrapHeap.create(space, BASE, 8192);
    boot.carve(2000);
    const w = BASE >>> 2;
    const u32 = space.u32;
    const saved = u32.slice(w, w + 6);
    u32[w + 4] = 24; // the top, rolled back to the start
    expect(() => BootstrapHeap.attach(space, BASE)).toThrow(CorruptionError);
    u32.set(saved, w);
    u32[w + 2] = 1 << 30; // bytes: a region past the end of memory
    expect(() => BootstrapHeap.attach(space, BASE)).toThrow(CorruptionError);
    u32.set(saved, w);
    u32[w] = 0; // a zeroed magic
    expect(() => BootstrapHeap.attach(space, BASE)).toThrow(/found magic/);
    u32.set(saved, w);
    expect(BootstrapHeap.attach(space, BASE).usedBytes).toBe(boot.usedBytes);
  });

  it("destroy retires the region for every handle", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
    const boot = BootstrapHeap.create(space, BASE, 4096);
    const other = BootstrapHeap.attach(space, BASE);
    other.destroy();
    expect(() => boot.carve(8)).toThrow(DestroyedError);
    expect(() => BootstrapHeap.attach(space, BASE)).toThrow(/was destroyed/);
  });
});

/**
 * What MemoryGlobals lays out: a bootstrap region, a page allocator whose
 * control block is carved from it, and a few more carved blocks; then the
 * handles are dropped. The damage hits the region's header and the page
 * control block; attach opens the region and the page allocator again, and
 * the handle under test carves small blocks from the region and takes
 * larger ones from the pages.
 */
function build(seed: number): ReturnType<AttachMutationTarget["build"]> {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
  const pageControl = PageAllocator.controlBytes(space.maximumBytes, 4096);
  const boot = BootstrapHeap.create(space, BASE, pageControl + 4096);
  const controlPtr = boot.carve(pageControl, 8);
  const pages = new PageAllocator(space, { pageSize: 4096, controlPtr, firstByte: boot.limit });
  const rng = new SeededRandom(seed + 3);
  const live: [number, number][] = [[controlPtr, pageControl]];
  for (let i = 0; i < 4 + (seed % 4); i++) {
    const n = rng.int(8, 300);
    live.push([boot.carve(n), n]);
  }
  for (let i = 0; i < 10; i++) {
    const p = pages.allocate(rng.int(1, 20_000));
    live.push([p, pages.allocatedSize(p)]);
  }
  const header = [BASE, BASE + 24] as const;
  const stateEnd = controlPtr + 4 * 200;
  pages.detach();
  boot.detach();
  return {
    space,
    controlPtr: BASE,
    regions: [header, header, [controlPtr, stateEnd]],
    live,
    reserved: [[0, BASE + 24]],
  };
}

const target: AttachMutationTarget = {
  build,
  attach(space, base) {
    const boot = BootstrapHeap.attach(space, base);
    const first = base + 24; // the page control block is the first block carved
    const pages = PageAllocator.attach(space, first);
    const allocator = {
      name: "bootstrap+pages",
      space,
      allocate: (size: number, align = 8) => (size <= 256 ? boot.carve(size, align) : pages.allocate(size, align)),
    } as Allocator;
    return { allocator, check: () => pages.check() };
  },
};

describe("BootstrapHeap.attach trusts nothing", () => {
  it("ends 480 damaged regions in a CorruptionError at attach or check(), or in handles that carve and serve only good blocks", () => {
    const outcome = runAttachMutations(target, { cases: 480 });
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
  });
});
