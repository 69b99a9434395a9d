import { describe, expect, it } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import { DynamicArray, HashMap, StructArray, defineStruct } from "@memkit/containers";
import { RelocatableAllocator } from "../src/index.js";
import { fill, mismatch, setup } from "./support/setup.js";

describe("containers in relocatable memory", () => {
  it("a DynamicArray and a HashMap keep working after compaction moved their blocks", () => {
    const { r } = setup({ chunkBytes: 256 << 10 });
    const junk: number[] = [];
    for (let i = 0; i < 40; i++) junk.push(r.create(100 + i * 3));
    const arr = new DynamicArray(r, "f64", { name: "positions" });
    const map = new HashMap(r, { key: "u32", value: "u32", name: "byId" });
    for (let i = 0; i < 500; i++) {
      arr.push(i * 1.5);
      map.set(i * 7, i);
    }
    for (const h of junk) r.free(h);
    const arrAt = arr.ptr;
    const mapAt = map.ptr;
    const res = r.compact();
    expect(res.movedBlocks).toBeGreaterThanOrEqual(2);
    expect(arr.ptr).toBeLessThan(arrAt);
    expect(map.ptr).toBeLessThan(mapAt);
    expect(r.handleOf(arr.ptr)).toBeGreaterThan(0);
    r.check();
    arr.check();
    map.check();
    for (let i = 0; i < 500; i++) {
      expect(arr.get(i)).toBe(i * 1.5);
      expect(map.get(i * 7, -1)).toBe(i);
    }
    // Growth after a move works from the new block.
    for (let i = 500; i < 2000; i++) {
      arr.push(i * 1.5);
      map.set(i * 7, i);
    }
    for (let i = 0; i < 2000; i += 97) expect(map.get(i * 7, -1)).toBe(i);
    expect(arr.get(1999)).toBe(1999 * 1.5);
    map.dispose();
    arr.dispose();
    r.check();
    expect(r.stats().liveCount).toBe(0);
  });

  it("a pinned container block (through handleOf) stays put; a struct array's block (no rebase) never moves", () => {
    const { r } = setup();
    const first = r.create(4000);
    const arr = new DynamicArray(r, "u32");
    for (let i = 0; i < 100; i++) arr.push(i);
    const Body = defineStruct({ x: "f32", y: "f32" });
    const bodies = new StructArray(r, Body);
    for (let i = 0; i < 10; i++) bodies.push();
    r.free(first);
    const h = r.handleOf(arr.ptr);
    const pinnedAt = r.pin(h);
    const bodiesAt = bodies.ptr;
    r.compact();
    expect(arr.ptr).toBe(pinnedAt);
    expect(bodies.ptr).toBe(bodiesAt);
    r.unpin(h);
    r.compact();
    expect(arr.ptr).toBeLessThan(pinnedAt);
    expect(arr.get(99)).toBe(99);
    bodies.dispose();
    arr.dispose();
    r.check();
  });

  it("random pushes, sets, deletes and compactions keep a container's contents equal to a JS model", () => {
    const { r } = setup({ chunkBytes: 8192 });
    const arr = new DynamicArray(r, "u32");
    const map = new HashMap(r, { key: "u32", value: "f64" });
    const model = new Map<number, number>();
    const list: number[] = [];
    const others: number[] = [];
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let step = 0; step < 5000; step++) {
      const k = rand(10);
      if (k < 3) {
        const v = rand(1 << 20);
        arr.push(v);
        list.push(v);
      } else if (k < 5) {
        const key = rand(3000);
        map.set(key, key / 3);
        model.set(key, key / 3);
      } else if (k < 6) {
        const key = rand(3000);
        expect(map.delete(key)).toBe(model.delete(key));
      } else if (k < 8) others.push(r.create(rand(600)));
      else if (k < 9 && others.length > 0) r.free(others.splice(rand(others.length), 1)[0]!);
      else r.compact({ maxBytes: 1 + rand(4096) + 8 });
      if (step % 500 === 0) {
        r.check();
        arr.check();
        map.check();
      }
    }
    r.compact();
    expect(arr.toArray()).toEqual(list);
    expect(map.size).toBe(model.size);
    for (const [key, v] of model) expect(map.get(key, -1)).toBe(v);
    r.check();
  });
});

describe("scopes and save/restore", () => {
  it("a persisted container restored through an attached handle follows its block there, and its descriptor follows the moves", () => {
    const { space, backing, r } = setup({ chunkBytes: 256 << 10 });
    const junk = r.create(5000);
    const arr = new DynamicArray(r, "i32", { name: "scores" });
    for (let i = 0; i < 300; i++) arr.push(i * 3);
    const desc = arr.persist();
    r.free(junk);
    const other = RelocatableAllocator.attach(space, r.controlPtr, { backing });
    const restored = DynamicArray.restore(other, desc, { kind: "i32" });
    // The handed-over `arr` stopped following: the first handle keeps the block where it is.
    expect(r.compact().movedBlocks).toBe(0);
    expect(arr.disposed).toBe(true);
    const at = restored.ptr;
    const res = other.compact();
    expect(res.movedBlocks).toBe(1);
    expect(restored.ptr).toBeLessThan(at); // moved under the restored handle, which followed it
    expect(restored.toArray()).toEqual(Array.from({ length: 300 }, (_, i) => i * 3));
    other.check();
    // The descriptor names the block's new place: restoring again finds it there.
    const movedTo = restored.ptr;
    const again = DynamicArray.restore(other, desc, { kind: "i32" }); // takes the container over from `restored`
    expect(again.ptr).toBe(movedTo);
    expect(again.get(299)).toBe(897);
    again.dispose();
    other.check();
    expect(other.stats().liveCount).toBe(0);
  });

  it("the backing trace scope counts every byte the relocatable allocator holds", () => {
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20 });
    const root = new TraceAllocator(new GenericAllocator(new PageAllocator(space)));
    const level = root.child("level");
    const r = new RelocatableAllocator(level, { name: "level-blocks", chunkBytes: 16 << 10 });
    const hs: number[] = [];
    for (let i = 0; i < 300; i++) hs.push(r.create(200));
    expect(level.stats().liveBytes).toBe(r.stats().reservedBytes);
    for (let i = 0; i < 300; i += 2) r.free(hs[i]!);
    r.compact();
    expect(level.stats().liveBytes).toBe(r.stats().reservedBytes);
    r.destroy();
    expect(level.stats().liveBytes).toBe(0);
    level.dispose();
  });

  it("a copy of the memory, attached in a new space, resolves every handle to the same bytes", () => {
    const { space, pages, backing, r } = setup();
    const hs: number[] = [];
    for (let i = 0; i < 100; i++) {
      hs.push(r.create(50 + i));
      fill(space.u8, r.resolve(hs[i]!), 50 + i, i);
    }
    for (let i = 0; i < 100; i += 3) r.free(hs[i]!);
    r.compact({ maxBytes: 2000 });
    const image = space.u8.slice();
    const space2 = AddressSpace.create({ initialBytes: image.length, maximumBytes: 256 << 20 });
    space2.u8.set(image);
    const pages2 = PageAllocator.attach(space2, pages.controlPtr);
    const backing2 = GenericAllocator.attach(space2, backing.controlPtr, { pages: pages2 });
    const r2 = RelocatableAllocator.attach(space2, r.controlPtr, { backing: backing2 });
    for (let i = 0; i < 100; i++) {
      if (i % 3 === 0) expect(r2.isAlive(hs[i]!)).toBe(false);
      else expect(mismatch(space2.u8, r2.resolve(hs[i]!), 50 + i, i)).toBe(-1);
    }
    // The compaction carries on where it stopped.
    r2.compact();
    r2.check();
    for (let i = 1; i < 100; i += 3) expect(mismatch(space2.u8, r2.resolve(hs[i]!), 50 + i, i)).toBe(-1);
  });
});
