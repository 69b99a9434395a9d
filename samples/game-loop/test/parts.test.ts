import { afterEach, describe, expect, test } from "vitest";
import fc from "fast-check";
import { performance } from "node:perf_hooks";
import { MemoryGlobals } from "@memkit/memory-globals";
import { defineStruct } from "@memkit/containers";
import { SpaceViews } from "@memkit/containers";
import { FrameList } from "../src/game/frame-list.js";
import { radixSortPairs } from "../src/game/radix-sort.js";
import { fieldWord, strideWords } from "../src/game/record-words.js";
import { CELLS, GRID_COLS, WORLD_SIZE, cellAt, cellOf, drawKey, drawMaterial } from "../src/game/config.js";
import { FrameTimes, percentile } from "../src/stats/frame-times.js";
import { GcObserver } from "../src/stats/gc-observer.js";
import { Progress } from "../src/stats/progress.js";

let memory: MemoryGlobals | undefined;
afterEach(() => {
  if (memory?.alive) memory.shutdown();
  memory = undefined;
});

function init(initialBytes = 4 << 20): { memory: MemoryGlobals; views: SpaceViews } {
  memory = MemoryGlobals.init({ initialBytes, maximumBytes: 256 << 20 });
  return { memory, views: SpaceViews.of(memory.space) };
}

describe("radixSortPairs", () => {
  test("sorts (key, value) pairs by key, stably, like a stable comparison sort; scratch memory is released", () => {
    const { memory: m, views } = init();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 300 }), fc.boolean(), (pairs, fewKeys) => {
        m.beginFrame();
        const input = fewKeys ? pairs.map(([k, v]) => [k % 7, v] as const) : pairs;
        const n = input.length;
        const keys = m.frame.allocate(Math.max(4, n * 4)) >>> 2;
        const vals = m.frame.allocate(Math.max(4, n * 4)) >>> 2;
        input.forEach(([k, v], i) => {
          views.u32[keys + i] = k;
          views.u32[vals + i] = v;
        });
        const depth = m.scratch.markDepth;
        radixSortPairs(m.scratch, views, keys << 2, vals << 2, n);
        expect(m.scratch.markDepth).toBe(depth);
        expect(m.scratch.stats().liveBytes).toBe(0);
        const expected = input.map(([k, v], i) => ({ k, v, i })).sort((a, b) => a.k - b.k || a.i - b.i);
        for (let i = 0; i < n; i++) {
          expect(views.u32[keys + i]).toBe(expected[i]!.k);
          expect(views.u32[vals + i]).toBe(expected[i]!.v >>> 0);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("FrameList", () => {
  test("grows through frame reallocation and keeps its values, also when the address space grows meanwhile", () => {
    const { memory: m, views } = init(1 << 20);
    const list = new FrameList(m.frame, views);
    m.beginFrame();
    list.begin(4);
    expect(list.capacity).toBe(16);
    const before = m.space.byteLength;
    for (let i = 0; i < 50_000; i++) {
      list.push(i * 3);
      // Other frame allocations in between force the list to move when it grows.
      if (i % 1000 === 0) m.frame.allocate(64 << 10);
    }
    expect(m.space.byteLength).toBeGreaterThan(before);
    expect(list.length).toBe(50_000);
    for (let i = 0; i < 50_000; i += 997) expect(list.get(i)).toBe(i * 3);
    list.set(5, 77);
    expect(list.get(5)).toBe(77);
    expect(views.u32.length * 4).toBe(m.space.byteLength);
  });
});

describe("record words", () => {
  test("locate f64 fields of a record in f64 words; unaligned layouts are refused", () => {
    const Body = defineStruct({ x: "f64", y: "f64", team: "u8" });
    expect(strideWords(Body, 8)).toBe(3);
    expect(fieldWord(Body, "y", 8)).toBe(1);
    expect(() => fieldWord(Body, "team", 8)).not.toThrow(); // offset 16: aligned
    const Odd = defineStruct({ a: "u8", b: "u16" });
    expect(() => strideWords(Odd, 8)).toThrow(/not a multiple of 8/);
    expect(() => fieldWord(Odd, "b", 4)).toThrow(/not 4-byte aligned/);
  });
});

describe("game rules", () => {
  test("cellAt on truncated positions is cellOf, clamped into the grid", () => {
    fc.assert(
      fc.property(fc.double({ min: -100, max: WORLD_SIZE + 100, noNaN: true }), fc.double({ min: -100, max: WORLD_SIZE + 100, noNaN: true }), (x, y) => {
        const cell = cellOf(x, y);
        expect(cell).toBe(cellAt(x | 0, y | 0));
        expect(cell).toBeGreaterThanOrEqual(0);
        expect(cell).toBeLessThan(CELLS);
        const cx = Math.min(GRID_COLS - 1, Math.max(0, Math.floor(x / 32)));
        const cy = Math.min(GRID_COLS - 1, Math.max(0, Math.floor(y / 32)));
        expect(cell).toBe(cy * GRID_COLS + cx);
      }),
    );
  });

  test("draw keys are small integers ordered by layer, then material, then depth", () => {
    const key = drawKey(3, 65_535, 0x1fff);
    expect(key).toBeLessThan(2 ** 31);
    expect(drawMaterial(key)).toBe(0x1fff);
    expect(drawKey(1, 0, 0)).toBeGreaterThan(drawKey(0, 0xffff, 0x1fff));
    expect(drawKey(1, 0, 17)).toBeGreaterThan(drawKey(1, 0xffff, 16));
    expect(drawKey(1, 100, 16)).toBeGreaterThan(drawKey(1, 99, 16));
    expect(drawKey(2, -40, 5)).toBe(drawKey(2, 0, 5));
    expect(drawKey(2, 1e6, 5)).toBe(drawKey(2, 0xffff, 5));
  });
});

describe("stats", () => {
  test("percentile is nearest-rank; FrameTimes summarises what it recorded", () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([5], 99)).toBe(5);
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    const times = new FrameTimes(4);
    for (const ms of [4, 1, 3, 2, 100]) times.record(ms); // the fifth is past the capacity
    expect(times.summary()).toEqual({ frames: 4, totalMs: 10, meanMs: 2.5, p50Ms: 2, p99Ms: 4, maxMs: 4, framesPerSecond: 400 });
  });

  test("GcObserver counts the collections that started inside a window", async () => {
    using observer = new GcObserver();
    const start = performance.now();
    let keep: number[][] = [];
    for (let i = 0; i < 400_000; i++) {
      keep.push([i, i + 1, i + 2, i + 3]);
      if (keep.length > 100) keep = [];
    }
    const end = performance.now();
    await observer.flush();
    const inside = observer.between(start, end);
    expect(inside.count).toBeGreaterThan(0);
    expect(inside.minor + inside.major + inside.other).toBe(inside.count);
    expect(observer.between(end + 60_000, end + 120_000).count).toBe(0);
  });

  test("Progress: a rewritten line on a terminal (throttled), four lines elsewhere", () => {
    let tty = "";
    const onTty = new Progress({ write: (t) => void (tty += t), isTTY: true }, "memkit", 100, 0);
    for (let f = 1; f <= 100; f++) onTty.tick(f, f); // 1 ms per frame: the 200 ms throttle keeps it quiet until the end
    onTty.done();
    expect(tty).toBe("\r  memkit: frame 100/100 (100%), 1,000 frames/s\x1b[K\r\x1b[K");
    let plain = "";
    const onPipe = new Progress({ write: (t) => void (plain += t), isTTY: false }, "baseline", 10, 0);
    for (let f = 1; f <= 10; f++) onPipe.tick(f, f * 2);
    onPipe.done();
    expect(plain.split("\n").filter(Boolean)).toEqual([
      "  baseline: frame 3/10 (30%), 500 frames/s",
      "  baseline: frame 5/10 (50%), 500 frames/s",
      "  baseline: frame 8/10 (80%), 500 frames/s",
      "  baseline: frame 10/10 (100%), 500 frames/s",
    ]);
  });
});
