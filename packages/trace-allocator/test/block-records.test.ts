import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SeededRandom } from "@memkit/core";
import { BlockRecords, HEADER_BYTES, RETAINED, R_PTR, R_SIZE, headerCode, headerFor, headerOf } from "../src/block-records.js";

const sizeOf = (r: BlockRecords, i: number): number => r.data[(i << 2) + R_SIZE]!;

/** A fake address space: an Int32Array over 64 KiB. */
function memory(): Int32Array {
  return new Int32Array(16384);
}

describe("BlockRecords", () => {
  it("finds a block through the index in its header, exactly", () => {
    const i32 = memory();
    const r = new BlockRecords(4);
    r.reserve();
    r.add(4096, 100, 3, 7, 12, i32);
    expect(i32[(4096 - HEADER_BYTES) >> 2]).toBe(0);
    expect(r.find(4096, i32)).toBe(0);
    expect([...r.data.subarray(0, 4)]).toEqual([4096, 100, 3, 7]);
    expect(r.frameOf(4096, i32)).toBe(12);
    // Interior, neighbouring, odd, negative, past-the-end and non-numbers all miss.
    for (const miss of [0, 8, 4104, 4097, 4088, -4096, 4096.5, Number.NaN, Infinity, 1 << 20, 2 ** 32 + 4096]) expect(r.find(miss, i32)).toBe(-1);
  });

  it("a header that points at another record does not make a pointer live", () => {
    const i32 = memory();
    const r = new BlockRecords(4);
    r.add(1024, 8, 0, 0, 0, i32);
    // A forged header in front of 2048 naming record 0: ptrs[0] is 1024, so 2048 is still not live.
    i32[(2048 - HEADER_BYTES) >> 2] = 0;
    expect(r.find(2048, i32)).toBe(-1);
    i32[(2048 - HEADER_BYTES) >> 2] = 5;
    expect(r.find(2048, i32)).toBe(-1);
  });

  it("removal moves the last record into the hole and rewrites that block's header", () => {
    const i32 = memory();
    const r = new BlockRecords(2);
    for (const p of [256, 512, 768]) {
      r.reserve();
      r.add(p, p / 2, 0, 0, 0, i32);
    }
    expect(r.capacity).toBe(4);
    r.removeAt(0, i32);
    expect(r.count).toBe(2);
    expect(r.find(256, i32)).toBe(-1);
    expect(r.find(768, i32)).toBe(0);
    expect(sizeOf(r, 0)).toBe(384);
    expect(r.find(512, i32)).toBe(1);
    r.check("test", i32);
  });

  it("matches a Map under random add/remove churn", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const rng = new SeededRandom(seed);
        const i32 = memory();
        const r = new BlockRecords(1);
        const model = new Map<number, number>();
        for (let op = 0; op < 2000; op++) {
          const ptr = 16 * rng.int(1, 400);
          const i = r.find(ptr, i32);
          if (i >= 0 !== model.has(ptr)) throw new Error(`op ${op}: find(${ptr}) = ${i}, the model ${model.has(ptr) ? "has" : "lacks"} it`);
          if (i >= 0) {
            if (sizeOf(r, i) !== model.get(ptr)) throw new Error(`op ${op}: size of ${ptr} differs`);
            r.removeAt(i, i32);
            model.delete(ptr);
          } else {
            r.reserve();
            r.add(ptr, op, 0, 0, 0, i32);
            model.set(ptr, op);
          }
        }
        r.check("test", i32);
        expect(r.count).toBe(model.size);
      }),
      { numRuns: 30 },
    );
  });

  it("check() reports an overwritten header and a pointer recorded twice", () => {
    const i32 = memory();
    const r = new BlockRecords(4);
    r.add(64, 1, 0, 0, 0, i32);
    r.add(128, 1, 0, 0, 0, i32);
    i32[(128 - HEADER_BYTES) >> 2] = 0;
    expect(() => r.check("test", i32)).toThrow(/header in front of block 0x00000080 holds 0, its record is 1/);
    i32[(128 - HEADER_BYTES) >> 2] = 1;
    r.check("test", i32);
    r.data[(1 << 2) + R_PTR] = 64;
    expect(() => r.check("test", i32)).toThrow(/recorded twice/);
  });

  it("header sizes keep the caller's alignment and round-trip through the record word", () => {
    for (let align = 1; align <= 65536; align *= 2) {
      const h = headerFor(align);
      expect(h).toBe(Math.max(8, align));
      expect(h % align).toBe(0);
      expect(headerOf(7 | RETAINED | headerCode(h))).toBe(h);
    }
    expect(headerCode(8)).toBe(0);
  });
});
