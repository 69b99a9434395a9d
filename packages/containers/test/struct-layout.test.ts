import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { InvalidArgumentError } from "@memkit/core";
import { ELEMENT_KINDS, alignOf, defineStruct, offsetOf, sizeOf, type ElementKind, type StructFields } from "../src/index.js";

const KINDS = Object.keys(ELEMENT_KINDS) as ElementKind[];

describe("defineStruct", () => {
  // Each case is what a C compiler gives for the same struct (x86-64, ARM64 and wasm32 agree).
  const cases: { fields: StructFields; offsets: number[]; size: number; align: number; c: string }[] = [
    { c: "struct { float x, y; uint16_t hp; uint8_t flags; }", fields: { x: "f32", y: "f32", hp: "u16", flags: "u8" }, offsets: [0, 4, 8, 10], size: 12, align: 4 },
    { c: "struct { uint8_t a; double b; uint8_t c; }", fields: { a: "u8", b: "f64", c: "u8" }, offsets: [0, 8, 16], size: 24, align: 8 },
    { c: "struct { uint8_t a; uint16_t b; uint8_t c; uint32_t d; }", fields: { a: "u8", b: "u16", c: "u8", d: "u32" }, offsets: [0, 2, 4, 8], size: 12, align: 4 },
    { c: "struct { uint8_t a; }", fields: { a: "u8" }, offsets: [0], size: 1, align: 1 },
    { c: "struct { uint8_t a, b; uint16_t c; }", fields: { a: "u8", b: "u8", c: "u16" }, offsets: [0, 1, 2], size: 4, align: 2 },
    { c: "struct { int64_t a; uint8_t b; }", fields: { a: "i64", b: "u8" }, offsets: [0, 8], size: 16, align: 8 },
    { c: "struct { uint16_t a; int8_t b; }", fields: { a: "u16", b: "i8" }, offsets: [0, 2], size: 4, align: 2 },
    { c: "struct { float a; double b; }", fields: { a: "f32", b: "f64" }, offsets: [0, 8], size: 16, align: 8 },
    { c: "struct { double a; float b; int32_t c; }", fields: { a: "f64", b: "f32", c: "i32" }, offsets: [0, 8, 12], size: 16, align: 8 },
    { c: "struct { uint8_t a; int16_t b; uint64_t c; uint8_t d; }", fields: { a: "u8", b: "i16", c: "u64", d: "u8" }, offsets: [0, 2, 8, 16], size: 24, align: 8 },
  ];

  it.each(cases)("lays out $c like C", ({ fields, offsets, size, align }) => {
    const layout = defineStruct(fields);
    expect(layout.fields.map((f) => f.offset)).toEqual(offsets);
    expect(Object.keys(fields).map((name) => offsetOf(layout, name))).toEqual(offsets);
    expect(sizeOf(layout)).toBe(size);
    expect(alignOf(layout)).toBe(align);
    expect(layout.fieldNames).toEqual(Object.keys(fields));
  });

  it("keeps the C rules for any field list (aligned, in order, minimal padding, size a multiple of the alignment)", () => {
    const fieldsArb = fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(fieldsArb, (kinds) => {
        const description: Record<string, ElementKind> = {};
        kinds.forEach((k, i) => (description[`f${i}`] = k));
        const layout = defineStruct(description);
        let end = 0;
        let maxAlign = 1;
        layout.fields.forEach((f, i) => {
          const info = ELEMENT_KINDS[kinds[i]!];
          expect(f.name).toBe(`f${i}`);
          expect(f.size).toBe(info.size);
          expect(f.offset % info.align).toBe(0); // aligned
          expect(f.offset).toBeGreaterThanOrEqual(end); // in order, no overlap
          expect(f.offset - end).toBeLessThan(info.align); // no more padding than alignment needs
          end = f.offset + f.size;
          maxAlign = Math.max(maxAlign, info.align);
        });
        expect(layout.align).toBe(maxAlign);
        expect(layout.size % layout.align).toBe(0);
        expect(layout.size).toBeGreaterThanOrEqual(end);
        expect(layout.size - end).toBeLessThan(layout.align);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses bad descriptions with InvalidArgumentError", () => {
    expect(() => defineStruct({})).toThrow(InvalidArgumentError);
    expect(() => defineStruct({ x: "float" as ElementKind })).toThrow(/field "x" has unknown kind "float"/);
    expect(() => defineStruct({ 0: "u8", x: "u8" })).toThrow(/looks like an array index/);
    expect(() => defineStruct(null as unknown as StructFields)).toThrow(InvalidArgumentError);
    expect(() => defineStruct(["u8"] as unknown as StructFields)).toThrow(InvalidArgumentError);
  });

  it("throws InvalidArgumentError for an unknown field name", () => {
    const layout = defineStruct({ x: "f32", y: "f32" });
    expect(() => offsetOf(layout, "z" as "x")).toThrow(InvalidArgumentError);
    expect(() => layout.field("toString")).toThrow(/unknown field "toString".*\n.*x, y/);
    expect(layout.has("x")).toBe(true);
    expect(layout.has("constructor")).toBe(false);
  });

  it("is frozen", () => {
    const layout = defineStruct({ x: "f32" });
    expect(Object.isFrozen(layout)).toBe(true);
    expect(Object.isFrozen(layout.fields)).toBe(true);
    expect(Object.isFrozen(layout.fields[0])).toBe(true);
  });
});
