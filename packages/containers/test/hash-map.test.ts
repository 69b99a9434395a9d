import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AllocatorError, InvalidArgumentError, OutOfMemoryError, SeededRandom } from "@memkit/core";
import { ELEMENT_KINDS, HashMap, HashSet, hash32, type ElementKind, type KeyKind } from "../src/index.js";
import { BACKINGS, liveCount, makeAllocator, same, stored, type Backing } from "./support/allocators.js";
import { movingAllocator } from "./support/moving-allocator.js";

const KEY_KINDS: KeyKind[] = ["u32", "i32", "f64"];

function keyArb(kind: KeyKind): fc.Arbitrary<number> {
  switch (kind) {
    case "u32":
      return fc.oneof(fc.nat(48), fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1, 0x1000, 0x2000, 0x3000));
    case "i32":
      return fc.oneof(fc.integer({ min: -24, max: 24 }), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31), -0x1000));
    case "f64":
      return fc.oneof(
        fc.integer({ min: -24, max: 24 }),
        fc.double({ noNaN: true }),
        fc.constantFrom(0, -0, 0.5, -0.5, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53),
      );
  }
}

function valueArb(kind: ElementKind): fc.Arbitrary<number | bigint> {
  if (ELEMENT_KINDS[kind].bigint) return fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n });
  return fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.double(), fc.constantFrom(NaN, -0, 1.5));
}

type MapOp =
  | { op: "set"; k: number; v: number | bigint }
  | { op: "get"; k: number }
  | { op: "has"; k: number }
  | { op: "delete"; k: number }
  | { op: "clear" }
  | { op: "iterate" };

function mapOpArb(key: KeyKind, value: ElementKind): fc.Arbitrary<MapOp> {
  const k = keyArb(key);
  return fc.oneof(
    { weight: 10, arbitrary: fc.record({ op: fc.constant("set" as const), k, v: valueArb(value) }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant("get" as const), k }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("has" as const), k }) },
    { weight: 6, arbitrary: fc.record({ op: fc.constant("delete" as const), k }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("iterate" as const) }) },
  );
}

const MISSING = -12345;

function sortedEntries(entries: [number, unknown][]): string {
  return entries
    .map(([k, v]) => `${Object.is(k, -0) ? 0 : k}=${String(v)}`)
    .sort()
    .join(",");
}

const VALUE_KINDS_UNDER_TEST: ElementKind[] = ["u8", "i16", "u32", "f32", "f64", "u64"];

describe.each(BACKINGS)("HashMap over %s", (backing: Backing) => {
  for (const key of KEY_KINDS) {
    it.each(VALUE_KINDS_UNDER_TEST)(`${key} keys -> %s values match a Map oracle (random ops, growth, deletes)`, (value) => {
      fc.assert(
        fc.property(fc.array(mapOpArb(key, value), { maxLength: 150 }), (ops) => {
          const allocator = makeAllocator(backing);
          const map = new HashMap(allocator, { key, value }) as unknown as HashMap<KeyKind, "f64">;
          const model = new Map<number, number | bigint>();
          const fallback = (ELEMENT_KINDS[value].bigint ? BigInt(MISSING) : MISSING) as number;
          for (const o of ops) {
            switch (o.op) {
              case "set":
                map.set(o.k, o.v as number);
                model.set(o.k, stored(value, o.v));
                break;
              case "get":
                expect(same(map.get(o.k, fallback), model.has(o.k) ? model.get(o.k) : fallback)).toBe(true);
                break;
              case "has":
                expect(map.has(o.k)).toBe(model.has(o.k));
                break;
              case "delete":
                expect(map.delete(o.k)).toBe(model.delete(o.k));
                break;
              case "clear":
                map.clear();
                model.clear();
                break;
              case "iterate": {
                const viaForEach: [number, unknown][] = [];
                map.forEach((k, v) => viaForEach.push([k, v]));
                const viaCursor: [number, unknown][] = [];
                for (let c = map.next(-1); c !== -1; c = map.next(c)) viaCursor.push([map.keyAt(c), map.valueAt(c)]);
                const expected = sortedEntries([...model.entries()]);
                expect(sortedEntries(viaForEach)).toBe(expected);
                expect(sortedEntries(viaCursor)).toBe(expected);
                break;
              }
            }
            expect(map.size).toBe(model.size);
            map.check();
            expect(map.size - (map.has(0) ? 1 : 0)).toBeLessThanOrEqual(map.capacity * map.maxLoadFactor);
          }
          for (const [k, v] of model) expect(same(map.get(k, fallback), v)).toBe(true);
          map.dispose();
          expect(liveCount(allocator)).toBe(0);
        }),
        { numRuns: 12 },
      );
    });
  }

  it("survives a long seeded churn (200k ops over 4,000 keys) with a validator", () => {
    const allocator = makeAllocator(backing);
    const map = new HashMap(allocator, { key: "u32", value: "u32", name: "churn" });
    const model = new Map<number, number>();
    const rng = new SeededRandom(0xc0ffee);
    for (let step = 0; step < 200_000; step++) {
      const k = rng.int(0, 3999) * 4096; // multiples of 4096: a pattern weak hashes cluster
      const r = rng.next();
      if (r < 0.45) {
        map.set(k, step);
        model.set(k, step);
      } else if (r < 0.8) {
        if (map.delete(k) !== model.delete(k)) throw new Error(`delete(${k}) disagrees at step ${step}`);
      } else if (map.get(k, -1) !== (model.get(k) ?? -1)) throw new Error(`get(${k}) disagrees at step ${step}`);
      if (step % 20_000 === 0) {
        map.check();
        expect(map.size).toBe(model.size);
      }
    }
    map.check();
    expect(map.size).toBe(model.size);
    for (const [k, v] of model) expect(map.get(k, -1)).toBe(v);
    map.dispose();
    expect(liveCount(allocator)).toBe(0);
  });
});

describe("HashMap", () => {
  it("deletes from a probe run that wraps around the end of the table (backward shift)", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "u32", value: "u32" });
    expect(map.capacity).toBe(8);
    // Keys whose home is the last slot: their run wraps to slots 0, 1, 2...
    const homeLast: number[] = [];
    for (let k = 1; homeLast.length < 4; k++) if ((hash32(k) & 7) === 7) homeLast.push(k);
    const homeZero: number[] = [];
    for (let k = 1; homeZero.length < 1; k++) if ((hash32(k) & 7) === 0) homeZero.push(k);
    const keys = [...homeLast, ...homeZero]; // 5 keys (< 6 = 8 × 0.75): no growth
    keys.forEach((k, i) => map.set(k, i + 100));
    expect(map.capacity).toBe(8);
    map.check();
    for (const victim of [homeLast[0]!, homeLast[2]!, homeZero[0]!, homeLast[3]!]) {
      expect(map.delete(victim)).toBe(true);
      map.check();
      keys.forEach((k, i) => expect(map.get(k, -1)).toBe(keys.indexOf(k) >= 0 && map.has(k) ? i + 100 : -1));
    }
    expect(map.get(homeLast[1]!, -1)).toBe(101);
    expect(map.size).toBe(1);
    map.dispose();
  });

  it("keeps key 0 (and -0) apart from the slots", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "f64", value: "f64" });
    map.set(-0, 1);
    expect(map.get(0, -1)).toBe(1);
    expect(map.size).toBe(1);
    map.set(0, 2);
    expect(map.size).toBe(1);
    expect(map.toArray()).toEqual([[0, 2]]);
    for (let i = 1; i < 100; i++) map.set(i, i); // growth moves the key-0 entry too
    expect(map.get(-0, -1)).toBe(2);
    expect(map.delete(0)).toBe(true);
    expect(map.has(0)).toBe(false);
    expect(map.size).toBe(99);
    map.dispose();
  });

  it("returns the caller's fallback for a missing key", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "i32", value: "u64" });
    expect(map.get(5, 7n)).toBe(7n);
    map.set(5, 1n);
    expect(map.get(5, 7n)).toBe(1n);
    map.dispose();
  });

  it("refuses keys outside the key kind with InvalidArgumentError, and changes nothing", () => {
    const a = movingAllocator();
    const u = new HashMap(a, { key: "u32", value: "u8", name: "ids" });
    u.set(1, 1);
    for (const bad of [-1, 1.5, 2 ** 32, NaN, Infinity]) {
      expect(() => u.set(bad, 1)).toThrow(InvalidArgumentError);
      expect(() => u.get(bad, 0)).toThrow(/HashMap<u32, u8> "ids": key .* is not a u32 key \(an integer from 0 to 4294967295\)/);
      expect(() => u.has(bad)).toThrow(InvalidArgumentError);
      expect(() => u.delete(bad)).toThrow(InvalidArgumentError);
    }
    expect(u.size).toBe(1);
    u.check();
    const i = new HashMap(a, { key: "i32", value: "u8" });
    expect(() => i.set(2 ** 31, 1)).toThrow(InvalidArgumentError);
    expect(() => i.set(-0.5, 1)).toThrow(InvalidArgumentError);
    const f = new HashMap(a, { key: "f64", value: "u8" });
    expect(() => f.set(NaN, 1)).toThrow(/a number other than NaN/);
    for (const m of [u, i, f]) m.dispose();
  });

  it("takes f64 keys that are numbers, exactly: anything else (NaN included) is refused and check() stays clean", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "f64", value: "f64", name: "positions" });
    const set = new HashSet(a, { key: "f64", name: "seen" });
    const good = [1, -1, 0.5, -0, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53];
    for (const k of good) {
      map.set(k, k * 2);
      set.add(k);
    }
    const bad: unknown[] = [undefined, null, "1", "", true, false, {}, [], () => 1, 1n, Symbol("k"), NaN];
    for (const k of bad) {
      const key = k as number;
      expect(() => map.set(key, 1), String(k)).toThrow(InvalidArgumentError);
      expect(() => map.set(key, 1), String(k)).toThrow(/HashMap<f64, f64> "positions": key .* is not a f64 key \(a number other than NaN\)/);
      expect(() => map.get(key, -1), String(k)).toThrow(InvalidArgumentError);
      expect(() => map.has(key), String(k)).toThrow(InvalidArgumentError);
      expect(() => map.delete(key), String(k)).toThrow(InvalidArgumentError);
      expect(() => set.add(key), String(k)).toThrow(InvalidArgumentError);
      expect(() => set.has(key), String(k)).toThrow(InvalidArgumentError);
      expect(() => set.delete(key), String(k)).toThrow(InvalidArgumentError);
    }
    map.check(); // undefined used to be stored as a NaN key, which check() then called corruption
    set.check();
    expect(map.size).toBe(good.length);
    expect(set.size).toBe(good.length);
    for (const k of good) {
      expect(map.get(k, NaN)).toBe(k * 2);
      expect(set.has(k)).toBe(true);
    }
    map.dispose();
    set.dispose();
  });

  it("takes values of the value kind's JS type only, and a refused value leaves no key behind", () => {
    const a = movingAllocator();
    const numbers = new HashMap(a, { key: "u32", value: "f64" });
    const bigints = new HashMap(a, { key: "u32", value: "u64" });
    for (const v of [undefined, null, "2", true, {}, 2n, Symbol("v")] as unknown[]) {
      expect(() => numbers.set(7, v as number), String(v)).toThrow(/value must be a number \(f64 values are numbers\)/);
    }
    for (const v of [undefined, null, "2", true, {}, 2, NaN, Symbol("v")] as unknown[]) {
      expect(() => bigints.set(7, v as bigint), String(v)).toThrow(/value must be a bigint \(u64 values are bigints: 5n or BigInt\(x\)\)/);
    }
    expect(numbers.has(7)).toBe(false);
    expect(bigints.has(7)).toBe(false);
    numbers.set(7, NaN); // NaN is a number: a fine value (only keys refuse it)
    bigints.set(7, 2n);
    expect(numbers.get(7, 0)).toBeNaN();
    expect(bigints.get(7, 0n)).toBe(2n);
    numbers.check();
    bigints.check();
    numbers.dispose();
    bigints.dispose();
  });

  it("refuses bad options with InvalidArgumentError", () => {
    const a = movingAllocator();
    expect(() => new HashMap(a, { key: "u8" as KeyKind, value: "u8" })).toThrow(InvalidArgumentError);
    expect(() => new HashMap(a, { key: "u32", value: "u128" as ElementKind })).toThrow(InvalidArgumentError);
    expect(() => new HashMap(a, { key: "u32", value: "u32", maxLoadFactor: 0.9 })).toThrow(/maxLoadFactor must be a number from 0.25 to 0.875/);
    expect(() => new HashMap(a, { key: "u32", value: "u32", capacity: -1 })).toThrow(InvalidArgumentError);
    expect(() => new HashMap(a, undefined as never)).toThrow(InvalidArgumentError);
    expect(liveCount(a)).toBe(0);
  });

  it("pre-sizes for options.capacity and never exceeds the max load factor", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "u32", value: "u32", capacity: 1000, maxLoadFactor: 0.875 });
    expect(map.capacity).toBe(2048); // 1024 × 0.875 = 896 < 1000
    const allocs = a.stats().allocCount;
    for (let k = 1; k <= 1000; k++) map.set(k, k);
    expect(a.stats().allocCount).toBe(allocs); // no growth
    map.set(1001, 0);
    expect(map.capacity).toBe(2048);
    for (let k = 1002; k <= 1800; k++) map.set(k, k);
    expect(map.capacity).toBe(4096); // 1792 = 2048 × 0.875 reached
    map.dispose();
  });

  it("keeps every entry when the allocator refuses to grow the table", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "u32", value: "f32" });
    for (let k = 1; k <= 6; k++) map.set(k, k / 2);
    a.failNext = 1;
    expect(() => map.set(7, 1)).toThrow(OutOfMemoryError);
    expect(map.size).toBe(6);
    expect(map.has(7)).toBe(false);
    map.check();
    map.set(7, 3.5);
    for (let k = 1; k <= 6; k++) expect(map.get(k, -1)).toBe(k / 2);
    expect(map.get(7, -1)).toBe(3.5);
    map.dispose();
    expect(liveCount(a)).toBe(0);
  });

  it("forEach refuses structural changes from the callback but allows value updates", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "u32", value: "u32", name: "m" });
    for (let k = 1; k <= 5; k++) map.set(k, k);
    map.forEach((k, v) => map.set(k, v * 10));
    expect(map.toArray().map(([, v]) => v).sort((x, y) => x - y)).toEqual([10, 20, 30, 40, 50]);
    expect(() => map.forEach((k) => map.delete(k))).toThrow(AllocatorError);
    expect(() => map.forEach(() => map.set(1000, 1))).toThrow(/modified during forEach/);
    for (let c = map.next(-1); c !== -1; c = map.next(c)) map.setValueAt(c, map.keyAt(c));
    map.forEach((k, v) => expect(v).toBe(k));
    map.dispose();
  });

  it("refuses bad cursors with RangeError", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "u32", value: "u32" });
    map.set(3, 3);
    const c = map.next(-1);
    expect(map.keyAt(c)).toBe(3);
    expect(map.next(c)).toBe(-1);
    const empty = c === 0 ? 1 : 0;
    expect(() => map.keyAt(empty)).toThrow(RangeError);
    expect(() => map.valueAt(-1)).toThrow(RangeError);
    expect(() => map.next(1.5)).toThrow(RangeError);
    expect(() => map.next(-2)).toThrow(RangeError);
    map.dispose();
  });

  it("stays correct when the address space grows during its own growth", () => {
    const a = movingAllocator();
    const before = a.space.byteLength;
    const map = new HashMap(a, { key: "i32", value: "f64" });
    for (let k = -50_000; k < 50_000; k++) map.set(k, k * 0.5);
    expect(a.space.byteLength).toBeGreaterThan(before);
    for (let k = -50_000; k < 50_000; k += 7) expect(map.get(k, NaN)).toBe(k * 0.5);
    map.check();
    map.dispose();
  });

  it("throws after dispose; instanceof holds for every kind pair", () => {
    const a = movingAllocator();
    const map = new HashMap(a, { key: "f64", value: "i8", name: "gone" });
    expect(map).toBeInstanceOf(HashMap);
    expect(map.keyKind).toBe("f64");
    expect(map.valueKind).toBe("i8");
    map.set(1, 1);
    map.dispose();
    map.dispose();
    expect(liveCount(a)).toBe(0);
    expect(map.size).toBe(0);
    for (const call of [
      () => map.get(1, 0),
      () => map.get(0, 0),
      () => map.set(1, 1),
      () => map.has(1),
      () => map.delete(1),
      () => map.clear(),
      () => map.next(-1),
      () => map.keyAt(0),
      () => map.forEach(() => undefined),
      () => map.toArray(),
    ]) {
      expect(call).toThrow('HashMap<f64, i8> "gone" was used after dispose()');
    }
  });
});

type SetOp = { op: "add" | "has" | "delete"; k: number } | { op: "clear" };

describe.each(BACKINGS)("HashSet over %s", (backing: Backing) => {
  it.each(KEY_KINDS)("%s keys match a Set oracle", (key) => {
    const k = keyArb(key);
    const opArb: fc.Arbitrary<SetOp> = fc.oneof(
      { weight: 10, arbitrary: fc.record({ op: fc.constant("add" as const), k }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant("has" as const), k }) },
      { weight: 6, arbitrary: fc.record({ op: fc.constant("delete" as const), k }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const) }) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const allocator = makeAllocator(backing);
        const set = new HashSet(allocator, { key });
        const model = new Set<number>();
        for (const o of ops) {
          if (o.op === "clear") {
            set.clear();
            model.clear();
          } else if (o.op === "add") {
            expect(set.add(o.k)).toBe(!model.has(o.k));
            model.add(o.k);
          } else if (o.op === "has") expect(set.has(o.k)).toBe(model.has(o.k));
          else expect(set.delete(o.k)).toBe(model.delete(o.k));
          expect(set.size).toBe(model.size);
          set.check();
        }
        const keys: number[] = [];
        set.forEach((x) => keys.push(x));
        expect(sortedEntries(keys.map((x) => [x, 1]))).toBe(sortedEntries([...model].map((x) => [x, 1])));
        expect(set).toBeInstanceOf(HashSet);
        set.dispose();
        expect(liveCount(allocator)).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});
