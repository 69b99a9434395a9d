import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DynamicArray } from "../src/index.js";
import { createRangeSorter } from "../src/sort.js";
import { expectSameSequence } from "./support/allocators.js";
import { movingAllocator } from "./support/moving-allocator.js";

const sortRange = createRangeSorter();

/** Sorts `values` inside a larger Float64Array (guards on both sides must stay untouched). */
function sortWith(values: number[], depth?: number): number[] {
  const buf = new Float64Array(values.length + 6).fill(-777);
  buf.set(values, 3);
  sortRange(buf, 3, 3 + values.length, true, depth);
  expect([buf[0], buf[1], buf[2], buf[buf.length - 3], buf[buf.length - 2], buf[buf.length - 1]]).toEqual([-777, -777, -777, -777, -777, -777]);
  return Array.from(buf.subarray(3, 3 + values.length));
}

const expected = (values: number[]): number[] => Array.from(Float64Array.from(values).sort());

const patterns: Record<string, (n: number) => number[]> = {
  ascending: (n) => Array.from({ length: n }, (_, i) => i),
  descending: (n) => Array.from({ length: n }, (_, i) => n - i),
  equal: (n) => Array.from({ length: n }, () => 5),
  organPipe: (n) => Array.from({ length: n }, (_, i) => Math.min(i, n - i)),
  sawtooth: (n) => Array.from({ length: n }, (_, i) => i % 17),
  twoValues: (n) => Array.from({ length: n }, (_, i) => (i * 7919) % 2),
};

describe("introsort over a typed view", () => {
  it("matches TypedArray.prototype.sort on random doubles (NaN last, ±0 equal)", () => {
    const values = fc.array(fc.oneof(fc.double(), fc.integer({ min: -20, max: 20 }), fc.constantFrom(NaN, -0, 0)), { maxLength: 400 });
    fc.assert(
      fc.property(values, (v) => expectSameSequence(sortWith(v), expected(v), "sorted")),
      { numRuns: 300 },
    );
  });

  it("falls back to heapsort when quicksort recursion runs out (forced with depth 0 and 1)", () => {
    const values = fc.array(fc.oneof(fc.double(), fc.integer({ min: -5, max: 5 })), { minLength: 17, maxLength: 300 });
    fc.assert(
      fc.property(values, fc.constantFrom(0, 1), (v, depth) => expectSameSequence(sortWith(v, depth), expected(v), "heapsorted")),
      { numRuns: 200 },
    );
  });

  it.each(Object.keys(patterns))("sorts the %s pattern (sizes around the insertion-sort cutoff and large)", (name) => {
    for (const n of [0, 1, 2, 15, 16, 17, 33, 1000, 20_000]) {
      const v = patterns[name]!(n);
      expectSameSequence(sortWith(v), expected(v), `${name} ${n}`);
    }
  });

  it("sorts every element kind of DynamicArray in place", () => {
    const a = movingAllocator();
    const signed = new DynamicArray(a, "i16");
    const unsigned = new DynamicArray(a, "u32");
    const big = new DynamicArray(a, "i64");
    const raw = [5, -3, 40000, 0, -1, 7, 2 ** 31, 12, -32768, 99, 3, 3, 1, 0, -7, 8, 8, 100];
    for (const v of raw) {
      signed.push(v);
      unsigned.push(v);
      big.push(BigInt(v));
    }
    signed.sort();
    unsigned.sort();
    big.sort();
    expect(signed.toArray()).toEqual(Array.from(Int16Array.from(raw).sort()));
    expect(unsigned.toArray()).toEqual(Array.from(Uint32Array.from(raw).sort()));
    expect(big.toArray()).toEqual(Array.from(BigInt64Array.from(raw.map((v) => BigInt(v))).sort()));
    for (const arr of [signed, unsigned, big]) arr.dispose();
  });
});
