import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, OutOfMemoryError, hex, magic } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import { C_ALLOCS_F64, FULL, S_BUMP, S_COUNT, S_FREE, S_MAGIC, S_STATE, S_USED, SLAB_HEADER_BYTES, W_CLASSES, W_PARKED_PTR } from "../src/layout.js";
import { counters, makeRig, occupyParking, slabOf, type Rig } from "./helpers.js";

function withRig(options: Parameters<typeof makeRig>[0], body: (rig: Rig) => void): void {
  const rig = makeRig(options);
  try {
    body(rig);
  } finally {
    rig.dispose();
  }
}

describe("layout", () => {
  it("starts the control block with core's header (magic, version, bytes, seal) and tags it with the owner", () => {
    withRig({}, ({ slots, pages, space }) => {
      expect(space.u32[slots.controlPtr >>> 2]).toBe(magic("SLOT"));
      expect(space.u32[(slots.controlPtr >>> 2) + 1]).toBe(3);
      expect(space.u32[(slots.controlPtr >>> 2) + 2]).toBe((W_CLASSES + 36 * 8) * 4);
      expect(pages.tagOf(slots.controlPtr)).toBe((slots.ownerId << 24) >>> 0);
      expect(pages.ownerName(slots.ownerId)).toBe("slots");
    });
  });

  it("tags every page of a slab with ownerId << 24 | base >> pageShift and keeps slots aligned to the slab start", () => {
    withRig({ pageSize: 4096, slabBytes: 32768 }, ({ slots, pages }) => {
      const p = slots.allocate(1024);
      const base = (pages.tagOf(p) & 0xff_ffff) << pages.pageShift;
      expect(base % 1024).toBe(0);
      expect((p - base) % 1024).toBe(0);
      for (let a = base; a < base + 32768; a += 4096) expect(pages.tagOf(a)).toBe(((slots.ownerId << 24) | (base >>> 12)) >>> 0);
      expect(pages.allocatedSize(base)).toBe(32768);
    });
  });

  it("carves slots in address order from a fresh slab (no free list is built up front)", () => {
    withRig({}, (rig) => {
      const a = rig.slots.allocate(24);
      const b = rig.slots.allocate(24);
      const c = rig.slots.allocate(24);
      const { base, s } = slabOf(rig, a);
      expect([a - base, b - base, c - base]).toEqual([0, 24, 48]);
      expect(rig.space.i32[s + S_BUMP]).toBe(3);
      expect(rig.space.i32[s + S_USED]).toBe(3);
      expect(rig.space.i32[s + S_COUNT]).toBe(2713);
    });
  });
});

describe("the parked slot", () => {
  it("is what the next allocation of the same class gets back", () => {
    withRig({}, ({ slots }) => {
      const a = slots.allocate(40);
      slots.allocate(40);
      slots.deallocate(a);
      expect(slots.allocate(33)).toBe(a); // 33 -> the 40-byte class
    });
  });

  it("is free for every check: not owned, no size, freeing it again is a double free", () => {
    withRig({}, ({ slots }) => {
      const keep = slots.allocate(40);
      const a = slots.allocate(40);
      slots.deallocate(a);
      expect(slots.owns(a)).toBe(false);
      expect(() => slots.allocatedSize(a)).toThrow(InvalidPointerError);
      expect(() => slots.reallocate(a, 10)).toThrow(InvalidPointerError);
      const before = counters(slots);
      expect(() => slots.deallocate(a)).toThrow(DoubleFreeError);
      expect(counters(slots)).toBe(before);
      expect(slots.stats().liveCount).toBe(1);
      slots.check();
      expect(slots.owns(keep)).toBe(true);
    });
  });

  it("stays parked while other classes come and go, and other frees take the slab path", () => {
    withRig({}, (rig) => {
      const parked = occupyParking(rig.slots);
      const x = rig.slots.allocate(100);
      const { s } = slabOf(rig, x);
      rig.slots.deallocate(x);
      expect(rig.space.i32[s + S_FREE]).toBe(1); // slot 0 went onto its slab's free list
      expect(rig.slots.allocate(8)).toBe(parked);
    });
  });
});

describe("slab return with hysteresis", () => {
  // 1024-byte slots: 63 per 64 KiB slab.
  it("a free/alloc pair at the current slab's edge never leases or returns a slab", () => {
    withRig({ keepEmptySlabs: 0 }, ({ slots, pages }) => {
      occupyParking(slots);
      const first = Array.from({ length: 63 }, () => slots.allocate(1024));
      const x = slots.allocate(1024); // the second slab
      const before = pages.stats();
      let p = x;
      for (let i = 0; i < 1000; i++) {
        slots.deallocate(p); // the current slab is empty now, and stays
        p = slots.allocate(1024);
      }
      expect(p).toBe(x);
      const after = pages.stats();
      expect([after.allocCount, after.freeCount]).toEqual([before.allocCount, before.freeCount]);
      expect(first.every((q) => slots.owns(q))).toBe(true);
      slots.check();
    });
  });

  it("an emptied slab is kept as a spare, so freeing its last block and allocating again leases nothing", () => {
    withRig({}, ({ slots, pages }) => {
      occupyParking(slots);
      const a = Array.from({ length: 63 }, () => slots.allocate(1024)); // slab A
      Array.from({ length: 63 }, () => slots.allocate(1024)); // slab B: current, exhausted
      for (let i = 1; i < 63; i++) slots.deallocate(a[i]!); // A rejoins the partial list at 60 used, keeps a[0]
      const before = pages.stats();
      let last = a[0]!;
      for (let i = 0; i < 1000; i++) {
        slots.deallocate(last); // the slab empties -> spare (or: the current slab stays)
        last = slots.allocate(1024); // B is full: the spare comes back, no lease
      }
      const after = pages.stats();
      expect([after.allocCount, after.freeCount]).toEqual([before.allocCount, before.freeCount]);
      expect(slots.slabStats().leased).toBe(3); // the 8-byte slab of occupyParking, A and B
      slots.check();
    });
  });

  it("without spares the same boundary costs one return and one lease, then settles", () => {
    withRig({ keepEmptySlabs: 0 }, ({ slots, pages }) => {
      occupyParking(slots);
      const a = Array.from({ length: 63 }, () => slots.allocate(1024));
      Array.from({ length: 63 }, () => slots.allocate(1024));
      for (let i = 1; i < 63; i++) slots.deallocate(a[i]!);
      const before = pages.stats();
      let last = a[0]!;
      for (let i = 0; i < 1000; i++) {
        slots.deallocate(last);
        last = slots.allocate(1024);
      }
      const after = pages.stats();
      expect([after.allocCount - before.allocCount, after.freeCount - before.freeCount]).toEqual([1, 1]);
      slots.check();
    });
  });

  it("returns empty slabs beyond keepEmptySlabs to the page allocator, and a spare serves any class", () => {
    withRig({ keepEmptySlabs: 2 }, ({ slots, pages }) => {
      const base = pages.stats().liveCount;
      occupyParking(slots);
      const blocks = Array.from({ length: 63 * 10 }, () => slots.allocate(1000));
      expect(slots.slabStats().slabs).toBe(11); // 10 for 1024 B + 1 for 8 B
      for (const p of blocks) slots.deallocate(p);
      // The current 1024-byte slab stays, two emptied slabs are kept, seven go back.
      expect(slots.slabStats()).toEqual({ slabs: 4, spares: 2, leased: 11, returned: 7 });
      expect(pages.stats().liveCount - base).toBe(4);
      slots.check();
      // A new class takes a spare instead of leasing.
      slots.allocate(500);
      expect(slots.slabStats()).toEqual({ slabs: 4, spares: 1, leased: 11, returned: 7 });
      slots.check();
    });
  });
});

describe("pointers that are not live slot starts", () => {
  function expectRejected(slots: SlotAllocator, ptr: number, what: string): void {
    const before = counters(slots);
    expect(slots.owns(ptr), what).toBe(false);
    expect(() => slots.deallocate(ptr), what).toThrow(InvalidPointerError);
    expect(() => slots.allocatedSize(ptr), what).toThrow(InvalidPointerError);
    expect(() => slots.reallocate(ptr, 16), what).toThrow(InvalidPointerError);
    expect(counters(slots), what).toBe(before);
  }

  it("rejects every offset inside a slot, in several classes", () => {
    withRig({}, ({ slots }) => {
      occupyParking(slots);
      for (const size of [16, 24, 80, 96, 1024]) {
        const a = slots.allocate(size);
        const b = slots.allocate(size);
        for (let off = 1; off < size; off++) expectRejected(slots, a + off, `${hex(a)} + ${off} (${size}-byte slot)`);
        expect(slots.allocatedSize(a)).toBe(size);
        slots.deallocate(a);
        slots.deallocate(b);
      }
      slots.check();
    });
  });

  it("rejects slots never handed out, the slab's bitmap/header tail, the control block, other owners' and free pages", () => {
    withRig({}, (rig) => {
      const { slots, pages, space } = rig;
      const p = slots.allocate(1024);
      const { base } = slabOf(rig, p);
      expectRejected(slots, p + 1024, "the next, never carved slot");
      expectRejected(slots, base + 62 * 1024, "the last slot of the slab");
      expectRejected(slots, base + 63 * 1024, "the tail after the last slot");
      expectRejected(slots, base + 65536 - SLAB_HEADER_BYTES, "the slab header");
      expectRejected(slots, slots.controlPtr, "the control block");
      const foreign = pages.allocate(4096);
      pages.setTag(foreign, pages.registerOwner("someone else"), foreign >>> pages.pageShift);
      expectRejected(slots, foreign, "a page span of another owner");
      const untagged = pages.allocate(4096);
      expectRejected(slots, untagged, "an untagged page span");
      pages.deallocate(untagged);
      expectRejected(slots, untagged, "a free page");
      expectRejected(slots, space.byteLength + 65536, "past the end of the space");
      expectRejected(slots, 8, "the null page");
      expect(() => slots.deallocate(foreign)).toThrow(/owned by "someone else"/);
      expect(() => slots.deallocate(p + 8)).toThrow(/8 bytes into the slot at/);
      expect(() => slots.deallocate(p + 1024)).toThrow(/never handed out/);
      pages.deallocate(foreign);
      slots.check();
    });
  });
});

describe("double free", () => {
  it("is detected through the bitmap, with every block intact and the stats unchanged", () => {
    withRig({}, ({ slots, space }) => {
      occupyParking(slots);
      const blocks = Array.from({ length: 50 }, (_, i) => slots.allocate(24 + i));
      blocks.forEach((p, i) => space.u8.fill(i, p, p + 24));
      const victim = blocks.splice(10, 1)[0]!;
      slots.deallocate(victim);
      const before = counters(slots);
      expect(() => slots.deallocate(victim)).toThrow(DoubleFreeError);
      expect(() => slots.deallocate(victim)).toThrow(new RegExp(`${hex(victim)} was already freed`));
      expect(counters(slots)).toBe(before);
      slots.check();
      blocks.forEach((p, i) => expect(space.u8.subarray(p, p + 24).every((b) => b === (i < 10 ? i : i + 1))).toBe(true));
      // It still serves, and hands the freed slot out again exactly once.
      const again = new Set(Array.from({ length: 5 }, () => slots.allocate(34))); // the victim's 40-byte class
      expect(again.has(victim)).toBe(true);
      expect(again.size).toBe(5);
    });
  });
});

describe("check() finds deliberate corruption", () => {
  /** Pokes one word, expects check() to throw a CorruptionError matching every pattern, restores it, and expects check() to pass. */
  function expectCaught(rig: Rig, word: number, value: number, ...patterns: RegExp[]): void {
    const u32 = rig.space.u32;
    const saved = u32[word]!;
    rig.slots.check();
    u32[word] = value;
    let error: unknown;
    try {
      rig.slots.check();
    } catch (e) {
      error = e;
    }
    u32[word] = saved;
    expect(error).toBeInstanceOf(CorruptionError);
    for (const pattern of patterns) expect((error as Error).message).toMatch(pattern);
    rig.slots.check();
  }

  it("names the slab in hex and the broken invariant", () => {
    withRig({}, (rig) => {
      occupyParking(rig.slots);
      const blocks = Array.from({ length: 40 }, () => rig.slots.allocate(32));
      for (const i of [3, 7, 11]) rig.slots.deallocate(blocks[i]!); // free list: 11 -> 7 -> 3
      const { base, s } = slabOf(rig, blocks[0]!);
      const slab = new RegExp(`slab ${hex(base)} \\(32-byte slots, current\\)`);
      const u32 = rig.space.u32;
      const word0 = s - 1; // bitmap word of slots 0..31
      const word1 = s - 2; // slots 32..63; 40 carved
      expect(u32[s + S_FREE]).toBe(12);
      expectCaught(rig, word0, u32[word0]! | (1 << 7), slab, /bitmap holds 38 live slots, used count says 37/);
      expectCaught(rig, word0, u32[word0]! & ~(1 << 20), slab, /bitmap holds 36 live slots/);
      expectCaught(rig, word1, u32[word1]! | (1 << 13), slab, /live bit set for slot 45, which was never handed out \(40 carved\)/);
      expectCaught(rig, blocks[7]! >>> 2, 12, slab, /free list visits slot 11 twice/); // 7 -> 11: a cycle
      expectCaught(rig, blocks[7]! >>> 2, 5000, slab, /free list links to slot 4999, outside the 40 carved slots/);
      expectCaught(rig, blocks[7]! >>> 2, 2, slab, /free list holds slot 1 .* which the bitmap says is live/);
      expectCaught(rig, s + S_USED, 36, slab, /bitmap holds 37 live slots, used count says 36/);
      expectCaught(rig, s + S_MAGIC, 0x12345678, slab, /header magic is 0x12345678/);
      expectCaught(rig, s + S_BUMP, 50, slab, /3 free-list slots \+ 37 used != 50 carved/);
      expectCaught(rig, s + S_COUNT, 100, slab, /differ from class 3/);
      expectCaught(rig, s + S_STATE, 9, /unknown state 9/);
      expectCaught(rig, s + S_STATE, FULL, /full with only 37 used slots/);
    });
  });

  it("catches broken class counters, the parked slot and the control header", () => {
    withRig({}, (rig) => {
      const blocks = Array.from({ length: 10 }, () => rig.slots.allocate(64));
      rig.slots.deallocate(blocks[0]!); // parked
      const cw = rig.slots.controlPtr >>> 2;
      const u32 = rig.space.u32;
      // Class record of the 64-byte class (index 7); its allocs counter is the float64 at word C_ALLOCS_F64 of the record.
      const rec = cw + W_CLASSES + 7 * 8;
      const f64 = rig.space.f64;
      rig.slots.check();
      f64[(rec + C_ALLOCS_F64) >>> 1] = 11;
      expect(() => rig.slots.check()).toThrow(/class 7 \(64-byte slots\) counters say 10 live slots, its slabs hold 9 besides the parked one/);
      f64[(rec + C_ALLOCS_F64) >>> 1] = 10;
      rig.slots.check();
      const parkedWord = cw + W_PARKED_PTR;
      expect(u32[parkedWord]).toBe(blocks[0]);
      u32[parkedWord] = blocks[0]! + 4;
      expect(() => rig.slots.check()).toThrow(/not a carved slot start/);
      u32[parkedWord] = blocks[0]!;
      u32[cw] = 0;
      expect(() => rig.slots.check()).toThrow(CorruptionError);
      u32[cw] = magic("SLOT");
      rig.slots.check();
    });
  });

  it("a write into a freed slot's link is caught when the free list would hand out a live slot", () => {
    withRig({}, (rig) => {
      const { slots, space } = rig;
      occupyParking(slots);
      const blocks = Array.from({ length: 8 }, () => slots.allocate(48));
      slots.deallocate(blocks[2]!);
      // Use after free: the freed slot's first word is its free-list link; point it at live slot 5.
      space.u32[blocks[2]! >>> 2] = 6;
      expect(slots.allocate(48)).toBe(blocks[2]); // the head itself is fine
      const before = counters(slots);
      expect(() => slots.allocate(48)).toThrow(/hands out slot 5, which is still live/);
      expect(counters(slots)).toBe(before);
      expect(() => slots.check()).toThrow(CorruptionError);
    });
  });
});

describe("storageReport()", () => {
  it("reports reserved, used and free slot bytes, the largest allocatable slot and a histogram", () => {
    withRig({}, ({ slots }) => {
      for (let i = 0; i < 10; i++) slots.allocate(32);
      const big = Array.from({ length: 3 }, () => slots.allocate(1000));
      let r = slots.storageReport();
      expect(r.reservedBytes).toBe(2 * 65536 + 65536); // two slabs + the control block's page
      expect(r.usedBytes).toBe(10 * 32 + 3 * 1024);
      expect(r.totalFreeBytes).toBe((2038 - 10) * 32 + (63 - 3) * 1024);
      expect(r.largestFreeBlock).toBe(1024);
      expect(r.freeHistogram[5]).toBe(2028);
      expect(r.freeHistogram[10]).toBe(60);
      expect(r.fragmentation).toBeCloseTo(1 - 1024 / r.totalFreeBytes, 12);
      slots.deallocate(big[0]!); // parked: free for the report
      r = slots.storageReport();
      expect(r.usedBytes).toBe(10 * 32 + 2 * 1024);
      expect(r.freeHistogram[10]).toBe(61);
      expect(r.reservedBytes).toBe(slots.stats().reservedBytes);
    });
  });

  it("reports nothing free in a fresh allocator", () => {
    withRig({}, ({ slots }) => {
      expect(slots.storageReport()).toEqual({
        reservedBytes: 65536,
        usedBytes: 0,
        totalFreeBytes: 0,
        largestFreeBlock: 0,
        freeHistogram: [],
        fragmentation: 0,
      });
    });
  });
});

describe("stats()", () => {
  it("counts slot sizes, every allocation and free, and samples the peak", () => {
    withRig({}, ({ slots }) => {
      const a = slots.allocate(1);
      const b = slots.allocate(100);
      const c = slots.allocate(1000);
      let s = slots.stats();
      expect(s).toEqual({ liveBytes: 8 + 112 + 1024, liveCount: 3, peakLiveBytes: 8 + 112 + 1024, allocCount: 3, freeCount: 0, reservedBytes: 4 * 65536 });
      slots.deallocate(c);
      slots.deallocate(b);
      s = slots.stats();
      expect([s.liveBytes, s.liveCount, s.allocCount, s.freeCount, s.peakLiveBytes]).toEqual([8, 1, 3, 2, 1144]);
      slots.resetPeak();
      expect(slots.stats().peakLiveBytes).toBe(8);
      slots.deallocate(a);
      expect(slots.stats().liveBytes).toBe(0);
    });
  });

  it("samples the peak when a slab is leased, even if stats() was not read at the top", () => {
    withRig({}, ({ slots }) => {
      const blocks = Array.from({ length: 63 }, () => slots.allocate(1024)); // peak sampled when each slab is leased
      blocks.push(slots.allocate(1024)); // leases a second slab with 63 live: sampled 63 * 1024
      for (const p of blocks) slots.deallocate(p);
      expect(slots.stats().peakLiveBytes).toBe(63 * 1024);
    });
  });
});

describe("limits and failures", () => {
  it("refuses sizes above the largest slot and alignments no class guarantees, pointing at the generic allocator", () => {
    withRig({}, ({ slots }) => {
      const p = slots.allocate(600);
      const before = counters(slots);
      expect(() => slots.allocate(1025)).toThrow(OutOfMemoryError);
      expect(() => slots.allocate(1025)).toThrow(/above the largest slot \(1024 B\)[\s\S]*generic allocator/);
      expect(() => slots.allocate(8, 2048)).toThrow(/no class up to 1024 B guarantees align 2048/);
      expect(() => slots.reallocate(p, 5000)).toThrow(OutOfMemoryError);
      expect(() => slots.allocate(-1)).toThrow(InvalidArgumentError);
      expect(() => slots.allocate(8, 3)).toThrow(InvalidArgumentError);
      expect(counters(slots)).toBe(before);
      expect(slots.allocatedSize(p)).toBe(640);
    });
  });

  it("throws OutOfMemoryError when no slab can be leased, changes nothing, and serves again after frees", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const slots = new SlotAllocator(pages, { slabBytes: 16384, keepEmptySlabs: 0 });
    try {
      const blocks: number[] = [];
      let error: unknown;
      try {
        for (;;) blocks.push(slots.allocate(512));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OutOfMemoryError);
      expect((error as Error).message).toMatch(/cannot allocate 512 B: no 512-byte slot is free and the page allocator cannot lease another 16.0 KiB slab/);
      const before = counters(slots);
      expect(() => slots.allocate(512)).toThrow(OutOfMemoryError);
      expect(counters(slots)).toBe(before);
      slots.check();
      expect(blocks.length).toBeGreaterThan(1500);
      for (const p of blocks.splice(0, 100)) slots.deallocate(p);
      expect(slots.owns(slots.allocate(512))).toBe(true);
      slots.check();
    } finally {
      slots.destroy();
      pages.destroy();
    }
  });

  it("validates options with messages naming the option", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    expect(() => new SlotAllocator(pages, { maxSlotSize: 1000 })).toThrow(/maxSlotSize must be a power of two/);
    expect(() => new SlotAllocator(pages, { maxSlotSize: 16384 })).toThrow(/at most slabBytes \/ 8 = 8192/);
    expect(() => new SlotAllocator(pages, { slabBytes: 3 << 12 })).toThrow(/slabBytes must be a power of two/);
    expect(() => new SlotAllocator(pages, { slabBytes: 2048 })).toThrow(InvalidArgumentError);
    expect(() => new SlotAllocator(pages, { keepEmptySlabs: -1 })).toThrow(/keepEmptySlabs/);
    pages.destroy();
  });
});

describe("destroy()", () => {
  it("returns every slab and the control block, and refuses later calls", () => {
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space);
    const base = pages.stats().liveCount;
    const slots = new SlotAllocator(pages);
    const p = slots.allocate(100);
    for (let i = 0; i < 5000; i++) slots.allocate(8 + (i % 1000));
    expect(pages.stats().liveCount).toBeGreaterThan(base + 10);
    slots.destroy();
    expect(pages.stats().liveCount).toBe(base);
    pages.check();
    expect(slots.owns(p)).toBe(false);
    expect(() => slots.allocate(8)).toThrow(/destroyed/);
    expect(() => slots.deallocate(p)).toThrow(/destroyed/);
    slots.destroy(); // idempotent
    pages.destroy();
  });
});
