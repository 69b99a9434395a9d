import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, DoubleFreeError, InvalidArgumentError, InvalidPointerError, SeededRandom } from "@memkit/core";
import { LiveBlocks } from "@memkit/core/testing";
import { HeapAllocator } from "@memkit/heap-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { makeGeneric } from "./support.js";

describe("GenericAllocator routing", () => {
  it("sends small sizes to slots, medium to the heap, large to page spans", () => {
    const { generic, pages } = makeGeneric();
    const small = generic.allocate(24);
    const smallAligned = generic.allocate(24, 64);
    const overAligned = generic.allocate(24, 4096);
    const medium = generic.allocate(5000);
    const large = generic.allocate(600 * 1024);
    expect(generic.tierOf(small)).toBe("slots");
    expect(generic.tierOf(smallAligned)).toBe("slots");
    expect(smallAligned % 64).toBe(0);
    expect(generic.tierOf(overAligned)).toBe("heap");
    expect(overAligned % 4096).toBe(0);
    expect(generic.tierOf(medium)).toBe("heap");
    expect(generic.tierOf(large)).toBe("large");
    expect(pages.tagOf(large + 300_000) >>> 24).toBe(generic.largeOwnerId);
    expect(pages.ownerName(generic.largeOwnerId)).toBe("generic.large");
    const t = generic.tierStats();
    expect([t.slots.liveCount, t.heap.liveCount, t.large.liveCount]).toEqual([2, 2, 1]);
    for (const p of [small, smallAligned, overAligned, medium, large]) generic.deallocate(p);
    expect(generic.stats().liveCount).toBe(0);
    generic.check();
    pages.check();
  });

  it("routes by page tags whose owner id is 128 or more (negative as int32)", () => {
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 512 << 20 });
    const pages = new PageAllocator(space);
    for (let i = 0; i < 130; i++) pages.registerOwner(`filler-${i}`);
    const generic = new GenericAllocator(pages, {});
    expect(Math.min(generic.slots.ownerId, generic.heap.ownerId, generic.largeOwnerId)).toBeGreaterThanOrEqual(128);
    const rng = new SeededRandom(0x128);
    const live = new LiveBlocks(generic);
    const size = (): number => [rng.int(1, 64), rng.int(65, 6000), rng.int(500_000, 700_000)][rng.int(0, 2)]!;
    for (let step = 0; step < 2000; step++) {
      const roll = rng.int(0, 9);
      if (roll < 5 || live.blocks.length === 0) live.allocate(size());
      else if (roll < 8) live.free(rng.int(0, live.blocks.length - 1));
      else live.reallocate(rng.int(0, live.blocks.length - 1), size());
    }
    const tiers = new Set(live.blocks.map((b) => generic.tierOf(b.ptr)));
    expect(tiers).toEqual(new Set(["slots", "heap", "large"]));
    const freed = live.blocks[0]!.ptr;
    live.free(0);
    expect(() => generic.deallocate(freed)).toThrow(DoubleFreeError);
    live.verifyAll();
    generic.check();
    live.freeAll();
    generic.check();
  });

  it("moves blocks across tiers on reallocate, keeping their bytes", () => {
    const { generic, space } = makeGeneric();
    let p = generic.allocate(100);
    for (let i = 0; i < 100; i++) space.u8[p + i] = i;
    const sizes = [2000, 700 * 1024, 3000, 50, 2 << 20, 10];
    let kept = 100;
    for (const size of sizes) {
      p = generic.reallocate(p, size);
      kept = Math.min(kept, size);
      for (let i = 0; i < kept; i++) expect(space.u8[p + i]).toBe(i);
    }
    expect(generic.tierOf(p)).toBe("slots");
    generic.deallocate(p);
    expect(generic.stats().liveCount).toBe(0);
    generic.check();
  });

  it("reallocates slot blocks between classes on the fast path: bytes kept, old slots freed, bad pointers refused", () => {
    const { generic } = makeGeneric();
    const rng = new SeededRandom(0x5107);
    const live = new LiveBlocks(generic);
    const small = (): number => (rng.int(0, 3) === 0 ? rng.int(0, 64) : rng.int(0, generic.smallMax));
    for (let step = 0; step < 6000; step++) {
      const roll = rng.int(0, 9);
      if (roll < 3 || live.blocks.length === 0) live.allocate(small());
      else if (roll < 5) live.free(rng.int(0, live.blocks.length - 1));
      else live.reallocate(rng.int(0, live.blocks.length - 1), small());
    }
    expect(new Set(live.blocks.map((b) => generic.tierOf(b.ptr)))).toEqual(new Set(["slots"]));
    expect(generic.stats().liveCount).toBe(live.blocks.length);
    generic.check();
    // Refused by the wasm move, then explained by the general path; nothing changes.
    const held = live.blocks[0]!.ptr;
    const freed = generic.allocate(40);
    generic.deallocate(freed);
    const before = generic.stats();
    expect(() => generic.reallocate(freed, 200)).toThrow(InvalidPointerError);
    expect(() => generic.reallocate(held + 8, 200)).toThrow(InvalidPointerError);
    expect(generic.stats()).toEqual(before);
    live.verifyAll();
    live.freeAll();
    expect(generic.stats().liveCount).toBe(0);
    generic.check();
  });

  it("turns a block that grows to 32 KiB or more into a page span when whole pages waste at most 1/8 of it, and keeps it one while it grows", () => {
    const space = AddressSpace.create({ initialBytes: 8 << 20, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space, { pageSize: 16384 });
    const generic = new GenericAllocator(pages);
    const fill = (p: number, n: number): void => {
      for (let i = 0; i < n; i += 97) space.u8[p + i] = (i * 7) & 0xff;
    };
    const holds = (p: number, n: number): void => {
      for (let i = 0; i < n; i += 97) expect(space.u8[p + i]).toBe((i * 7) & 0xff);
    };
    let p = generic.allocate(8000);
    fill(p, 8000);
    // 17,000 bytes take two 16 KiB pages: 15,768 bytes of waste, more than 1/8. It stays in the heap.
    p = generic.reallocate(p, 17_000);
    expect(generic.tierOf(p)).toBe("heap");
    holds(p, 8000);
    fill(p, 17_000);
    // 32,000 bytes would waste only 768 in two pages, but growth below 32 KiB stays in the heap.
    p = generic.reallocate(p, 32_000);
    expect(generic.tierOf(p)).toBe("heap");
    holds(p, 17_000);
    fill(p, 32_000);
    generic.deallocate(p);
    // 32 KiB fills two pages exactly. A heap block that can grow where it is does so and stays in the
    // heap (nothing copied): here the rest of the heap's span is free after it.
    const inPlace = generic.allocate(20_000);
    fill(inPlace, 20_000);
    expect(generic.reallocate(inPlace, 32_768)).toBe(inPlace);
    expect(generic.tierOf(inPlace)).toBe("heap");
    holds(inPlace, 20_000);
    // One with a live heap block right after it has to move, and moves to a page span.
    p = generic.allocate(20_000);
    const wall = generic.allocate(5000);
    expect(generic.heap.resizeInPlace(p, 32_768)).toBe(false); // the wall is its right neighbour
    fill(p, 20_000);
    p = generic.reallocate(p, 32_768);
    expect(generic.tierOf(p)).toBe("large");
    holds(p, 20_000);
    for (const b of [inPlace, wall]) generic.deallocate(b);
    fill(p, 32_768);
    // Growing on, it stays a span (the page allocator grows it in place when the pages after it are free).
    const q = generic.reallocate(p, 65_536);
    expect(generic.tierOf(q)).toBe("large");
    holds(q, 32_768);
    // A new allocation of the same size is still the heap's: only growth moves blocks to spans.
    const fresh = generic.allocate(65_536);
    expect(generic.tierOf(fresh)).toBe("heap");
    // An interior pointer asked to grow is refused as before, by name, and nothing moves.
    expect(() => generic.reallocate(fresh + 8, 40_000)).toThrow(/reallocate/);
    expect(() => generic.reallocate(fresh + 8, 40_000)).toThrow(InvalidPointerError);
    expect(generic.tierOf(fresh)).toBe("heap");
    // Shrinking to where pages waste more than 1/8 hands it back to the heap, bytes kept.
    const back = generic.reallocate(q, 20_000);
    expect(generic.tierOf(back)).toBe("heap");
    holds(back, 20_000);
    // A slot block that grows straight past 32 KiB becomes a span too.
    const small = generic.allocate(64);
    fill(small, 64);
    const grown = generic.reallocate(small, 49_152);
    expect(generic.tierOf(grown)).toBe("large");
    holds(grown, 64);
    const t = generic.tierStats();
    expect([t.slots.liveCount, t.heap.liveCount, t.large.liveCount]).toEqual([0, 2, 1]);
    generic.check();
    for (const b of [fresh, back, grown]) generic.deallocate(b);
    expect(generic.stats().liveCount).toBe(0);
    generic.check();
  });

  it("keeps the empty slabs of a frame that freed everything for the next frame (16 KiB slabs)", () => {
    const frames = (keepEmptySlabs?: number, slabBytes = 16384): { leased: number[]; spares: number } => {
      const space = AddressSpace.create({ initialBytes: 8 << 20, maximumBytes: 64 << 20 });
      const generic = new GenericAllocator(new PageAllocator(space, { pageSize: 16384 }), { slots: { slabBytes, ...(keepEmptySlabs === undefined ? {} : { keepEmptySlabs }) } });
      const rng = new SeededRandom(0xf7a3e);
      const sizes = Array.from({ length: 1000 }, () => rng.int(16, 512));
      const leased: number[] = [];
      for (let f = 0; f < 12; f++) {
        const blocks = sizes.map((n) => generic.allocate(n));
        for (const p of blocks) generic.deallocate(p);
        leased.push(generic.slots.slabStats().leased);
      }
      generic.check();
      return { leased, spares: generic.slots.slabStats().spares };
    };
    // 16 empty slabs of 16 KiB kept (the bytes of the slot allocator's default, 4 of 64 KiB): no slab
    // goes back to the page allocator between frames, so no frame after the first leases one.
    const kept = frames();
    expect(kept.leased.slice(1)).toEqual(kept.leased.slice(1).map(() => kept.leased[0]));
    expect(kept.spares).toBeLessThanOrEqual(16);
    // With 4 kept, the slabs a frame emptied beyond 4 go back and are leased again every frame.
    const few = frames(4);
    expect(few.leased[11]! - few.leased[1]!).toBeGreaterThan(10 * 5);
    // The default 32 KiB slabs keep as many bytes (8 slabs): no frame after the first leases one either.
    const kept32 = frames(undefined, 32768);
    expect(kept32.leased.slice(1)).toEqual(kept32.leased.slice(1).map(() => kept32.leased[0]));
    expect(kept32.spares).toBeLessThanOrEqual(8);
  });

  it("names double frees and foreign pointers in every tier", () => {
    const { generic, pages } = makeGeneric();
    for (const size of [16, 5000, 800 * 1024]) {
      const keep = generic.allocate(size);
      const p = generic.allocate(size);
      generic.deallocate(p);
      expect(() => generic.deallocate(p)).toThrow(DoubleFreeError);
      generic.deallocate(keep);
    }
    const other = new HeapAllocator(pages, { name: "other" });
    const foreign = other.allocate(64);
    expect(() => generic.deallocate(foreign)).toThrow(InvalidPointerError);
    expect(() => generic.deallocate(foreign)).toThrow(/belongs to "other"/);
    expect(generic.owns(foreign)).toBe(false);
    other.deallocate(foreign);
    generic.check();
  });

  it("rejects interior, parked and never-handed-out slot pointers on its one-read free path, and keeps every live byte", () => {
    const { generic, space } = makeGeneric();
    const live = [generic.allocate(48), generic.allocate(48), generic.allocate(48)];
    for (const p of live) space.u8.fill(0xab, p, p + 48);
    const parked = generic.allocate(48);
    generic.deallocate(parked); // the slot tier parks it: freeing it again is a double free
    expect(() => generic.deallocate(parked)).toThrow(DoubleFreeError);
    expect(() => generic.deallocate(live[0]! + 8)).toThrow(InvalidPointerError);
    expect(() => generic.deallocate(live[2]! + 2 * 48)).toThrow(/not handed out|already freed/); // past the slab's bump
    expect(generic.stats().liveCount).toBe(3);
    for (const p of live) expect([...space.u8.subarray(p, p + 48)].every((b) => b === 0xab)).toBe(true);
    generic.check();
    for (const p of live) generic.deallocate(p);
    generic.check();
  });

  it("names itself when it rejects a bad size or alignment, whichever tier the size points at", () => {
    const { generic } = makeGeneric();
    for (const [size, align] of [[-1, 8], [1.5, 8], [Number.NaN, 8], [16, 3], [16, 0], [4096, 12]] as const) {
      expect(() => generic.allocate(size, align)).toThrow(InvalidArgumentError);
      expect(() => generic.allocate(size, align)).toThrow(/^generic: /);
    }
    generic.check();
  });

  it("rejects bad options", () => {
    expect(() => makeGeneric({ smallMax: 8192 })).toThrow(InvalidArgumentError);
    expect(() => makeGeneric({ largeThreshold: 10 })).toThrow(/largeThreshold/);
    expect(() => makeGeneric({ smallAlignMax: 0 })).toThrow(/smallAlignMax/);
  });

  it("merges both tiers in storageReport", () => {
    const { generic } = makeGeneric();
    const blocks = Array.from({ length: 200 }, (_, i) => generic.allocate(i % 2 === 0 ? 32 : 6000));
    for (let i = 0; i < blocks.length; i += 4) generic.deallocate(blocks[i]!);
    const r = generic.storageReport();
    const s = generic.slots.storageReport();
    const h = generic.heap.storageReport();
    expect(r.totalFreeBytes).toBe(s.totalFreeBytes + h.totalFreeBytes);
    expect(r.largestFreeBlock).toBe(Math.max(s.largestFreeBlock, h.largestFreeBlock));
    expect(r.freeHistogram.reduce((a, b) => a + b, 0)).toBe(s.freeHistogram.reduce((a, b) => a + b, 0) + h.freeHistogram.reduce((a, b) => a + b, 0));
    expect(r.fragmentation).toBeGreaterThanOrEqual(0);
    expect(r.fragmentation).toBeLessThanOrEqual(1);
  });

  it("stays correct when the address space grows under it", () => {
    const { generic, space } = makeGeneric({}, 1 << 20, 256 << 20);
    const live = new LiveBlocks(generic);
    const rng = new SeededRandom(5);
    const before = space.generation;
    for (let i = 0; i < 3000; i++) live.allocate(rng.logUniform(8, 200_000));
    expect(space.generation).toBeGreaterThan(before);
    live.verifyAll();
    live.verifyDisjoint();
    live.freeAll();
    generic.check();
  });

  it("matches a model of live blocks (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(9), fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 500_000, max: 700_000 })), fc.nat()), {
          maxLength: 200,
        }),
        (ops) => {
          const { generic, pages } = makeGeneric();
          const live = new LiveBlocks(generic);
          for (const [kind, size, pick] of ops) {
            if (kind < 5 || live.length === 0) live.allocate(size);
            else if (kind < 8) live.free(pick % live.length);
            else live.reallocate(pick % live.length, size);
          }
          live.verifyDisjoint();
          expect(generic.stats().liveCount).toBe(live.length);
          live.freeAll();
          generic.check();
          pages.check();
          generic.destroy();
        },
      ),
      { numRuns: 40 },
    );
  });

  it("survives 1M seeded operations with check() every 10k and byte patterns on every block", () => {
    const { generic, pages } = makeGeneric({}, 64 << 20, 512 << 20);
    const live = new LiveBlocks(generic);
    const rng = new SeededRandom(0x1e6);
    for (let op = 1; op <= 1_000_000; op++) {
      const r = rng.next();
      if (live.length === 0 || r < (live.length < 2000 ? 0.5 : 0.45)) {
        const size = rng.chance(0.97) ? rng.logUniform(1, 4096) : rng.logUniform(4096, 800_000);
        live.allocate(size, rng.chance(0.02) ? 2 ** rng.int(0, 12) : undefined);
      } else if (r < 0.93) {
        live.free(rng.int(0, live.length - 1));
      } else {
        live.reallocate(rng.int(0, live.length - 1), rng.logUniform(1, 20_000));
      }
      if (op % 10_000 === 0) {
        generic.check();
        expect(generic.stats().liveCount).toBe(live.length);
      }
    }
    live.verifyAll();
    live.freeAll();
    generic.check();
    pages.check();
  });
});
