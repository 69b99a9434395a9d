import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { InvalidArgumentError, InvalidPointerError, OutOfMemoryError } from "@memkit/core";
import { HANDLE_BITS, HandlePool, NULL_HANDLE, StaleHandleError, defineStruct, offsetOf } from "../src/index.js";
import { BACKINGS, liveCount, makeAllocator, type Backing } from "./support/allocators.js";
import { movingAllocator } from "./support/moving-allocator.js";

const Entity = defineStruct({ x: "f32", y: "f32", hp: "u16", team: "u8", id: "u32" });

describe("HandlePool", () => {
  it("creates zeroed records behind non-zero handles and reads fields through them", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity, { name: "entities" });
    const h = pool.create();
    expect(h).not.toBe(NULL_HANDLE);
    expect(pool.isAlive(h)).toBe(true);
    expect(pool.get(h, "hp")).toBe(0);
    pool.set(h, "hp", 100);
    pool.set(h, "x", 1.5);
    const hp = pool.field("hp");
    expect(hp.get(h)).toBe(100);
    hp.set(h, 70000); // u16 conversion
    expect(pool.get(h, "hp")).toBe(70000 & 0xffff);
    expect(a.space.view.getFloat32(pool.recordPtr(h) + offsetOf(Entity, "x"), true)).toBe(1.5);
    expect(pool.size).toBe(1);
    pool.dispose();
    expect(liveCount(a)).toBe(0);
  });

  it("packs generation << 20 | index with the default 20 + 10 bit budget", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity);
    expect(pool.indexBits).toBe(20);
    const h0 = pool.create();
    const h1 = pool.create();
    expect(h0).toBe((1 << 20) | 0);
    expect(h1).toBe((1 << 20) | 1);
    pool.destroy(h0);
    pool.destroy(h1);
    // FIFO reuse: slot 0 (freed first) comes back first, one generation later.
    expect(pool.create()).toBe((2 << 20) | 0);
    expect(pool.create()).toBe((2 << 20) | 1);
    pool.dispose();
  });

  it("detects a destroyed handle, and one whose slot was reused, with StaleHandleError", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity, { name: "entities" });
    const h = pool.create();
    pool.set(h, "id", 7);
    pool.destroy(h);
    expect(pool.isAlive(h)).toBe(false);
    expect(() => pool.get(h, "id")).toThrow(StaleHandleError);
    expect(() => pool.destroy(h)).toThrow(/stale handle 0x00100000 \(index 0, generation 1\): its record was destroyed \(slot 0 is free; its next generation is 2\)/);
    const reused = pool.create();
    expect(reused & pool.indexMask).toBe(h & pool.indexMask); // same slot
    pool.set(reused, "id", 8);
    let caught: unknown;
    try {
      pool.field("id").get(h);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StaleHandleError);
    expect(caught).toBeInstanceOf(InvalidPointerError); // the class hierarchy: stale is a kind of bad pointer
    const stale = caught as StaleHandleError;
    expect(stale.code).toBe("ERR_INVALID_POINTER");
    expect(stale.message).toContain('HandlePool "entities": stale handle');
    expect(stale.message).toContain("slot 0 now holds another record (generation 2");
    expect([stale.handle, stale.index, stale.generation, stale.currentGeneration]).toEqual([h, 0, 1, 2]);
    expect(pool.get(reused, "id")).toBe(8); // the new record was not touched
    pool.dispose();
  });

  it("refuses the null handle, non-handles and handles it never issued with InvalidPointerError", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity);
    pool.create();
    expect(() => pool.get(NULL_HANDLE, "x")).toThrow(/the null handle \(0\) addresses no record/);
    for (const bad of [-1, 1.5, NaN, 2 ** HANDLE_BITS, "1" as unknown as number]) {
      expect(() => pool.get(bad, "x")).toThrow(InvalidPointerError);
      expect(() => pool.get(bad, "x")).not.toThrow(StaleHandleError);
      expect(pool.isAlive(bad)).toBe(false);
    }
    expect(() => pool.destroy((1 << 20) | 5)).toThrow(/was never handed out: only 1 slots have been used/);
    expect(() => pool.get(3 << 20, "x")).toThrow(/slot 0 now holds another record \(generation 1, handle 0x00100000\)/);
    pool.dispose();
  });

  it("wraps generations after 2^(30 - indexBits) - 1 reuses of one slot (the documented blind spot)", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity, { indexBits: 22 }); // 8 generation bits: 255 generations
    const first = pool.create();
    let h = first;
    for (let i = 0; i < 255; i++) {
      pool.destroy(h);
      expect(pool.isAlive(first)).toBe(false);
      h = pool.create(); // the only free slot: always slot 0
      expect(h & pool.indexMask).toBe(0);
    }
    expect(h).toBe(first); // generation 255 -> 1: the same number again
    expect(pool.isAlive(first)).toBe(true);
    pool.dispose();
  });

  it("grows (moving records) and keeps every record and handle", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity);
    const handles: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const h = pool.create();
      pool.set(h, "id", i);
      pool.set(h, "x", i / 8);
      handles.push(h);
    }
    handles.forEach((h, i) => {
      expect(pool.get(h, "id")).toBe(i);
      expect(pool.get(h, "x")).toBe(i / 8);
    });
    expect(pool.capacity).toBeGreaterThanOrEqual(5000);
    pool.dispose();
    expect(liveCount(a)).toBe(0);
  });

  it("is full at 2^indexBits records (OutOfMemoryError) and still works after", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity, { indexBits: 8 });
    const handles: number[] = [];
    for (let i = 0; i < 256; i++) handles.push(pool.create());
    expect(() => pool.create()).toThrow(OutOfMemoryError);
    expect(() => pool.create()).toThrow(/full at 256 live records \(indexBits 8\)/);
    pool.destroy(handles[10]!);
    const h = pool.create();
    expect(h & pool.indexMask).toBe(10);
    expect(pool.size).toBe(256);
    pool.dispose();
  });

  it("keeps its records when the allocator refuses to grow it", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity, { capacity: 2 });
    const h1 = pool.create();
    const h2 = pool.create();
    pool.set(h1, "id", 1);
    pool.set(h2, "id", 2);
    a.failNext = 1;
    expect(() => pool.create()).toThrow(OutOfMemoryError);
    expect(pool.size).toBe(2);
    expect(pool.get(h1, "id")).toBe(1);
    expect(pool.get(h2, "id")).toBe(2);
    const h3 = pool.create();
    expect(pool.isAlive(h3)).toBe(true);
    pool.dispose();
  });

  it("clear() makes every outstanding handle stale", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity);
    const hs = [pool.create(), pool.create(), pool.create()];
    pool.destroy(hs[1]!);
    pool.clear();
    expect(pool.size).toBe(0);
    for (const h of hs) expect(pool.isAlive(h)).toBe(false);
    expect(() => pool.get(hs[0]!, "x")).toThrow(StaleHandleError);
    pool.dispose();
  });

  it("forEach visits live records in slot order and tolerates destroying the current one", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity);
    const hs = Array.from({ length: 6 }, () => pool.create());
    pool.destroy(hs[2]!);
    const seen: number[] = [];
    pool.forEach((h, i) => {
      seen.push(i);
      expect(pool.handleAt(i)).toBe(h);
      pool.destroy(h);
    });
    expect(seen).toEqual([0, 1, 3, 4, 5]);
    expect(pool.size).toBe(0);
    expect(pool.handleAt(0)).toBe(NULL_HANDLE);
    pool.dispose();
  });

  it("rejects bad options and unknown fields", () => {
    const a = movingAllocator();
    expect(() => new HandlePool(a, Entity, { indexBits: 7 })).toThrow(InvalidArgumentError);
    expect(() => new HandlePool(a, Entity, { indexBits: 23 })).toThrow(InvalidArgumentError);
    expect(() => new HandlePool(a, {} as typeof Entity)).toThrow(InvalidArgumentError);
    const pool = new HandlePool(a, Entity);
    const h = pool.create();
    expect(() => pool.get(h, "z" as "x")).toThrow(InvalidArgumentError);
    expect(() => pool.field("z" as "x")).toThrow(/unknown field "z"/);
    pool.dispose();
  });

  it("throws after dispose", () => {
    const a = movingAllocator();
    const pool = new HandlePool(a, Entity, { name: "gone" });
    const h = pool.create();
    const x = pool.field("x");
    pool.dispose();
    pool.dispose();
    expect(liveCount(a)).toBe(0);
    expect(pool.isAlive(h)).toBe(false);
    for (const call of [() => pool.create(), () => pool.destroy(h), () => pool.get(h, "x"), () => x.set(h, 1), () => pool.forEach(() => undefined), () => pool.clear()]) {
      expect(call).toThrow('HandlePool "gone" was used after dispose()');
    }
  });
});

type PoolOp = { op: "create"; v: number } | { op: "destroy"; pick: number } | { op: "write"; pick: number; v: number } | { op: "stale"; pick: number };

describe.each(BACKINGS)("HandlePool over %s", (backing: Backing) => {
  it("matches a Map<handle, record> oracle; every dead handle stays stale", () => {
    const opArb: fc.Arbitrary<PoolOp> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ op: fc.constant("create" as const), v: fc.nat(65535) }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("destroy" as const), pick: fc.nat() }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("write" as const), pick: fc.nat(), v: fc.nat(65535) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant("stale" as const), pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const allocator = makeAllocator(backing);
        const pool = new HandlePool(allocator, Entity);
        const hp = pool.field("hp");
        const model = new Map<number, number>();
        const dead: number[] = [];
        for (const o of ops) {
          const live = [...model.keys()];
          if (o.op === "create") {
            const h = pool.create();
            expect(model.has(h)).toBe(false);
            expect(dead.includes(h)).toBe(false); // default budget: no generation repeats this soon
            expect(hp.get(h)).toBe(0);
            hp.set(h, o.v);
            model.set(h, o.v);
          } else if (o.op === "destroy" && live.length > 0) {
            const h = live[o.pick % live.length]!;
            pool.destroy(h);
            model.delete(h);
            dead.push(h);
          } else if (o.op === "write" && live.length > 0) {
            const h = live[o.pick % live.length]!;
            hp.set(h, o.v);
            model.set(h, o.v);
          } else if (o.op === "stale" && dead.length > 0) {
            const h = dead[o.pick % dead.length]!;
            expect(pool.isAlive(h)).toBe(false);
            expect(() => hp.get(h)).toThrow(StaleHandleError);
            expect(() => pool.destroy(h)).toThrow(StaleHandleError);
          }
          expect(pool.size).toBe(model.size);
        }
        for (const [h, v] of model) expect(hp.get(h)).toBe(v);
        const visited: number[] = [];
        pool.forEach((h) => visited.push(h));
        expect(visited.sort((x, y) => x - y)).toEqual([...model.keys()].sort((x, y) => x - y));
        pool.dispose();
        expect(liveCount(allocator)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
