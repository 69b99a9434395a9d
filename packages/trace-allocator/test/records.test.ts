import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, SeededRandom, SpaceViews } from "@memkit/core";
import { HEADER_BYTES, RETAINED, R_PTR, R_SIZE, W_REC_CAP, W_REC_COUNT, W_REC_PTR } from "../src/layout.js";
import { addRecord, checkRecords, findRecord, frameOf, headerCode, headerFor, headerOf, recordAt, recordCount, removeRecord } from "../src/records.js";
import type { TreeView } from "../src/tree-view.js";

/** Records at 32 KiB of a 1 MiB space, their control words at 64 KiB; blocks live in 64..32K. */
function records(capacity: number): TreeView {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
  const views = SpaceViews.of(space);
  const view: TreeView = {
    get u8() {
      return views.u8;
    },
    get u16() {
      return views.u16;
    },
    get i32() {
      return views.i32;
    },
    get u32() {
      return views.u32;
    },
    get f64() {
      return views.f64;
    },
    cw: (64 << 10) >>> 2,
    stackText: () => undefined,
    backingOf: () => {
      throw new Error("no backing");
    },
  };
  view.u32[view.cw + W_REC_PTR] = 32 << 10;
  view.u32[view.cw + W_REC_CAP] = capacity;
  return view;
}

const sizeOf = (v: TreeView, i: number): number => v.i32[recordAt(v, i) + R_SIZE]!;

describe("records", () => {
  it("finds a block through the index in its header, exactly", () => {
    const v = records(4);
    addRecord(v, 4096, 100, 3, 7, 12);
    expect(v.i32[(4096 - HEADER_BYTES) >> 2]).toBe(0);
    expect(findRecord(v, 4096)).toBe(0);
    expect([...v.i32.subarray(recordAt(v, 0), recordAt(v, 0) + 4)]).toEqual([4096, 100, 3, 7]);
    expect(frameOf(v, 4096)).toBe(12);
    // Interior, neighbouring, odd, negative, past-the-end and non-numbers all miss.
    for (const miss of [0, 8, 4104, 4097, 4088, -4096, 4096.5, Number.NaN, Infinity, 1 << 20, 2 ** 32 + 4096]) expect(findRecord(v, miss)).toBe(-1);
    expect(findRecord(v, 4096n as unknown as number)).toBe(-1);
  });

  it("a header that points at another record does not make a pointer live", () => {
    const v = records(4);
    addRecord(v, 1024 * 3, 8, 0, 0, 0);
    // A forged header in front of 8192 naming record 0: record 0 is 3072, so 8192 is still not live.
    v.i32[(8192 - HEADER_BYTES) >> 2] = 0;
    expect(findRecord(v, 8192)).toBe(-1);
    v.i32[(8192 - HEADER_BYTES) >> 2] = 5;
    expect(findRecord(v, 8192)).toBe(-1);
  });

  it("removal moves the last record into the hole and rewrites that block's header", () => {
    const v = records(4);
    for (const p of [2048, 4096, 6144]) addRecord(v, p, p / 2, 0, 0, 0);
    removeRecord(v, 0);
    expect(recordCount(v)).toBe(2);
    expect(findRecord(v, 2048)).toBe(-1);
    expect(findRecord(v, 6144)).toBe(0);
    expect(sizeOf(v, 0)).toBe(3072);
    expect(findRecord(v, 4096)).toBe(1);
    checkRecords(v, "test");
  });

  it("matches a Map under random add/remove churn", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const rng = new SeededRandom(seed);
        const v = records(400);
        const model = new Map<number, number>();
        for (let op = 0; op < 2000; op++) {
          const ptr = 64 * rng.int(1, 400);
          const i = findRecord(v, ptr);
          if (i >= 0 !== model.has(ptr)) throw new Error(`op ${op}: find(${ptr}) = ${i}, the model ${model.has(ptr) ? "has" : "lacks"} it`);
          if (i >= 0) {
            if (sizeOf(v, i) !== model.get(ptr)) throw new Error(`op ${op}: size of ${ptr} differs`);
            removeRecord(v, i);
            model.delete(ptr);
          } else {
            addRecord(v, ptr, op % 50, 0, 0, 0);
            model.set(ptr, op % 50);
          }
        }
        checkRecords(v, "test");
        expect(recordCount(v)).toBe(model.size);
        expect(v.u32[v.cw + W_REC_COUNT]).toBe(model.size);
      }),
      { numRuns: 30 },
    );
  });

  it("checkRecords reports an overwritten header, a pointer recorded twice and a size past the space", () => {
    const v = records(4);
    addRecord(v, 64, 1, 0, 0, 0);
    addRecord(v, 128, 1, 0, 0, 0);
    v.i32[(128 - HEADER_BYTES) >> 2] = 0;
    expect(() => checkRecords(v, "test")).toThrow(/header in front of block 0x00000080 holds 0, its record is 1/);
    v.i32[(128 - HEADER_BYTES) >> 2] = 1;
    checkRecords(v, "test");
    v.i32[recordAt(v, 1) + R_SIZE] = 1 << 30;
    expect(() => checkRecords(v, "test")).toThrow(/does not fit the space/);
    v.i32[recordAt(v, 1) + R_SIZE] = 1;
    v.i32[recordAt(v, 1) + R_PTR] = 64;
    expect(() => checkRecords(v, "test")).toThrow(/recorded twice/);
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
