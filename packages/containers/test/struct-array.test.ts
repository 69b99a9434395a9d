import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AllocatorError, InvalidArgumentError, OutOfMemoryError } from "@memkit/core";
import { ELEMENT_KINDS, StructArray, StructOfArrays, defineStruct, offsetOf, sizeOf, type FieldName, type StructArrayOptions } from "../src/index.js";
import type { Allocator } from "@memkit/core";
import { BACKINGS, expectSameSequence, liveCount, makeAllocator, same, stored, type Backing } from "./support/allocators.js";
import { movingAllocator } from "./support/moving-allocator.js";

const Unit = defineStruct({ x: "f32", y: "f64", hp: "u16", flags: "u8", id: "u32", big: "i64", dx: "i8" });
type UnitLayout = typeof Unit;
type Field = FieldName<UnitLayout>;
type Rec = Record<Field, number | bigint>;

const FLAVOURS = {
  StructArray: (a: Allocator, o?: StructArrayOptions) => new StructArray(a, Unit, o),
  StructOfArrays: (a: Allocator, o?: StructArrayOptions) => new StructOfArrays(a, Unit, o),
} as const;
type Flavour = keyof typeof FLAVOURS;
type Records = StructArray<UnitLayout> | StructOfArrays<UnitLayout>;

function zeroRecord(): Rec {
  const r = {} as Rec;
  for (const f of Unit.fields) r[f.name as Field] = ELEMENT_KINDS[f.kind].zero;
  return r;
}

const valueFor = (field: Field): fc.Arbitrary<number | bigint> => {
  const kind = Unit.field(field).kind;
  if (ELEMENT_KINDS[kind].bigint) return fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n });
  return fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.double(), fc.constantFrom(NaN, -0, 255.5, 2 ** 32 + 3));
};

type Op =
  | { op: "push"; x: number }
  | { op: "pop" }
  | { op: "set"; i: number; f: Field; v: number | bigint }
  | { op: "get"; i: number; f: Field }
  | { op: "swapRemove"; i: number }
  | { op: "insert"; i: number }
  | { op: "removeAt"; i: number }
  | { op: "resize"; n: number }
  | { op: "reserve"; n: number }
  | { op: "shrinkToFit" }
  | { op: "clear" };

const fieldArb = fc.constantFrom(...(Unit.fieldNames as Field[]));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant("push" as const), x: fc.integer({ min: -1000, max: 1000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("pop" as const) }) },
  { weight: 8, arbitrary: fieldArb.chain((f) => fc.record({ op: fc.constant("set" as const), i: fc.nat(70), f: fc.constant(f), v: valueFor(f) })) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("get" as const), i: fc.nat(70), f: fieldArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("swapRemove" as const), i: fc.nat(70) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), i: fc.nat(70) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("removeAt" as const), i: fc.nat(70) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("resize" as const), n: fc.nat(80) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reserve" as const), n: fc.nat(150) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("shrinkToFit" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const) }) },
);

let serial = 0;

/** Index ops draw `i` freely; map it onto [0, length + 2) so most hit a record and some miss. */
function apply(arr: Records, model: Rec[], op: Op): void {
  const n = model.length;
  const o = "i" in op ? { ...op, i: op.i % (n + 2) } : op;
  switch (o.op) {
    case "push": {
      expect(arr.push()).toBe(n);
      const r = zeroRecord();
      // Distinct records, so a move that goes wrong shows.
      r.id = ++serial;
      r.x = o.x;
      arr.set(n, "id", r.id);
      arr.set(n, "x", o.x);
      model.push(r);
      break;
    }
    case "pop":
      if (n === 0) expect(() => arr.pop()).toThrow(RangeError);
      else {
        arr.pop();
        model.pop();
      }
      break;
    case "set":
      if (o.i < n) {
        arr.set(o.i, o.f, o.v);
        model[o.i]![o.f] = stored(Unit.field(o.f).kind, o.v);
      } else expect(() => arr.set(o.i, o.f, o.v as never)).toThrow(`index ${o.i} is out of range for length ${n}`);
      break;
    case "get":
      if (o.i < n) expect(same(arr.get(o.i, o.f), model[o.i]![o.f])).toBe(true);
      else expect(() => arr.field(o.f).get(o.i)).toThrow(RangeError);
      break;
    case "swapRemove":
      if (o.i < n) {
        arr.swapRemove(o.i);
        model[o.i] = model[n - 1]!;
        model.pop();
      } else expect(() => arr.swapRemove(o.i)).toThrow(RangeError);
      break;
    case "insert":
      if (o.i <= n) {
        arr.insert(o.i);
        model.splice(o.i, 0, zeroRecord());
      } else expect(() => arr.insert(o.i)).toThrow(RangeError);
      break;
    case "removeAt":
      if (o.i < n) {
        arr.removeAt(o.i);
        model.splice(o.i, 1);
      } else expect(() => arr.removeAt(o.i)).toThrow(RangeError);
      break;
    case "resize":
      arr.resize(o.n);
      while (model.length < o.n) model.push(zeroRecord());
      model.length = o.n;
      break;
    case "reserve":
      arr.reserve(o.n);
      expect(arr.capacity).toBeGreaterThanOrEqual(o.n);
      break;
    case "shrinkToFit":
      arr.shrinkToFit();
      expect(arr.capacity).toBe(n);
      break;
    case "clear":
      arr.clear();
      model.length = 0;
      break;
  }
  expect(arr.length).toBe(model.length);
  const actual = arr.toArray();
  for (const f of Unit.fieldNames as Field[]) {
    expectSameSequence(
      actual.map((r) => r[f]),
      model.map((r) => r[f]),
      `field ${f} after ${o.op}`,
    );
  }
}

describe.each(BACKINGS)("records over %s", (backing: Backing) => {
  it.each(Object.keys(FLAVOURS) as Flavour[])("%s matches an array-of-objects oracle (random ops across space growth)", (flavour) => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 100 }), (ops) => {
        const allocator = makeAllocator(backing);
        const arr = FLAVOURS[flavour](allocator);
        const model: Rec[] = [];
        for (const o of ops) apply(arr, model, o);
        arr.dispose();
        expect(liveCount(allocator)).toBe(0);
      }),
      { numRuns: 50 },
    );
  });
});

describe.each(Object.keys(FLAVOURS) as Flavour[])("%s", (flavour) => {
  const make = FLAVOURS[flavour];

  it("field handles read and write what get/set do, and stay valid across growth", () => {
    const a = movingAllocator();
    const arr = make(a);
    const x = arr.field("x");
    const id = arr.field("id");
    const big = arr.field("big");
    expect(x.kind).toBe("f32");
    expect(arr.field("x")).toBe(x); // resolved once, the same handle every time
    for (let i = 0; i < 1000; i++) {
      const r = arr.push();
      x.set(r, i + 0.5);
      id.set(r, i * 7);
      big.set(r, BigInt(i) * -3n);
    }
    for (let i = 0; i < 1000; i++) {
      expect(arr.get(i, "x")).toBe(i + 0.5);
      expect(id.get(i)).toBe(i * 7);
      expect(arr.get(i, "big")).toBe(BigInt(i) * -3n);
      expect(arr.get(i, "hp")).toBe(0);
    }
    arr.dispose();
    expect(() => x.get(0)).toThrow(AllocatorError);
    expect(liveCount(a)).toBe(0);
  });

  it("throws InvalidArgumentError for unknown field names, RangeError for bad indexes", () => {
    const a = movingAllocator();
    const arr = make(a, { name: "units" });
    arr.push();
    expect(() => arr.get(0, "z" as Field)).toThrow(InvalidArgumentError);
    expect(() => arr.set(0, "constructor" as Field, 1)).toThrow(/unknown field "constructor"/);
    expect(() => arr.field("__proto__" as Field)).toThrow(InvalidArgumentError);
    expect(() => arr.get(1, "x")).toThrow(new RangeError(`${flavour} "units": index 1 is out of range for length 1.`));
    expect(() => arr.get(-1, "x")).toThrow(RangeError);
    expect(() => arr.get(0.5, "x")).toThrow(/not an integer/);
    arr.dispose();
  });

  it("keeps its records when the allocator refuses to grow it", () => {
    const a = movingAllocator();
    const arr = make(a, { capacity: 2 });
    arr.set(arr.push(), "id", 11);
    arr.set(arr.push(), "id", 22);
    a.failNext = 1;
    expect(() => arr.push()).toThrow(OutOfMemoryError);
    expect(arr.length).toBe(2);
    expect(arr.toArray().map((r) => r.id)).toEqual([11, 22]);
    arr.set(arr.push(), "id", 33);
    expect(arr.toArray().map((r) => r.id)).toEqual([11, 22, 33]);
    arr.dispose();
  });

  it("throws after dispose for every operation; dispose is idempotent", () => {
    const a = movingAllocator();
    const arr = make(a);
    arr.push();
    arr.dispose();
    arr.dispose();
    expect(liveCount(a)).toBe(0);
    for (const call of [
      () => arr.push(),
      () => arr.pop(),
      () => arr.get(0, "x"),
      () => arr.set(0, "x", 1),
      () => arr.swapRemove(0),
      () => arr.insert(0),
      () => arr.removeAt(0),
      () => arr.resize(3),
      () => arr.reserve(3),
      () => arr.clear(),
      () => arr.shrinkToFit(),
      () => arr.forEach(() => undefined),
      () => arr.toArray(),
    ]) {
      expect(call).toThrow(/was used after dispose\(\)/);
    }
  });

  it("forEach visits every index", () => {
    const a = movingAllocator();
    const arr = make(a);
    for (let i = 0; i < 20; i++) arr.set(arr.push(), "hp", i * 3);
    const seen: number[] = [];
    arr.forEach((i) => seen.push(arr.get(i, "hp")));
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i * 3));
    arr.dispose();
  });
});

describe("StructArray memory layout", () => {
  it("puts record i at ptr + i * sizeOf(layout), each field at offsetOf(layout, field)", () => {
    const a = movingAllocator();
    const arr = new StructArray(a, Unit);
    expect(arr.stride).toBe(sizeOf(Unit));
    expect(sizeOf(Unit)).toBe(40); // x 0, y 8, hp 16, flags 18, id 20, big 24, dx 32 -> 33, padded to 40
    for (let i = 0; i < 50; i++) {
      arr.push();
      arr.set(i, "x", i + 0.25);
      arr.set(i, "y", -i);
      arr.set(i, "hp", 1000 + i);
      arr.set(i, "flags", i);
      arr.set(i, "id", 0xdead0000 + i);
      arr.set(i, "big", -BigInt(i));
      arr.set(i, "dx", -i);
    }
    const dv = a.space.view;
    for (let i = 0; i < 50; i++) {
      const p = arr.recordPtr(i);
      expect(p).toBe(arr.ptr + i * 40);
      expect(dv.getFloat32(p + offsetOf(Unit, "x"), true)).toBe(i + 0.25);
      expect(dv.getFloat64(p + offsetOf(Unit, "y"), true)).toBe(-i);
      expect(dv.getUint16(p + offsetOf(Unit, "hp"), true)).toBe(1000 + i);
      expect(dv.getUint8(p + offsetOf(Unit, "flags"))).toBe(i);
      expect(dv.getUint32(p + offsetOf(Unit, "id"), true)).toBe(0xdead0000 + i);
      expect(dv.getBigInt64(p + offsetOf(Unit, "big"), true)).toBe(-BigInt(i));
      expect(dv.getInt8(p + offsetOf(Unit, "dx"))).toBe(-i | 0);
    }
    expect(arr.view().length).toBe(50 * 40);
    arr.dispose();
  });
});

describe("StructOfArrays memory layout", () => {
  it("keeps one 8-aligned column per field, readable as a typed array", () => {
    const a = movingAllocator();
    const soa = new StructOfArrays(a, Unit, { capacity: 5 });
    for (let i = 0; i < 3; i++) {
      soa.push();
      soa.set(i, "hp", 7 * i);
      soa.set(i, "x", i / 4);
    }
    expect(Array.from(soa.column("hp"))).toEqual([0, 7, 14]);
    expect(Array.from(soa.column("x"))).toEqual([0, 0.25, 0.5]);
    let previous = -1;
    for (const name of Unit.fieldNames as Field[]) {
      const p = soa.columnPtr(name);
      expect(p % 8).toBe(0);
      expect(p).toBeGreaterThan(previous);
      previous = p;
    }
    expect(soa.columnPtr("y") - soa.columnPtr("x")).toBe(24); // 5 × f32 = 20, padded to 24
    expect(() => soa.column("nope" as Field)).toThrow(InvalidArgumentError);
    soa.dispose();
  });
});
