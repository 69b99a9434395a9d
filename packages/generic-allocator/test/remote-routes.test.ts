import { AddressSpace, CorruptionError, InvalidPointerError, SeededRandom } from "@memkit/core";
import { GenericAllocator, createRemoteRoutes } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { fillPattern as fill, holdsPattern as holds } from "@memkit/test-workers";
import { describe, expect, it } from "vitest";

function rig(): { space: AddressSpace; pages: PageAllocator; a: GenericAllocator; b: GenericAllocator } {
  const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 256 << 20 });
  const pages = new PageAllocator(space, {});
  const routes = createRemoteRoutes(pages);
  const a = new GenericAllocator(pages, { name: "a", routes });
  const b = new GenericAllocator(pages, { name: "b", routes });
  return { space, pages, a, b };
}

describe("routes: one allocator frees and resizes another's blocks (docs/threads.md)", () => {
  it("a block of another routed allocator goes back to it, in every tier, and is freed when the owner collects", () => {
    const { space, a, b } = rig();
    const sizes = [24, 700, 5000, 100_000, 900_000]; // slots, slots, heap, heap, large
    const blocks = sizes.map((size) => {
      const ptr = a.allocate(size);
      fill(space.u8, ptr, size);
      return { ptr, size };
    });
    expect(blocks.map((x) => a.tierOf(x.ptr))).toEqual(["slots", "slots", "heap", "heap", "large"]);
    for (const { ptr, size } of blocks) {
      expect(b.allocatedSize(ptr)).toBe(a.allocatedSize(ptr));
      expect(size).toBeLessThanOrEqual(a.allocatedSize(ptr));
    }
    expect(b.owns(blocks[0]!.ptr)).toBe(false);
    for (const { ptr } of blocks.slice(1)) b.deallocate(ptr);
    // Given back, not yet freed: the owner still counts them until it collects.
    expect(a.stats().liveCount).toBe(5);
    a.check();
    b.check();
    expect(a.collectRemoteFrees()).toBe(4);
    expect(a.stats().liveCount).toBe(1);
    expect(b.stats().liveCount).toBe(0);
    expect(holds(space.u8, blocks[0]!.ptr, 24)).toBe(true);
    a.check();
    a.deallocate(blocks[0]!.ptr);
    expect(a.stats().liveCount).toBe(0);
    a.destroy();
    b.destroy();
  });

  it("reallocate of another allocator's block moves it into this one and gives the old block back", () => {
    const { space, a, b } = rig();
    const p = a.allocate(300);
    fill(space.u8, p, 300);
    const q = b.reallocate(p, 6000);
    expect(b.tierOf(q)).toBe("heap");
    for (let i = 0; i < 300; i++) expect(space.u8[q + i]).toBe(((p >>> 3) + i) % 251);
    expect(a.collectRemoteFrees()).toBe(1);
    expect(a.stats().liveCount).toBe(0);
    b.deallocate(q);
    a.check();
    b.check();
    a.destroy();
    b.destroy();
  });

  it("a pointer that is no live block of a routed allocator is an InvalidPointerError and changes nothing", () => {
    const { a, b } = rig();
    const rnd = new SeededRandom(5);
    const held = Array.from({ length: 50 }, () => a.allocate(rnd.logUniform(1, 200_000)));
    const freed = a.allocate(64);
    a.deallocate(freed);
    const large = held.find((p) => a.tierOf(p) === "large") ?? a.allocate(600_000);
    for (const bad of [freed, held[0]! + 8, large + 4096, a.controlPtr, 12]) {
      expect(() => b.deallocate(bad)).toThrow(InvalidPointerError);
      expect(() => b.allocatedSize(bad)).toThrow(InvalidPointerError);
    }
    expect(a.collectRemoteFrees()).toBe(0);
    a.check();
    for (const p of held) b.deallocate(p);
    if (!held.includes(large)) b.deallocate(large);
    a.collectRemoteFrees();
    expect(a.stats().liveCount).toBe(0);
    a.check();
    b.check();
    a.destroy();
    b.destroy();
  });

  it("without routes, another allocator's block is an InvalidPointerError as before", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space, {});
    const a = new GenericAllocator(pages, { name: "a" });
    const b = new GenericAllocator(pages, { name: "b" });
    const p = a.allocate(40);
    expect(() => b.deallocate(p)).toThrow(InvalidPointerError);
    expect(() => b.reallocate(p, 80)).toThrow(InvalidPointerError);
    a.deallocate(p);
    a.destroy();
    b.destroy();
  });

  it("a destroyed allocator's route is gone: its former pages are no one's", () => {
    const { a, b, pages } = rig();
    const p = b.allocate(5000);
    b.destroy();
    expect(() => a.deallocate(p)).toThrow(InvalidPointerError);
    a.check();
    a.destroy();
    pages.check();
  });

  it("attach refuses a large-span remote list head that is not a large span", () => {
    const { space, a, pages } = rig();
    const big = a.allocate(800_000);
    const word = (a.controlPtr >>> 2) + 22; // remoteHead (layout.ts)
    space.i32[word] = big + 8;
    expect(() => GenericAllocator.attach(space, a.controlPtr, { pages })).toThrow(CorruptionError);
    space.i32[word] = 0;
    a.deallocate(big);
    a.destroy();
  });
});
