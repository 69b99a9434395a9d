import { describe, expect, it } from "vitest";
import { SeededRandom } from "@memkit/core";
import { LiveBlocks } from "@memkit/core/testing";
import { makeRig } from "./helpers.js";

describe("long seeded runs", () => {
  it("1M mixed operations keep every block's bytes, with check() every 10k ops", () => {
    const rig = makeRig({ initialBytes: 16 << 20, maximumBytes: 256 << 20 });
    const { slots } = rig;
    try {
      const rng = new SeededRandom(0x5107_a110);
      const live = new LiveBlocks(slots); // fills every block with its own pattern; verifies it on free and realloc
      const size = (): number => (rng.chance(0.8) ? rng.logUniform(1, 256) : rng.int(0, 1024));
      let target = 4000;
      for (let op = 1; op <= 1_000_000; op++) {
        // The live count drifts between ~1k and ~8k, so slabs fill, empty, rejoin lists and go back.
        if (op % 50_000 === 0) target = rng.int(1000, 8000);
        const r = rng.next();
        if (live.length === 0 || (live.length < target ? r < 0.6 : r < 0.4)) {
          live.allocate(size(), rng.chance(0.05) ? 2 ** rng.int(0, 10) : undefined);
        } else if (r < 0.95) {
          live.free(rng.int(0, live.length - 1));
        } else {
          live.reallocate(rng.int(0, live.length - 1), size());
        }
        if (op % 10_000 === 0) {
          slots.check();
          live.verifyAll();
          expect(slots.stats().liveCount).toBe(live.length);
        }
      }
      live.verifyDisjoint();
      live.freeAll();
      slots.check();
      const s = slots.stats();
      expect([s.liveCount, s.liveBytes]).toEqual([0, 0]);
      expect(s.allocCount).toBe(s.freeCount);
      expect(s.allocCount).toBeGreaterThan(500_000);
      // Empty: only the current slabs (one per class used) and the spares stay.
      expect(slots.slabStats().slabs).toBeLessThanOrEqual(slots.classSizes.length + 4);
    } finally {
      rig.dispose();
    }
  });

  it("keeps working across address-space grows (views refreshed in onGrow)", () => {
    const rig = makeRig({ initialBytes: 1 << 20, maximumBytes: 64 << 20, pageSize: 4096 });
    const { slots, space } = rig;
    try {
      const rng = new SeededRandom(0x9e0);
      const live = new LiveBlocks(slots);
      const generation = space.generation;
      const startBytes = space.byteLength;
      // Grow to ~24 MiB of live slots: the space has to grow many times under the allocator.
      for (let n = 1; space.byteLength < startBytes * 16; n++) {
        live.allocate(rng.int(1, 1024));
        if (n % 10 === 0) live.free(rng.int(0, live.length - 1));
      }
      expect(space.generation - generation).toBeGreaterThan(3);
      live.verifyAll();
      live.verifyDisjoint();
      slots.check();
      expect(slots.stats().liveCount).toBe(live.length);
      // Free half, then allocate again: reused slots and fresh slabs after the grows.
      for (let i = 0; i < live.length / 2; i++) live.free(rng.int(0, live.length - 1));
      for (let i = 0; i < 20_000; i++) live.allocate(rng.int(1, 1024));
      live.verifyAll();
      slots.check();
      live.freeAll();
      slots.check();
    } finally {
      rig.dispose();
    }
  });
});
