import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, hex } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import { DynamicArray, HandlePool, HashMap, HashSet, StructArray, StructOfArrays, defineStruct } from "../src/index.js";
import { movingAllocator } from "./support/moving-allocator.js";

// What restore() refuses, and what it says: a descriptor of another kind,
// another element kind or layout, a pointer that holds no descriptor, one
// the allocator does not hold, a freed one, a stale one.

function pages(): PageAllocator {
  return new PageAllocator(AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 }), { pageSize: 256 });
}

function corruption(fn: () => unknown): CorruptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as CorruptionError).code).toBe("ERR_CORRUPTION");
    return err as CorruptionError;
  }
  throw new Error("expected a CorruptionError");
}

const Body = defineStruct({ x: "f32", y: "f32", hp: "u16" });

describe("restore() refuses what is not the container asked for", () => {
  it("another element kind, key kind or value kind: names the one recorded", () => {
    const a = pages();
    const ids = new DynamicArray(a, "u32", { name: "ids" });
    ids.push(3);
    expect(corruption(() => DynamicArray.restore(a, ids.persist(), { kind: "f64" })).message).toBe(
      `DynamicArray.restore: the descriptor at ${hex(ids.descriptorPtr)} ("ids") is a DynamicArray<u32>, not a DynamicArray<f64>.`,
    );
    const map = new HashMap(a, { key: "u32", value: "f32", name: "grid" });
    expect(corruption(() => HashMap.restore(a, map.persist(), { value: "u8" })).message).toContain('("grid") is a HashMap<u32, f32>, not a HashMap<u32, u8>');
    expect(corruption(() => HashMap.restore(a, map.persist(), { key: "i32" })).message).toContain("not a HashMap<i32, f32>");
    const set = new HashSet(a, { key: "f64" });
    expect(corruption(() => HashSet.restore(a, set.persist(), { key: "u32" })).message).toContain("is a HashSet<f64>, not a HashSet<u32>");
    // Nothing changed: the containers keep working and are still the live handles.
    expect(ids.toArray()).toEqual([3]);
    map.set(1, 2);
    for (const c of [ids, map, set]) c.dispose();
    expect(a.stats().liveCount).toBe(0);
  });

  it("another container kind's descriptor: the magic found and expected", () => {
    const a = pages();
    const set = new HashSet(a, { key: "u32" });
    const ptr = set.persist();
    expect(corruption(() => HashMap.restore(a, ptr)).message).toMatch(/^HashMap\.restore: no HashMap control block at 0x[0-9a-f]+: found magic "HSET", expected "HMAP"/);
    expect(corruption(() => StructArray.restore(a, ptr, Body)).message).toContain('found magic "HSET", expected "SARR"');
    expect(corruption(() => HandlePool.restore(a, ptr, Body)).message).toContain('expected "HPOL"');
    set.dispose();
  });

  it("another layout: both layouts, so the difference can be seen", () => {
    const a = pages();
    const bodies = new StructArray(a, Body, { name: "bodies" });
    bodies.push();
    const ptr = bodies.persist();
    const renamed = defineStruct({ x: "f32", z: "f32", hp: "u16" });
    const message = corruption(() => StructArray.restore(a, ptr, renamed)).message;
    expect(message).toContain('("bodies") was written for records of 3 fields and 12 bytes');
    expect(message).toContain("the layout given (x: f32 @0, z: f32 @4, hp: u16 @8) has 3 fields and 12 bytes");
    expect(message).toContain("same field names, kinds and order");
    expect(corruption(() => StructArray.restore(a, ptr, defineStruct({ x: "f32", y: "f32", hp: "u32" }))).message).toContain("has 3 fields and 12 bytes");
    expect(corruption(() => StructArray.restore(a, ptr, defineStruct({ x: "f32", y: "f32" }))).message).toContain("has 2 fields and 8 bytes");
    const soa = new StructOfArrays(a, Body);
    expect(corruption(() => StructOfArrays.restore(a, soa.persist(), renamed)).message).toContain("fingerprint");
    const pool = new HandlePool(a, Body);
    expect(corruption(() => HandlePool.restore(a, pool.persist(), renamed)).message).toContain("was written for records of 3 fields");
    const back = StructArray.restore(a, ptr, Body);
    expect(back.length).toBe(1);
    for (const c of [back, soa, pool]) c.dispose();
    expect(a.stats().liveCount).toBe(0);
  });

  it("a pointer that holds no descriptor, or is not a number", () => {
    const a = pages();
    const arr = new DynamicArray(a, "u8");
    arr.push(1);
    const ptr = arr.persist();
    for (const bad of [0, -8, ptr + 4, ptr + 8, arr.ptr, a.space.byteLength, 2 ** 40]) {
      corruption(() => DynamicArray.restore(a, bad));
    }
    for (const bad of ["8", 1.5, NaN, 8n, null, undefined, {}]) {
      expect(() => DynamicArray.restore(a, bad as number)).toThrow(InvalidArgumentError);
    }
    expect(() => DynamicArray.restore({} as PageAllocator, ptr)).toThrow(/DynamicArray.restore: expected an Allocator/);
    expect(() => DynamicArray.restore(a, ptr, { kind: "u9" as "u8" })).toThrow(InvalidArgumentError);
    expect(() => DynamicArray.restore(a, ptr, { debug: 1 as unknown as boolean })).toThrow(InvalidArgumentError);
    expect(() => DynamicArray.restore(a, ptr, 5 as unknown as object)).toThrow(InvalidArgumentError);
    expect(() => StructArray.restore(a, ptr, { x: "f32" } as unknown as typeof Body)).toThrow(/StructArray.restore: expected a layout from defineStruct/);
    expect(arr.toArray()).toEqual([1]);
    arr.dispose();
  });

  it("a descriptor that is not a live block of the allocator given (another scope)", () => {
    const a = pages();
    const root = new TraceAllocator(a);
    const physics = root.child("physics");
    const audio = root.child("audio");
    const cells = new HashMap(physics, { key: "u32", value: "u32", name: "grid" });
    cells.set(4, 2);
    const ptr = cells.persist();
    const message = corruption(() => HashMap.restore(audio, ptr)).message;
    expect(message).toBe(
      `HashMap.restore: the HashMap descriptor at ${hex(ptr)} ("grid") is not a live block of allocator "${audio.name}".\n` +
        `  Restore with the allocator the container was created with (or a handle attached to it).`,
    );
    const back = HashMap.restore(physics, ptr);
    expect(back.get(4, -1)).toBe(2);
    back.dispose();
    physics.dispose();
    audio.dispose();
    root.dispose();
  });

  it("a freed descriptor: refused as destroyed", () => {
    const a = pages();
    const arr = new DynamicArray(a, "f32", { name: "gone" });
    const ptr = arr.persist();
    arr.dispose();
    expect(corruption(() => DynamicArray.restore(a, ptr)).message).toContain("was destroyed");
  });

  it("a stale table or pool descriptor (persist() not called after the last change): says so", () => {
    const a = pages();
    const map = new HashMap(a, { key: "u32", value: "u32", name: "grid", capacity: 100 });
    map.set(1, 1);
    const ptr = map.persist();
    map.set(2, 2); // no growth: the block is the same, the count is not
    const message = corruption(() => HashMap.restore(a, ptr)).message;
    expect(message).toContain(`HashMap.restore: the HashMap descriptor at ${hex(ptr)} ("grid") does not match the memory it describes`);
    expect(message).toContain("2 keys in the slots, but the count says 1");
    expect(message).toContain("Call persist() after the last change to the container, right before saving.");
    expect(map.get(2, 0)).toBe(2); // the refused restore took nothing over
    map.persist();
    const back = HashMap.restore(a, ptr);
    expect(back.size).toBe(2);

    const pool = new HandlePool(a, Body, { name: "units", capacity: 16 });
    const h = pool.create();
    const pp = pool.persist();
    pool.destroy(h);
    expect(corruption(() => HandlePool.restore(a, pp, Body)).message).toContain("0 live records in the slots, but the count says 1");
    pool.persist();
    const pool2 = HandlePool.restore(a, pp, Body);
    expect(pool2.isAlive(h)).toBe(false);
    back.dispose();
    pool2.dispose();
    expect(a.stats().liveCount).toBe(0);
  });
});

describe("one live handle per container", () => {
  it("a restore in the same memory ends this thread's previous handle, which then frees nothing", () => {
    const a = pages();
    const bodies = new StructArray(a, Body, { name: "bodies" });
    const x = bodies.field("x");
    x.set(bodies.push(), 1.5);
    const ptr = bodies.persist();
    const back = StructArray.restore(a, ptr, Body);
    for (const call of [() => bodies.push(), () => x.get(0), () => bodies.persist(), () => bodies.toArray()]) {
      expect(call).toThrow(DestroyedError);
      expect(call).toThrow('StructArray "bodies" was used after restore() took the container over: the restored handle is the one live handle now. Use it instead.');
    }
    bodies.dispose(); // no-op: the blocks are the restored handle's
    expect(back.field("x").get(0)).toBe(1.5);
    expect(a.stats().liveCount).toBe(2); // block + descriptor
    back.dispose();
    expect(a.stats().liveCount).toBe(0);
  });

  it("persist() after dispose() is DestroyedError", () => {
    const arr = new DynamicArray(pages(), "u32", { name: "ids" });
    arr.dispose();
    expect(() => arr.persist()).toThrow(DestroyedError);
  });
});

describe("persist() and dispose() when the allocator refuses", () => {
  it("persist() out of memory changes nothing; the next one works", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "u32", value: "u32", name: "grid" });
    map.set(1, 2);
    a.failNext = 1;
    expect(() => map.persist()).toThrow(/injected failure/);
    expect(map.descriptorPtr).toBe(0);
    expect(map.get(1, 0)).toBe(2);
    const ptr = map.persist();
    expect(HashMap.restore(a, ptr).get(1, 0)).toBe(2);
  });

  it("a refused free of the descriptor leaves the container and its descriptor as they were", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "u32", { name: "ids" });
    arr.push(9);
    const ptr = arr.persist();
    const deallocate = a.deallocate.bind(a);
    a.deallocate = (p: number) => {
      if (p === ptr) throw new Error("refused");
      deallocate(p);
    };
    expect(() => arr.dispose()).toThrow("refused");
    a.deallocate = deallocate;
    expect(arr.disposed).toBe(false);
    expect(arr.toArray()).toEqual([9]);
    const back = DynamicArray.restore(a, ptr, { kind: "u32" }); // still a descriptor (not retired)
    expect(back.toArray()).toEqual([9]);
    back.dispose();
    expect(a.live.size).toBe(0);
  });
});

describe("persist() over a trace scope", () => {
  it("files the descriptor under the container's label; dispose() frees it (no leak)", () => {
    const root = new TraceAllocator(pages());
    const physics = root.child("physics");
    const cells = new HashMap(physics, { key: "u32", value: "u32", name: "grid" });
    cells.persist();
    const label = physics.report().labels?.find((l) => l.label === cells.label);
    expect(label?.liveCount).toBe(2); // the table and its descriptor
    cells.dispose();
    expect(physics.stats().liveCount).toBe(0);
    physics.dispose();
    root.dispose();
  });
});
