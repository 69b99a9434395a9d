import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, AllocatorError, InvalidArgumentError, OutOfMemoryError } from "@memkit/core";
import { CONTAINER_MIN_CAPACITY, DynamicArray, ELEMENT_KINDS, type ElementKind } from "../src/index.js";
import { BACKINGS, expectSameSequence, liveCount, makeAllocator, same, stored, type Backing } from "./support/allocators.js";
import { MovingAllocator, movingAllocator } from "./support/moving-allocator.js";

const KINDS = Object.keys(ELEMENT_KINDS) as ElementKind[];

function valueArb(kind: ElementKind): fc.Arbitrary<number | bigint> {
  if (ELEMENT_KINDS[kind].bigint) return fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n });
  return fc.oneof(
    fc.integer({ min: -300, max: 300 }),
    fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
    fc.double(),
    fc.constantFrom(NaN, -0, Infinity, -Infinity, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 1.5, -1.5),
  );
}

type Op =
  | { op: "push"; v: number | bigint }
  | { op: "pop" }
  | { op: "get"; i: number }
  | { op: "set"; i: number; v: number | bigint }
  | { op: "insert"; i: number; v: number | bigint }
  | { op: "removeAt"; i: number }
  | { op: "swapRemove"; i: number }
  | { op: "resize"; n: number }
  | { op: "clear" }
  | { op: "reserve"; n: number }
  | { op: "shrinkToFit" }
  | { op: "sort" }
  | { op: "fill"; v: number | bigint; a: number; b: number }
  | { op: "indexOf"; v: number | bigint };

function opArb(kind: ElementKind): fc.Arbitrary<Op> {
  const v = valueArb(kind);
  const i = fc.nat(260);
  return fc.oneof(
    { weight: 12, arbitrary: fc.record({ op: fc.constant("push" as const), v }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("pop" as const) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("get" as const), i }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), i, v }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), i, v }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("removeAt" as const), i }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("swapRemove" as const), i }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("resize" as const), n: fc.nat(300) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("reserve" as const), n: fc.nat(600) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("shrinkToFit" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("sort" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("fill" as const), v, a: fc.nat(260), b: fc.nat(260) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("indexOf" as const), v }) },
  );
}

/** Runs one op on both the array and the JS Array oracle; checks results and errors. */
function apply(kind: ElementKind, arr: DynamicArray<ElementKind>, model: (number | bigint)[], op: Op): void {
  const a = arr as DynamicArray<"f64">; // values are bigint for u64/i64: the casts only quiet the types
  const n = model.length;
  // Index ops draw `i` freely; map it onto [0, length + 2) so most hit an element and some miss.
  const o = "i" in op ? { ...op, i: op.i % (n + 2) } : op;
  const inRange = (i: number): boolean => i < n;
  switch (o.op) {
    case "push":
      expect(a.push(o.v as number)).toBe(n + 1);
      model.push(stored(kind, o.v));
      break;
    case "pop":
      if (n === 0) expect(() => a.pop()).toThrow(RangeError);
      else expect(same(a.pop(), model.pop())).toBe(true);
      break;
    case "get":
      if (inRange(o.i)) expect(same(a.get(o.i), model[o.i])).toBe(true);
      else expect(() => a.get(o.i)).toThrow(new RangeError(`${a.label}: index ${o.i} is out of range for length ${n}.`));
      break;
    case "set":
      if (inRange(o.i)) {
        a.set(o.i, o.v as number);
        model[o.i] = stored(kind, o.v);
      } else expect(() => a.set(o.i, o.v as number)).toThrow(RangeError);
      break;
    case "insert":
      if (o.i <= n) {
        a.insert(o.i, o.v as number);
        model.splice(o.i, 0, stored(kind, o.v));
      } else expect(() => a.insert(o.i, o.v as number)).toThrow(RangeError);
      break;
    case "removeAt":
      if (inRange(o.i)) expect(same(a.removeAt(o.i), model.splice(o.i, 1)[0])).toBe(true);
      else expect(() => a.removeAt(o.i)).toThrow(RangeError);
      break;
    case "swapRemove":
      if (inRange(o.i)) {
        const removed = model[o.i];
        model[o.i] = model[n - 1]!;
        model.pop();
        expect(same(a.swapRemove(o.i), removed)).toBe(true);
      } else expect(() => a.swapRemove(o.i)).toThrow(RangeError);
      break;
    case "resize":
      a.resize(o.n);
      while (model.length < o.n) model.push(ELEMENT_KINDS[kind].zero);
      model.length = o.n;
      break;
    case "clear":
      a.clear();
      model.length = 0;
      break;
    case "reserve":
      a.reserve(o.n);
      expect(a.capacity).toBeGreaterThanOrEqual(o.n);
      break;
    case "shrinkToFit":
      a.shrinkToFit();
      expect(a.capacity).toBe(n);
      if (n === 0) expect(a.ptr).toBe(0);
      break;
    case "sort": {
      a.sort();
      const sorted = new ELEMENT_KINDS[kind].arrayType(model.length);
      for (let i = 0; i < model.length; i++) (sorted as unknown as (number | bigint)[])[i] = model[i]!;
      sorted.sort();
      model.splice(0, model.length, ...Array.from(sorted as unknown as ArrayLike<number | bigint>));
      break;
    }
    case "fill": {
      const lo = Math.min(o.a, o.b);
      const hi = Math.max(o.a, o.b);
      if (hi <= n) {
        a.fill(o.v as number, lo, hi);
        for (let i = lo; i < hi; i++) model[i] = stored(kind, o.v);
      } else expect(() => a.fill(o.v as number, lo, hi)).toThrow(RangeError);
      break;
    }
    case "indexOf": {
      const v = stored(kind, o.v);
      expect(a.indexOf(v as number)).toBe(model.indexOf(v));
      break;
    }
  }
  expect(a.length).toBe(model.length);
  expect(a.capacity).toBeGreaterThanOrEqual(a.length);
  expectSameSequence(a.toArray(), model, `${kind} after ${o.op}`);
}

describe.each(BACKINGS)("DynamicArray over %s", (backing: Backing) => {
  it.each(KINDS)("matches a JS Array oracle for %s (random op sequences across space growth)", (kind) => {
    fc.assert(
      fc.property(fc.array(opArb(kind), { maxLength: 120 }), (ops) => {
        const allocator = makeAllocator(backing);
        const arr = new DynamicArray(allocator, kind, { name: "model" });
        const model: (number | bigint)[] = [];
        for (const o of ops) apply(kind, arr, model, o);
        arr.dispose();
        expect(liveCount(allocator)).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it("keeps 200k elements across many address-space grows", () => {
    const allocator = makeAllocator(backing);
    const before = allocator.space.byteLength;
    const arr = new DynamicArray(allocator, "f64");
    for (let i = 0; i < 200_000; i++) arr.push(i * 0.5);
    expect(allocator.space.byteLength).toBeGreaterThan(before);
    let bad = -1;
    for (let i = 0; i < arr.length && bad < 0; i++) if (arr.get(i) !== i * 0.5) bad = i;
    expect(bad).toBe(-1);
    arr.dispose();
    expect(liveCount(allocator)).toBe(0);
  });
});

describe("DynamicArray", () => {
  it("allocates nothing until the first push, then at least the minimum capacity", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "u16");
    expect(arr.ptr).toBe(0);
    expect(a.stats().allocCount).toBe(0);
    arr.push(1);
    expect(arr.capacity).toBe(CONTAINER_MIN_CAPACITY);
    expect(a.allocatedSize(arr.ptr)).toBe(CONTAINER_MIN_CAPACITY * 2);
    arr.dispose();
  });

  it("grows geometrically (doubling) through reallocate", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "u32");
    const capacities: number[] = [];
    for (let i = 0; i < 1000; i++) {
      arr.push(i);
      if (capacities[capacities.length - 1] !== arr.capacity) capacities.push(arr.capacity);
    }
    expect(capacities).toEqual([8, 16, 32, 64, 128, 256, 512, 1024]);
    expect(a.stats().allocCount).toBe(capacities.length); // each growth: one (moving) reallocation
    arr.dispose();
  });

  it("uses whole elements of the allocator's slack as capacity", () => {
    const a = movingAllocator({ slack: 20 });
    const arr = new DynamicArray(a, "u32", { capacity: 4 });
    expect(arr.capacity).toBe(4 + 5);
    arr.dispose();
  });

  it("options.capacity reserves up front", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "f32", { capacity: 100 });
    expect(arr.capacity).toBe(100);
    expect(arr.length).toBe(0);
    arr.dispose();
  });

  it("records its allocator and frees through it", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "i8");
    expect(arr.allocator).toBe(a);
    for (let i = 0; i < 100; i++) arr.push(i);
    expect(a.stats().liveCount).toBe(1);
    expect(a.stats().liveBytes).toBe(arr.byteLength);
    arr.dispose();
    expect(a.stats().liveCount).toBe(0);
  });

  it("instanceof DynamicArray holds for every kind", () => {
    const a = movingAllocator();
    for (const kind of KINDS) {
      const arr = new DynamicArray(a, kind);
      expect(arr).toBeInstanceOf(DynamicArray);
      expect(arr.kind).toBe(kind);
      expect(arr.elementSize).toBe(ELEMENT_KINDS[kind].size);
      arr.dispose();
    }
  });

  it("follows typed-array conversion for out-of-range and non-integer values", () => {
    const a = movingAllocator();
    const u8 = new DynamicArray(a, "u8");
    u8.push(300);
    u8.push(-1);
    u8.push(NaN);
    u8.push(1.9);
    expect(u8.toArray()).toEqual([44, 255, 0, 1]);
    const i16 = new DynamicArray(a, "i16");
    i16.push(40000);
    expect(i16.get(0)).toBe(-25536);
    const f32 = new DynamicArray(a, "f32");
    f32.push(0.1);
    expect(f32.get(0)).toBe(Math.fround(0.1));
    const f64 = new DynamicArray(a, "f64");
    f64.push(-0);
    expect(Object.is(f64.get(0), -0)).toBe(true);
    const u64 = new DynamicArray(a, "u64");
    u64.push(-1n);
    expect(u64.get(0)).toBe(2n ** 64n - 1n);
    for (const c of [u8, i16, f32, f64, u64]) c.dispose();
  });

  it("throws RangeError naming the index and the length", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "u32", { name: "ids" });
    arr.push(1);
    arr.push(2);
    expect(() => arr.get(2)).toThrow(new RangeError('DynamicArray<u32> "ids": index 2 is out of range for length 2.'));
    expect(() => arr.get(-1)).toThrow(/index -1 is out of range for length 2/);
    expect(() => arr.set(1.5, 0)).toThrow(/index 1.5 is not an integer \(length 2\)/);
    expect(() => arr.get(NaN)).toThrow(RangeError);
    expect(() => arr.insert(3, 0)).toThrow(RangeError);
    arr.clear();
    expect(() => arr.pop()).toThrow(/pop\(\) on an empty array/);
    arr.dispose();
  });

  it("rejects bad counts and kinds with InvalidArgumentError", () => {
    const a = movingAllocator();
    expect(() => new DynamicArray(a, "u128" as ElementKind)).toThrow(InvalidArgumentError);
    expect(() => new DynamicArray(a, "u32", { capacity: -1 })).toThrow(InvalidArgumentError);
    expect(() => new DynamicArray({} as MovingAllocator, "u32")).toThrow(InvalidArgumentError);
    const arr = new DynamicArray(a, "u32");
    expect(() => arr.reserve(1.5)).toThrow(InvalidArgumentError);
    expect(() => arr.resize(-3)).toThrow(InvalidArgumentError);
    expect(() => arr.reserve(2 ** 31)).toThrow(InvalidArgumentError);
    arr.dispose();
    expect(liveCount(a)).toBe(0);
  });

  it("keeps its elements when the allocator fails to grow it", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "i32");
    for (let i = 0; i < CONTAINER_MIN_CAPACITY; i++) arr.push(-i);
    a.failNext = 1;
    expect(() => arr.push(99)).toThrow(OutOfMemoryError);
    expect(arr.length).toBe(CONTAINER_MIN_CAPACITY);
    expect(arr.toArray()).toEqual([0, -1, -2, -3, -4, -5, -6, -7]);
    arr.push(99);
    expect(arr.get(CONTAINER_MIN_CAPACITY)).toBe(99);
    arr.dispose();
  });

  it("throws an AllocatorError naming the array for any use after dispose; dispose is idempotent", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "u32", { name: "late" });
    arr.push(1);
    arr.dispose();
    arr.dispose();
    expect(arr.disposed).toBe(true);
    expect(liveCount(a)).toBe(0);
    const calls: (() => unknown)[] = [
      () => arr.push(1),
      () => arr.pop(),
      () => arr.get(0),
      () => arr.set(0, 1),
      () => arr.reserve(10),
      () => arr.resize(1),
      () => arr.clear(),
      () => arr.shrinkToFit(),
      () => arr.swapRemove(0),
      () => arr.insert(0, 1),
      () => arr.removeAt(0),
      () => arr.fill(1),
      () => arr.indexOf(1),
      () => arr.sort(),
      () => arr.forEach(() => undefined),
      () => arr.view(),
      () => arr.toArray(),
    ];
    for (const call of calls) {
      expect(call).toThrow(AllocatorError);
      expect(call).toThrow('DynamicArray<u32> "late" was used after dispose()');
    }
    expect(liveCount(a)).toBe(0);
  });

  it("disposes at the end of a `using` block", () => {
    const a = movingAllocator();
    {
      using arr = new DynamicArray(a, "u8");
      arr.push(1);
      expect(liveCount(a)).toBe(1);
    }
    expect(liveCount(a)).toBe(0);
  });

  it("forEach visits every element and survives a callback that grows the array", () => {
    const a = movingAllocator();
    const arr = new DynamicArray(a, "u32");
    for (let i = 0; i < CONTAINER_MIN_CAPACITY; i++) arr.push(i);
    const seen: number[] = [];
    arr.forEach((v, i) => {
      seen.push(v * 100 + i);
      arr.push(1000 + v); // full at the first call: the block moves
    });
    expect(seen).toEqual([0, 101, 202, 303, 404, 505, 606, 707]);
    expect(arr.length).toBe(16);
    arr.dispose();
  });

  it("view() reads the live memory and is dead after the address space grows", () => {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 1 << 24 });
    const a = new MovingAllocator(space);
    const arr = new DynamicArray(a, "i32");
    for (let i = 0; i < 10; i++) arr.push(i - 5);
    const view = arr.view();
    expect(Array.from(view)).toEqual(arr.toArray());
    view[0] = 42;
    expect(arr.get(0)).toBe(42);
    space.grow(65536); // any allocation anywhere may do this
    expect(view.length).toBe(0); // detached: the documented rule is "use it at once"
    expect(arr.get(0)).toBe(42); // the array itself re-read its views
    arr.dispose();
  });

  it("stays correct when another allocation grows the address space (shared views refreshed)", () => {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 1 << 26 });
    const a = new MovingAllocator(space);
    const arrays = KINDS.map((kind) => new DynamicArray(a, kind));
    arrays.forEach((arr, k) => {
      for (let i = 0; i < 50; i++) (arr as DynamicArray<"f64">).push((ELEMENT_KINDS[KINDS[k]!].bigint ? BigInt(i) : i) as number);
    });
    const other = a.allocate(1 << 22); // grows the space: every array must re-read its view
    expect(space.byteLength).toBeGreaterThan(1 << 22);
    arrays.forEach((arr, k) => {
      const expected = Array.from({ length: 50 }, (_, i) => (ELEMENT_KINDS[KINDS[k]!].bigint ? BigInt(i) : i));
      expect(arr.toArray()).toEqual(expected);
      arr.set(49, arr.get(0));
      expect(arr.get(49)).toEqual(expected[0]);
      arr.dispose();
    });
    a.deallocate(other);
    expect(liveCount(a)).toBe(0);
  });
});
