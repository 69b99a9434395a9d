import { describe, expect, it } from "vitest";
import { AddressSpace } from "@memkit/core";
import { DynamicArray, HandlePool, HashMap, HashSet, SpaceViews, StructArray, StructOfArrays, defineStruct } from "../src/index.js";
import { MovingAllocator } from "./support/moving-allocator.js";

const Point = defineStruct({ x: "f64", tag: "u8" });

describe("SpaceViews", () => {
  it("is one per address space", () => {
    const s1 = AddressSpace.create({ initialBytes: 65536 });
    const s2 = AddressSpace.create({ initialBytes: 65536 });
    expect(SpaceViews.of(s1)).toBe(SpaceViews.of(s1));
    expect(SpaceViews.of(s1)).not.toBe(SpaceViews.of(s2));
  });

  it("refreshes every container type when the space grows behind their backs (space.grow, wasm, another allocator)", () => {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 });
    const a = new MovingAllocator(space);
    const arr = new DynamicArray(a, "f64");
    const structs = new StructArray(a, Point);
    const soa = new StructOfArrays(a, Point);
    const map = new HashMap(a, { key: "u32", value: "f64" });
    const set = new HashSet(a, { key: "f64" });
    const pool = new HandlePool(a, Point);
    const x = structs.field("x");
    const sx = soa.field("x");
    const px = pool.field("x");
    const handles: number[] = [];
    for (let i = 0; i < 20; i++) {
      arr.push(i + 0.5);
      x.set(structs.push(), i + 0.25);
      sx.set(soa.push(), i + 0.125);
      map.set(i, i * 2);
      set.add(i / 3);
      const h = pool.create();
      px.set(h, i * 4);
      handles.push(h);
    }
    const bufferBefore = space.buffer;
    space.grow(4 << 20); // a non-shared memory detaches the old buffer: every stale view would read 0
    expect(space.buffer).not.toBe(bufferBefore);
    for (let i = 0; i < 20; i++) {
      expect(arr.get(i)).toBe(i + 0.5);
      expect(x.get(i)).toBe(i + 0.25);
      expect(sx.get(i)).toBe(i + 0.125);
      expect(map.get(i, -1)).toBe(i * 2);
      expect(set.has(i / 3)).toBe(true);
      expect(px.get(handles[i]!)).toBe(i * 4);
    }
    for (const c of [arr, structs, soa, map, set, pool]) c.dispose();
    expect(a.live.size).toBe(0);
  });

  it("registers containers while they live and drops them on dispose", () => {
    const space = AddressSpace.create({ initialBytes: 65536 });
    const a = new MovingAllocator(space);
    const views = SpaceViews.of(space);
    const base = views.holderCount;
    const containers = [new DynamicArray(a, "u8"), new HashSet(a, { key: "u32" }), new StructArray(a, Point)];
    expect(views.holderCount).toBe(base + 3);
    containers[1]!.dispose(); // swap-removal from the middle keeps the others refreshed
    expect(views.holderCount).toBe(base + 2);
    (containers[0] as DynamicArray<"u8">).push(9);
    space.grow(65536);
    expect((containers[0] as DynamicArray<"u8">).get(0)).toBe(9);
    containers[0]!.dispose();
    containers[2]!.dispose();
    expect(views.holderCount).toBe(base);
  });

  it("prunes holders the garbage collector reclaimed", async () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 });
    const a = new MovingAllocator(space);
    const views = SpaceViews.of(space);
    ((): void => {
      for (let i = 0; i < 10; i++) new DynamicArray(a, "u8");
    })();
    expect(views.holderCount).toBe(10);
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    space.grow(65536); // growth walks the list and drops the dead
    expect(views.holderCount).toBe(0);
  });
});
