import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";

// onGrow listeners are user code that runs inside whichever allocation grew
// the memory. Allocating from memkit there must leave every allocator whole.

afterEach(() => MemoryGlobals.current?.shutdown());

describe("re-entry from an onGrow listener through MemoryGlobals", () => {
  it.each([1, 2, 3])("default, a scope, frame and scratch allocations inside growth keep every block's bytes (seed %i)", (seed) => {
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 256 << 20 });
    const physics = memory.scope("physics");
    const rng = new SeededRandom(seed);
    const u8 = (): Uint8Array => memory.space.u8;
    const live = new Map<number, { size: number; byte: number; scope: typeof physics }>();
    let liveBytes = 0;
    const take = (scope: typeof physics, size: number): void => {
      const p = scope.allocate(size);
      expect(live.has(p)).toBe(false);
      const byte = rng.int(1, 255);
      u8().fill(byte, p, p + size);
      live.set(p, { size, byte, scope });
      liveBytes += size;
    };
    const free = (p: number): void => {
      const b = live.get(p)!;
      b.scope.deallocate(p);
      liveBytes -= b.size;
      live.delete(p);
    };
    const frameBlocks: [number, number, number][] = [];
    memory.space.onGrow(() => {
      if (liveBytes > 24 << 20) return;
      take(memory.default, rng.int(1, 5000));
      take(physics, rng.int(1, 300_000));
      const f = memory.frame.allocate(rng.int(1, 40_000));
      u8().fill(0xf0, f, f + 8);
      frameBlocks.push([f, 8, 0xf0]);
      const mark = memory.scratch.mark();
      memory.scratch.allocate(rng.int(1, 100_000));
      memory.scratch.release(mark);
    });
    for (let frame = 0; frame < 60; frame++) {
      memory.beginFrame();
      frameBlocks.length = 0;
      for (let i = 0; i < 10; i++) {
        take(rng.int(0, 1) === 0 ? memory.default : physics, [16, 700, 30_000, 900_000][rng.int(0, 3)]!);
        const f = memory.frame.allocate(rng.int(1, 200_000));
        u8().fill(0xf1, f, f + 8);
        frameBlocks.push([f, 8, 0xf1]);
        const mark = memory.scratch.mark();
        memory.scratch.allocate(rng.int(1, 500_000));
        memory.scratch.release(mark);
      }
      while (live.size > 0 && (rng.int(0, 2) === 0 || liveBytes > 40 << 20)) free([...live.keys()][rng.int(0, live.size - 1)]!);
      for (const [p, size, byte] of frameBlocks) expect(u8().subarray(p, p + size).every((b) => b === byte)).toBe(true);
      memory.check();
    }
    expect(memory.space.generation).toBeGreaterThan(5);
    for (const [p, { size, byte }] of live) expect(u8().subarray(p, p + size).every((b) => b === byte)).toBe(true);
    for (const p of [...live.keys()]) free(p);
    physics.dispose();
    memory.check();
    memory.shutdown();
  });
});
