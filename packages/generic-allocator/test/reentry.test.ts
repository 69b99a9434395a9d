import { describe, expect, it } from "vitest";
import { SeededRandom } from "@memkit/core";
import { fillPattern, findPatternMismatch } from "@memkit/core/testing";
import { makeGeneric } from "./support.js";

// A grow listener is user code that runs in the middle of an allocation that
// grew the memory. Whatever it allocates or frees there, no block may be
// handed out twice and every structure must stay whole.

describe("re-entry from an onGrow listener", () => {
  it.each([1, 2, 3, 4, 5, 6])("allocating and freeing inside the listener never hands a block out twice (pages, heap, slots, large spans), seed %i", (seed) => {
    const { space, pages, generic } = makeGeneric({}, 1 << 16, 256 << 20);
    const rng = new SeededRandom(seed);
    const live = new Map<number, { size: number; id: number }>();
    let nextId = 1;
    let liveBytes = 0;
    const take = (size: number): void => {
      const p = generic.allocate(size);
      expect(live.has(p)).toBe(false);
      fillPattern(generic, p, size, nextId);
      live.set(p, { size, id: nextId++ });
      liveBytes += size;
    };
    const free = (p: number): void => {
      generic.deallocate(p);
      liveBytes -= live.get(p)!.size;
      live.delete(p);
    };
    let inListener = 0;
    const sizes = [16, 48, 256, 1024, 3000, 40_000, 300_000, 2 << 20];
    space.onGrow(() => {
      inListener++;
      // Allocate from every tier and free one block, from inside the growth.
      if (liveBytes < 32 << 20) for (const size of [24, 700, 20_000, 600_000, sizes[rng.int(0, sizes.length - 1)]!]) take(size);
      const [first] = live.keys();
      if (first !== undefined) free(first);
      inListener--;
    });
    for (let i = 0; i < 400; i++) {
      take(sizes[rng.int(0, sizes.length - 1)]!);
      while (live.size > 0 && (rng.int(0, 1) === 0 || liveBytes > 48 << 20)) {
        const keys = [...live.keys()];
        free(keys[rng.int(0, keys.length - 1)]!);
      }
    }
    expect(inListener).toBe(0);
    expect(space.generation).toBeGreaterThan(3);
    generic.check();
    pages.check();
    // Every block still holds its own bytes: no two blocks overlap.
    for (const [p, { size, id }] of live) expect(findPatternMismatch(generic, p, size, id)).toBe(-1);
    for (const p of [...live.keys()]) free(p);
    generic.check();
    pages.check();
  });
});
