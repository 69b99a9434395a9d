import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, OutOfMemoryError, SeededRandom } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";

const MiB = 1 << 20;

function make(bytes: number): { space: AddressSpace; pages: PageAllocator; generic: GenericAllocator } {
  const space = AddressSpace.create({ initialBytes: bytes, maximumBytes: bytes });
  const pages = new PageAllocator(space, { pageSize: 16384 });
  return { space, pages, generic: new GenericAllocator(pages) };
}

/** The largest block `generic.allocate` hands out now (binary search; every probe is freed again). */
function largestBlock(generic: GenericAllocator, limit: number): number {
  let lo = 0;
  let hi = limit;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    let p = 0;
    try {
      p = generic.allocate(mid);
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
    }
    if (p !== 0) {
      generic.deallocate(p);
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

/** Allocates mixed sizes (every tier) in random order until the memory is full; returns the blocks with a byte pattern written. */
function fill(space: AddressSpace, generic: GenericAllocator, rnd: SeededRandom): Map<number, number> {
  const blocks = new Map<number, number>();
  let failures = 0;
  while (failures < 40) {
    const size = rnd.chance(0.1) ? rnd.int(100_000, 1_500_000) : rnd.logUniform(1, 60_000);
    try {
      const p = generic.allocate(size);
      space.u8.fill(p % 251, p, p + Math.min(size, 64));
      blocks.set(p, size);
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
      failures++;
    }
  }
  return blocks;
}

function shuffled<T>(items: T[], rnd: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe("GenericAllocator gives freed memory back", () => {
  it("after filling an 8 MiB memory with mixed blocks and freeing them all, the largest block is within 10% of a fresh memory's", () => {
    const fresh = make(8 * MiB);
    const freshLargest = largestBlock(fresh.generic, 8 * MiB);
    expect(freshLargest).toBeGreaterThan(6 * MiB);

    const { space, pages, generic } = make(8 * MiB);
    const rnd = new SeededRandom(2024);
    for (let round = 0; round < 3; round++) {
      const blocks = fill(space, generic, rnd);
      expect(blocks.size).toBeGreaterThan(50);
      for (const p of shuffled([...blocks.keys()], rnd)) {
        expect(space.u8[p]).toBe(p % 251);
        generic.deallocate(p);
      }
      generic.check();
      pages.check();
      expect(generic.stats().liveCount).toBe(0);
      const after = largestBlock(generic, 8 * MiB);
      expect(after, `round ${round}: ${after} B after, ${freshLargest} B fresh`).toBeGreaterThanOrEqual(0.9 * freshLargest);
      generic.check();
      pages.check();
    }
  });

  it("keeps every tier whole and every live block's bytes through random fills, frees and reclaims (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(9), fc.integer({ min: 0, max: 700_000 }), fc.nat(10_000)), { minLength: 20, maxLength: 250 }),
        (ops) => {
          const { space, pages, generic } = make(4 * MiB);
          const live = new Map<number, number>();
          for (const [kind, rawSize, pick] of ops) {
            const size = kind < 6 ? rawSize % 2000 : rawSize;
            if (kind < 7 || live.size === 0) {
              try {
                const p = generic.allocate(size);
                space.u8.fill(p % 241, p, p + Math.min(size, 32));
                live.set(p, size);
              } catch (err) {
                if (!(err instanceof OutOfMemoryError)) throw err;
              }
            } else if (kind < 9) {
              const p = [...live.keys()][pick % live.size]!;
              generic.deallocate(p);
              live.delete(p);
            } else {
              generic.reclaim();
            }
          }
          generic.check();
          pages.check();
          for (const [p, size] of live) {
            for (let i = 0; i < Math.min(size, 32); i++) if (space.u8[p + i] !== p % 241) return false;
            generic.deallocate(p);
          }
          generic.check();
          pages.check();
          return true;
        },
      ),
      { numRuns: 40 },
    );
  });
});
