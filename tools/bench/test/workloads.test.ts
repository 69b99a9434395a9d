import { describe, expect, it } from "vitest";
import { FULL_PARAMS, QUICK_PARAMS, WORKLOAD_IDS, generateWorkload, liveProfile, liveSlotsAfter } from "../src/workloads.js";
import type { OpSequence, SyntheticId } from "../src/workloads.js";

/** Replays a sequence's slot states and throws at the first op that is impossible (alloc into a live slot, free of an empty one). */
function checkWellFormed(ops: OpSequence): { sizes: number[]; maxLive: number } {
  const live = new Int32Array(ops.slotCount);
  const sizes: number[] = [];
  let liveCount = 0;
  let maxLive = 0;
  for (let i = 0; i < ops.count; i++) {
    const s = ops.slots[i]!;
    const n = ops.sizes[i]!;
    expect(s >= 0 && s < ops.slotCount, `op ${i}: slot ${s} out of range`).toBe(true);
    if (n > 0) {
      expect(live[s], `op ${i}: alloc into live slot ${s}`).toBe(0);
      live[s] = n;
      liveCount++;
      sizes.push(n);
    } else if (n === 0) {
      expect(live[s], `op ${i}: free of empty slot ${s}`).not.toBe(0);
      live[s] = 0;
      liveCount--;
    } else {
      expect(live[s], `op ${i}: realloc of empty slot ${s}`).not.toBe(0);
      live[s] = -n;
      sizes.push(-n);
    }
    maxLive = Math.max(maxLive, liveCount);
  }
  expect(liveCount, "every block is freed at the end").toBe(0);
  return { sizes, maxLive };
}

describe("workloads", () => {
  it.each(WORKLOAD_IDS)("%s is deterministic for a seed and differs between seeds", (id: SyntheticId) => {
    const a = generateWorkload(id, 1234, QUICK_PARAMS);
    const b = generateWorkload(id, 1234, QUICK_PARAMS);
    const c = generateWorkload(id, 4321, QUICK_PARAMS);
    expect(b.ops.count).toBe(a.ops.count);
    expect(Buffer.from(b.ops.slots.buffer).equals(Buffer.from(a.ops.slots.buffer))).toBe(true);
    expect(Buffer.from(b.ops.sizes.buffer).equals(Buffer.from(a.ops.sizes.buffer))).toBe(true);
    const differs =
      !Buffer.from(c.ops.slots.buffer).equals(Buffer.from(a.ops.slots.buffer)) || !Buffer.from(c.ops.sizes.buffer).equals(Buffer.from(a.ops.sizes.buffer));
    // A's sizes are all 32 and D's slots are fixed, but every workload draws slots or sizes from the seed.
    expect(differs).toBe(true);
  });

  it("gives each workload its own stream, so --only does not change the ops", () => {
    const a = generateWorkload("B", 99, QUICK_PARAMS);
    generateWorkload("A", 99, QUICK_PARAMS);
    const again = generateWorkload("B", 99, QUICK_PARAMS);
    expect(Array.from(again.ops.sizes)).toEqual(Array.from(a.ops.sizes));
  });

  it("A: only 32-byte blocks, live count held at its target", () => {
    const w = generateWorkload("A", 7, QUICK_PARAMS);
    const { sizes, maxLive } = checkWellFormed(w.ops);
    expect(w.ops.count).toBe(QUICK_PARAMS.A.ops);
    expect(new Set(sizes)).toEqual(new Set([32]));
    expect(maxLive).toBe(QUICK_PARAMS.A.live);
  });

  it("B: uniform sizes in 8..256 that cover the range", () => {
    const w = generateWorkload("B", 7, QUICK_PARAMS);
    const { sizes } = checkWellFormed(w.ops);
    expect(Math.min(...sizes)).toBe(8);
    expect(Math.max(...sizes)).toBe(256);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(mean).toBeGreaterThan(120);
    expect(mean).toBeLessThan(144);
  });

  it("C: log-uniform sizes in 16..64 KiB (median near the geometric mean)", () => {
    const w = generateWorkload("C", 7, QUICK_PARAMS);
    const { sizes, maxLive } = checkWellFormed(w.ops);
    expect(maxLive).toBe(QUICK_PARAMS.C.live);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(16);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(65536);
    const sorted = [...sizes].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1]!;
    expect(median).toBeGreaterThan(512);
    expect(median).toBeLessThan(2048);
  });

  it("D: each frame allocates its blocks then frees them in allocation order", () => {
    const { blocks, frames } = QUICK_PARAMS.D;
    const w = generateWorkload("D", 7, QUICK_PARAMS);
    const { sizes } = checkWellFormed(w.ops);
    expect(w.ops.count).toBe(2 * blocks * frames);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(16);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(512);
    for (let f = 0; f < frames; f++) {
      const base = f * 2 * blocks;
      for (let k = 0; k < blocks; k++) {
        expect(w.ops.sizes[base + k]!).toBeGreaterThan(0);
        expect(w.ops.sizes[base + blocks + k]).toBe(0);
        expect(w.ops.slots[base + blocks + k]).toBe(k);
      }
    }
  });

  it("E: every array doubles from 16 B to 64 KiB one step at a time", () => {
    const { arrays } = QUICK_PARAMS.E;
    const w = generateWorkload("E", 7, QUICK_PARAMS);
    checkWellFormed(w.ops);
    const size = new Int32Array(arrays);
    let reallocs = 0;
    for (let i = 0; i < w.ops.count; i++) {
      const s = w.ops.slots[i]!;
      const n = w.ops.sizes[i]!;
      if (n > 0) {
        expect(n).toBe(16);
        size[s] = n;
      } else if (n < 0) {
        expect(-n).toBe(size[s]! * 2);
        size[s] = -n;
        reallocs++;
      } else {
        expect(size[s]).toBe(65536);
      }
    }
    expect(reallocs).toBe(arrays * 12);
  });

  it("the full definitions match the issue", () => {
    expect(FULL_PARAMS).toEqual({
      A: { live: 10_000, ops: 1_000_000 },
      B: { live: 10_000, ops: 1_000_000 },
      C: { live: 2_000, ops: 200_000 },
      D: { blocks: 1_000, frames: 1_000 },
      E: { arrays: 1_000 },
    });
    expect(generateWorkload("A").ops.count).toBe(1_000_000);
    expect(generateWorkload("E").ops.count).toBe(14_000);
  });

  it("liveProfile finds the live peak of a prefix", () => {
    const ops: OpSequence = {
      slots: Int32Array.from([0, 1, 0, 2, 1, 2]),
      sizes: Int32Array.from([100, 50, -300, 10, 0, 0]),
      count: 6,
      slotCount: 3,
    };
    expect(liveProfile(ops)).toEqual({ peakLiveBytes: 360, peakOp: 3, maxLive: 3, maxSize: 300, allocs: 3, frees: 2, reallocs: 1 });
    expect(liveProfile(ops, 2)).toMatchObject({ peakLiveBytes: 150, peakOp: 1, maxLive: 2, maxSize: 100 });
  });

  it("liveSlotsAfter lists what a prefix leaves live, and nothing after a whole sequence", () => {
    const ops: OpSequence = {
      slots: Int32Array.from([0, 1, 0, 2, 1, 2]),
      sizes: Int32Array.from([100, 50, -300, 10, 0, 0]),
      count: 6,
      slotCount: 3,
    };
    expect(Array.from(liveSlotsAfter(ops, 3))).toEqual([0, 1]);
    expect(Array.from(liveSlotsAfter(ops, 5))).toEqual([0, 2]);
    expect(Array.from(liveSlotsAfter(ops))).toEqual([0]);
    for (const id of WORKLOAD_IDS) expect(liveSlotsAfter(generateWorkload(id, 3, QUICK_PARAMS).ops)).toHaveLength(0);
  });

  it("rejects nonsense parameters", () => {
    expect(() => generateWorkload("A", 1, { ...QUICK_PARAMS, A: { live: 0, ops: 10 } })).toThrow(/live must be a positive integer/);
  });
});
