import { describe, expect, expectTypeOf, it } from "vitest";
import { DynamicArray, StructArray, StructOfArrays, defineStruct, type TypedArray, type TypedArrayOf } from "../src/index.js";
import { movingAllocator } from "./support/moving-allocator.js";

// expectTypeOf checks run when the package typechecks (`npx tsc -p tsconfig.json
// --noEmit` covers test/); at run time they are no-ops, so each one is paired
// with a run-time check of the same view.

const Body = defineStruct({ x: "f32", id: "i32", hp: "u16", flags: "u8", mass: "f64", tag: "i8", key: "u64", delta: "i64", n: "u32", s: "i16" });

describe("typed views are typed by their element kind", () => {
  it("StructOfArrays.column(name) is the field's typed array", () => {
    const soa = new StructOfArrays(movingAllocator(), Body);
    soa.push();
    expectTypeOf(soa.column("x")).toEqualTypeOf<Float32Array>();
    expectTypeOf(soa.column("id")).toEqualTypeOf<Int32Array>();
    expectTypeOf(soa.column("hp")).toEqualTypeOf<Uint16Array>();
    expectTypeOf(soa.column("flags")).toEqualTypeOf<Uint8Array>();
    expectTypeOf(soa.column("mass")).toEqualTypeOf<Float64Array>();
    expectTypeOf(soa.column("tag")).toEqualTypeOf<Int8Array>();
    expectTypeOf(soa.column("key")).toEqualTypeOf<BigUint64Array>();
    expectTypeOf(soa.column("delta")).toEqualTypeOf<BigInt64Array>();
    expectTypeOf(soa.column("n")).toEqualTypeOf<Uint32Array>();
    expectTypeOf(soa.column("s")).toEqualTypeOf<Int16Array>();
    // So a column is usable as what it is, without a cast:
    const x: Float32Array = soa.column("x");
    const key: BigUint64Array = soa.column("key");
    expect(x).toBeInstanceOf(Float32Array);
    expect(key).toBeInstanceOf(BigUint64Array);
    expect(soa.column("flags")).toBeInstanceOf(Uint8Array);
    expect(soa.column("s")).toBeInstanceOf(Int16Array);
    soa.dispose();
  });

  it("DynamicArray.view() is the kind's typed array; an array of unknown kind gives the union", () => {
    const a = movingAllocator();
    const f32 = new DynamicArray(a, "f32");
    const u64 = new DynamicArray(a, "u64");
    f32.push(1.5);
    u64.push(2n);
    expectTypeOf(f32.view()).toEqualTypeOf<Float32Array>();
    expectTypeOf(u64.view()).toEqualTypeOf<BigUint64Array>();
    expectTypeOf<DynamicArray["view"]>().returns.toEqualTypeOf<TypedArray>();
    expectTypeOf<TypedArrayOf<"i16" | "u8">>().toEqualTypeOf<Int16Array | Uint8Array>();
    expect(f32.view()).toBeInstanceOf(Float32Array);
    expect(u64.view()[0]).toBe(2n);
    f32.dispose();
    u64.dispose();
  });

  it("StructArray.view() is the records' bytes", () => {
    const arr = new StructArray(movingAllocator(), Body);
    expectTypeOf(arr.view()).toEqualTypeOf<Uint8Array>();
    arr.dispose();
  });
});
