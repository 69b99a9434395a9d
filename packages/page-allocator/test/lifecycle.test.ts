import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, SpaceHandle } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { W_HEADS } from "../src/layout.js";

function make(pageSize = 4096): { space: AddressSpace; pages: PageAllocator } {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
  return { space, pages: new PageAllocator(space, { pageSize }) };
}

describe("PageAllocator lifecycle", () => {
  it("control blocks are a multiple of 8 bytes, so what is carved after one stays 8-aligned", () => {
    for (const [max, page] of [[1 << 20, 4096], [(1 << 20) + 4096, 4096], [16 << 20, 256], [3 << 20, 65536]] as const) {
      expect(PageAllocator.controlBytes(max, page) % 8).toBe(0);
    }
  });

  it("an attached handle serves, frees and checks the same spans, and reports owners by the names registered in memory", () => {
    const { space, pages } = make();
    const heap = pages.registerOwner("heap");
    const a = pages.allocate(3 * 4096);
    pages.setTag(a, heap, 5);
    const other = PageAllocator.attach(space, pages.controlPtr, { name: "pages@worker" });
    expect(other.name).toBe("pages@worker");
    expect(other.pageSize).toBe(4096);
    expect(other.ownerName(heap)).toBe("heap");
    expect(other.tagOf(a + 5000)).toBe((heap << 24) | 5);
    const slots = other.registerOwner("slots");
    expect(slots).toBe(heap + 1);
    expect(pages.ownerName(slots)).toBe("slots");
    expect(other.ownerName(99)).toBe("owner#99");
    const b = other.allocate(4096);
    expect(pages.owns(b)).toBe(true);
    other.deallocate(a);
    expect(pages.owns(a)).toBe(false);
    expect(pages.stats()).toEqual(other.stats());
    pages.check();
    other.check();
    other.detach();
    expect(() => other.allocate(1)).toThrow(DestroyedError);
    expect(pages.allocatedSize(b)).toBe(4096); // the allocator lives on
    pages.check();
  });

  it("keeps long and non-ASCII owner names, and names that no longer fit fall back to owner#id", () => {
    const { space, pages } = make();
    const long = "physics.broadphase.".repeat(20);
    const ids = [pages.registerOwner("漢字-heap"), pages.registerOwner(long)];
    const other = PageAllocator.attach(space, pages.controlPtr);
    expect(other.ownerName(ids[0]!)).toBe("漢字-heap");
    expect(long.startsWith(other.ownerName(ids[1]!))).toBe(true);
    expect(other.ownerName(ids[1]!).length).toBeGreaterThan(40);
    for (let i = 0; i < 200; i++) pages.registerOwner(`owner-number-${i}-with-a-name-long-enough-to-fill-the-table`);
    const last = pages.registerOwner("last");
    expect(last).toBe(203);
    expect(["last", "owner#203"]).toContain(other.ownerName(last));
    expect(other.ownerName(ids[0]!)).toBe("漢字-heap");
    other.check();
  });

  it("a name is not a string: InvalidArgumentError", () => {
    const { pages } = make();
    expect(() => pages.registerOwner(7 as unknown as string)).toThrow(InvalidArgumentError);
    pages.check();
  });

  it("refuses a damaged or foreign control block with CorruptionError saying what it found", () => {
    const { space, pages } = make();
    pages.allocate(4096);
    const c = pages.controlPtr;
    expect(() => PageAllocator.attach(space, c + 8)).toThrow(CorruptionError);
    expect(() => PageAllocator.attach(space, c + 8)).toThrow(/found magic/);
    const u32 = space.u32;
    const saved = u32.slice(c >>> 2, (c >>> 2) + 16);
    u32[(c >>> 2) + 1] = 1; // an older layout
    expect(() => PageAllocator.attach(space, c)).toThrow(/layout version 1/);
    u32.set(saved, c >>> 2);
    u32[(c >>> 2) + 5]! += 1; // firstPage: a sealed fixed word
    expect(() => PageAllocator.attach(space, c)).toThrow(/seal/);
    u32.set(saved, c >>> 2);
    u32.fill(0, c >>> 2, (c >>> 2) + 4); // a zeroed header
    expect(() => PageAllocator.attach(space, c)).toThrow(CorruptionError);
    u32.set(saved, c >>> 2);
    u32[(c >>> 2) + 7] = 1 << 30; // top page far past the memory
    expect(() => PageAllocator.attach(space, c)).toThrow(/top/);
    u32.set(saved, c >>> 2);
    // A bin head moved onto a live span would hand that span out twice.
    const a = pages.allocate(4096);
    pages.allocate(4096);
    pages.deallocate(a);
    const heads = (c >>> 2) + W_HEADS;
    const bin = [...Array(128).keys()].find((i) => u32[heads + i] === a / 4096)!;
    u32[heads + bin] = a / 4096 + 1;
    expect(() => PageAllocator.attach(space, c)).toThrow(/not a free span head/);
    u32[heads + bin] = 0;
    expect(() => PageAllocator.attach(space, c)).toThrow(/marked non-empty with no span/);
    u32[heads + bin] = a / 4096;
    PageAllocator.attach(space, c).check();
  });

  it("check() after attach catches wiped page tags and a zeroed span head word", () => {
    const { space, pages } = make();
    const owner = pages.registerOwner("heap");
    const a = pages.allocate(4 * 4096);
    pages.setTag(a, owner, 9);
    pages.allocate(4096);
    pages.detach();
    const tags = pages.tagWordBase + (a >>> 12);
    const saved = space.u32[tags + 2]!;
    space.u32[tags + 2] = 0; // one page of the span lost its tag
    const other = PageAllocator.attach(space, pages.controlPtr);
    expect(() => other.check()).toThrow(/tag/);
    space.u32[tags + 2] = saved;
    other.check();
    const state = tags - (16 << 20) / 4096; // the state word of a's head page
    space.u32[state] = 0;
    expect(() => other.check()).toThrow(CorruptionError);
  });

  it("destroy ends the allocator for every handle of the thread and retires the control block", () => {
    const { space, pages } = make();
    const p = pages.allocate(100);
    const second = PageAllocator.attach(space, pages.controlPtr);
    expect(SpaceHandle.lookup(space, pages.controlPtr, PageAllocator)).toBe(pages);
    second.destroy();
    expect(pages.alive).toBe(false);
    expect(() => pages.allocate(1)).toThrow(DestroyedError);
    expect(() => pages.deallocate(p)).toThrow(DestroyedError);
    expect(() => pages.stats()).toThrow(DestroyedError);
    expect(pages.owns(p)).toBe(false);
    expect(() => PageAllocator.attach(space, pages.controlPtr)).toThrow(/was destroyed/);
    expect(SpaceHandle.lookup(space, pages.controlPtr, PageAllocator)).toBeUndefined();
  });
});
