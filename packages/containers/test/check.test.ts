import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { DynamicArray, HandlePool, HashMap, HashSet, StructArray, StructOfArrays, defineStruct } from "../src/index.js";

// check() on every container: a healthy container passes; damage to what a
// container follows in its block (a pool's free links, states and
// generations; a table's slots) is a CorruptionError, from check() and from a
// restore, which runs check() before handing the container out.

function pages(): PageAllocator {
  return new PageAllocator(AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 }), { pageSize: 256 });
}

const Unit = defineStruct({ x: "f32", id: "u32" });

describe("check()", () => {
  it("passes for healthy containers of every kind, and after dispose", () => {
    const a = pages();
    const arr = new DynamicArray(a, "u16");
    const bodies = new StructArray(a, Unit);
    const cols = new StructOfArrays(a, Unit, { capacity: 5 });
    const map = new HashMap(a, { key: "i32", value: "f64" });
    const set = new HashSet(a, { key: "f64" });
    const pool = new HandlePool(a, Unit);
    const all = [arr, bodies, cols, map, set, pool];
    for (const c of all) c.check(); // empty
    for (let i = 0; i < 100; i++) {
      arr.push(i);
      bodies.push();
      cols.push();
      map.set(i - 50, i);
      set.add(i / 3);
      const h = pool.create();
      if (i % 3 === 0) pool.destroy(h);
    }
    for (const c of all) c.check();
    arr.shrinkToFit();
    bodies.clear();
    bodies.shrinkToFit();
    for (const c of all) {
      c.persist();
      c.check();
      c.dispose();
      c.check();
    }
    expect(a.stats().liveCount).toBe(0);
  });

  it("finds a pool's free list cut, looped, or running through a live slot", () => {
    const a = pages();
    const make = (): HandlePool<typeof Unit> => {
      const pool = new HandlePool(a, Unit, { name: "units" });
      const hs = Array.from({ length: 10 }, () => pool.create());
      for (const i of [2, 5, 7]) pool.destroy(hs[i]!);
      return pool;
    };
    const state = (pool: HandlePool<typeof Unit>, slot: number): number => (pool.ptr >>> 2) + slot * 2;
    const i32 = a.space.i32;

    let pool = make();
    pool.check();
    i32[state(pool, 5)] = -(2 + 2); // 5 -> 2: a loop (2 -> 5 -> 2)
    expect(() => pool.check()).toThrow(/HandlePool "units": the free list reaches slot \d+ again or past the free slots/);
    const ptr = pool.persist();
    expect(() => HandlePool.restore(a, ptr, Unit)).toThrow(CorruptionError);

    pool = make();
    i32[state(pool, 2)] = -(3 + 2); // 2 -> 3, a live slot
    expect(() => pool.check()).toThrow(/the free list reaches slot 3 \(live\)/);

    pool = make();
    i32[state(pool, 4)] = 0; // neither a handle nor a link
    expect(() => pool.check()).toThrow(/slot 4 holds state 0/);

    pool = make();
    i32[state(pool, 4) + 1] = 0; // generation 0
    expect(() => pool.check()).toThrow(/slot 4 has generation 0/);

    pool = make();
    i32[state(pool, 6)] = i32[state(pool, 8)]!; // another slot's handle
    expect(() => pool.check()).toThrow(/slot 6 holds handle 0x[0-9a-f]+, not its own/);

    pool = make();
    i32[state(pool, 1)] = -1; // a live record dropped: the counts disagree
    expect(() => pool.check()).toThrow(/6 live records in the slots, but the count says 7/);
  });

  it("finds a table whose slots no longer match its count: restore refuses it (a full table would never end a probe)", () => {
    const a = pages();
    const set = new HashSet(a, { key: "u32", name: "seen" });
    for (let i = 1; i <= 5; i++) set.add(i);
    const ptr = set.persist();
    // Fill every slot (no empty slot: a lookup of a missing key would probe forever).
    for (let s = 0; s < set.capacity; s++) a.space.u32[(set.ptr >>> 2) + s] = 1000 + s;
    expect(() => set.check()).toThrow(CorruptionError);
    expect(() => HashSet.restore(a, ptr)).toThrow(/does not match the memory it describes/);
  });
});
