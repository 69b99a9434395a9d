import { CONTROL_BLOCK_HEADER_WORDS, DoubleFreeError, InvalidArgumentError, InvalidPointerError, hex } from "@memkit/core";

import { HeapAllocator } from "@memkit/heap-allocator";
import { describe, expect, it } from "vitest";
import {
  MIN_BLOCK,
  SPAN_COLOR_MASK,
  SPAN_FIRST_W,
  W_PAGES_CONTROL,
  SPAN_FLAGS_W,
  firstPayloadOffset,
} from "../src/layout.js";
import { blockBytes, blocksOf, freeBlocksOf, makeRig, thrown } from "./helpers.js";

describe("layout", () => {
  it("starts the heap's words right after core's control header", () => {
    // layout.ts writes the number out so the build can inline every word index derived from it.
    expect(W_PAGES_CONTROL).toBe(CONTROL_BLOCK_HEADER_WORDS);
  });
});

describe("construction", () => {
  it("registers an owner, tags its home span and exposes a control block with core's header", () => {
    const { heap, pages, space } = makeRig({ name: "physics-heap" });
    expect(heap.name).toBe("physics-heap");
    expect(pages.ownerName(heap.ownerId)).toBe("physics-heap");
    expect(pages.tagOf(heap.controlPtr) >>> 24).toBe(heap.ownerId);
    expect(space.u32[heap.controlPtr >>> 2]).toBe(0x48454150); // "HEAP"
    expect(heap.stats()).toEqual({ liveBytes: 0, liveCount: 0, peakLiveBytes: 0, allocCount: 0, freeCount: 0, reservedBytes: 64 << 10 });
    heap.check();
  });

  it("rejects bad options with InvalidArgumentError", () => {
    const { pages } = makeRig();
    for (const spanBytes of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => new HeapAllocator(pages, { spanBytes })).toThrow(InvalidArgumentError);
    }
    expect(() => new HeapAllocator(pages, { name: "" })).toThrow(InvalidArgumentError);
  });

  it("rounds spanBytes up to whole pages", () => {
    const { pages } = makeRig({ pageSize: 4096 });
    expect(new HeapAllocator(pages, { spanBytes: 5000 }).spanBytes).toBe(8192);
  });
});

describe("blocks", () => {
  it("lays blocks out back to back with a 4-byte header and 8-aligned payloads", () => {
    const { heap } = makeRig();
    const a = heap.allocate(100);
    const b = heap.allocate(1);
    const c = heap.allocate(0);
    expect(a % 8).toBe(0);
    expect(b).toBe(a + blockBytes(100));
    expect(c).toBe(b + blockBytes(1));
    expect(heap.allocatedSize(a)).toBe(blockBytes(100) - 4);
    expect(heap.allocatedSize(c)).toBe(MIN_BLOCK - 4);
    heap.check();
  });

  it("coalesces exactly: free A, free C, free B leaves one free block", () => {
    const { heap } = makeRig();
    const a = heap.allocate(100);
    const b = heap.allocate(200);
    const c = heap.allocate(300);
    const d = heap.allocate(50); // keeps C away from the free tail
    heap.deallocate(a);
    heap.deallocate(c);
    expect(freeBlocksOf(heap).map((f) => f.ptr)).toEqual([a, c, d + blockBytes(50)]);
    heap.check();
    heap.deallocate(b);
    const free = freeBlocksOf(heap);
    expect(free[0]).toEqual({ ptr: a, usable: blockBytes(100) + blockBytes(200) + blockBytes(300) - 4, free: true });
    expect(free).toHaveLength(2);
    heap.check();
    // The merged block (616 B, size class 608..623) serves a request rounded up to that class.
    expect(heap.allocate(604)).toBe(a);
    expect(heap.allocatedSize(a)).toBe(612);
    heap.check();
  });

  it("merges with the free tail on the right", () => {
    const { heap } = makeRig();
    const a = heap.allocate(100);
    const b = heap.allocate(100);
    heap.deallocate(b);
    expect(freeBlocksOf(heap)).toHaveLength(1);
    expect(freeBlocksOf(heap)[0]!.ptr).toBe(b);
    heap.deallocate(a);
    expect(blocksOf(heap)).toEqual([{ ptr: a, usable: freeBlocksOf(heap)[0]!.usable, free: true }]);
    heap.check();
  });
});

describe("reallocate", () => {
  it("grows in place into a free right neighbour and shrinks in place", () => {
    const { heap } = makeRig();
    const a = heap.allocate(100);
    const b = heap.allocate(100);
    const guard = heap.allocate(100);
    heap.space.u8.fill(0xab, a, a + 100);
    heap.deallocate(b);
    expect(heap.reallocate(a, 180)).toBe(a);
    expect(heap.allocatedSize(a)).toBe(180);
    expect([...heap.space.u8.subarray(a, a + 100)].every((x) => x === 0xab)).toBe(true);
    heap.check();
    // Shrinking frees the tail and merges it with the free remainder on the right.
    expect(heap.reallocate(a, 40)).toBe(a);
    expect(heap.allocatedSize(a)).toBe(blockBytes(40) - 4);
    expect(freeBlocksOf(heap)[0]).toEqual({ ptr: a + blockBytes(40), usable: guard - (a + blockBytes(40)) - 4, free: true });
    expect([...heap.space.u8.subarray(a, a + 40)].every((x) => x === 0xab)).toBe(true);
    heap.check();
    // Up to the guard, still in place; one byte more moves.
    const most = guard - a - 4;
    expect(heap.reallocate(a, most)).toBe(a);
    const moved = heap.reallocate(a, most + 1);
    expect(moved).not.toBe(a);
    expect([...heap.space.u8.subarray(moved, moved + 40)].every((x) => x === 0xab)).toBe(true);
    expect(heap.owns(a)).toBe(false);
    heap.check();
  });

  it("shrinks in place even when the tail is too small to free", () => {
    const { heap } = makeRig();
    const a = heap.allocate(100);
    heap.allocate(8);
    expect(heap.reallocate(a, 90)).toBe(a);
    expect(heap.allocatedSize(a)).toBe(100); // 8 bytes cannot stand as a block
    heap.check();
  });

  it("moves a block whose address does not meet a new alignment, keeping the bytes", () => {
    const { heap } = makeRig();
    heap.allocate(8);
    const a = heap.allocate(64);
    expect(a % 4096).not.toBe(0);
    heap.space.u8.fill(7, a, a + 64);
    const b = heap.reallocate(a, 64, 4096);
    expect(b % 4096).toBe(0);
    expect([...heap.space.u8.subarray(b, b + 64)].every((x) => x === 7)).toBe(true);
    heap.check();
  });

  it("counts a move as neither an allocation nor a free, and liveBytes follows usable sizes", () => {
    const { heap } = makeRig();
    const a = heap.allocate(100);
    heap.allocate(100);
    const moved = heap.reallocate(a, 5000);
    const s = heap.stats();
    expect([s.allocCount, s.freeCount, s.liveCount]).toEqual([2, 0, 2]);
    expect(s.liveBytes).toBe(heap.allocatedSize(moved) + 100);
    heap.check();
  });
});

describe("resizeInPlace", () => {
  it("grows into a free right neighbour or shrinks, keeping the address and the bytes; refuses, changing nothing, when the neighbour is taken", () => {
    const { heap } = makeRig();
    const a = heap.allocate(100);
    const b = heap.allocate(100);
    const guard = heap.allocate(100);
    heap.space.u8.fill(0xab, a, a + 100);
    // b is live: no room on the right.
    const before = heap.stats();
    expect(heap.resizeInPlace(a, 180)).toBe(false);
    expect(heap.stats()).toEqual(before);
    expect(heap.allocatedSize(a)).toBe(100);
    heap.deallocate(b);
    expect(heap.resizeInPlace(a, 180)).toBe(true);
    expect(heap.allocatedSize(a)).toBe(180);
    expect(heap.stats().liveBytes).toBe(180 + 100);
    expect([...heap.space.u8.subarray(a, a + 100)].every((x) => x === 0xab)).toBe(true);
    heap.check();
    expect(heap.resizeInPlace(a, 40)).toBe(true);
    expect(heap.allocatedSize(a)).toBe(blockBytes(40) - 4);
    // Up to the guard and no further.
    expect(heap.resizeInPlace(a, guard - a - 4)).toBe(true);
    expect(heap.resizeInPlace(a, guard - a - 3)).toBe(false);
    expect(heap.allocatedSize(a)).toBe(guard - a - 4);
    heap.check();
  });

  it("refuses bad pointers and sizes with the errors reallocate gives, changing nothing", () => {
    const { heap } = makeRig();
    const a = heap.allocate(64);
    const before = heap.stats();
    expect(() => heap.resizeInPlace(a + 8, 80)).toThrow(InvalidPointerError);
    expect(() => heap.resizeInPlace(a, -1)).toThrow(InvalidArgumentError);
    expect(heap.resizeInPlace(a, 2 ** 31)).toBe(false);
    heap.deallocate(a);
    expect(() => heap.resizeInPlace(a, 80)).toThrow(/resizeInPlace/);
    expect(heap.stats().liveCount).toBe(before.liveCount - 1);
    heap.check();
  });
});

describe("alignment", () => {
  it("splits the front gap off as a free block, so nothing is lost", () => {
    const { heap } = makeRig({ spanBytes: 256 << 10, pageSize: 4096 });
    const p = heap.allocate(100, 65536);
    expect(p % 65536).toBe(0);
    const blocks = blocksOf(heap);
    const at = blocks.findIndex((b) => b.ptr === p);
    expect(blocks[at - 1]!.free).toBe(true); // the gap
    expect(blocks[at - 1]!.ptr + blocks[at - 1]!.usable + 4).toBe(p);
    expect(heap.allocatedSize(p)).toBe(100);
    // The gap is ordinary free memory: small blocks land there.
    const small = heap.allocate(64);
    expect(small).toBeLessThan(p);
    heap.check();
  });

  it("never wastes more than the header and 8-byte rounding per block, for every alignment up to 64 KiB", () => {
    const { heap } = makeRig({ spanBytes: 256 << 10, maximumBytes: 256 << 20 });
    let held = 0;
    for (let align = 16; align <= 65536; align *= 2) {
      for (const size of [0, 1, 24, align - 1, align, align + 3, 3000]) {
        const p = heap.allocate(size, align);
        expect(p % align).toBe(0);
        const over = heap.allocatedSize(p) - size;
        expect(over).toBeGreaterThanOrEqual(0);
        expect(over).toBeLessThan(24 + 16); // rounding (< 8, or up to MIN_BLOCK) plus an unsplittable tail (< MIN_BLOCK)
        held++;
      }
    }
    // Every byte of every span is a header, a live payload, a free block, span metadata or the span's colour.
    let accounted = 0;
    heap.walk((_p, usable) => (accounted += usable + 4));
    let overhead = 0;
    heap.pages.forEachSpan((ptr, bytes, used, tag) => {
      if (!used || tag >>> 24 !== heap.ownerId) return;
      const color = heap.space.i32[(ptr >> 2) + SPAN_FLAGS_W]! & SPAN_COLOR_MASK;
      overhead += firstPayloadOffset(bytes, ptr <= heap.controlPtr && heap.controlPtr < ptr + bytes) + color;
    });
    expect(accounted + overhead).toBe(heap.stats().reservedBytes);
    expect(heap.stats().liveCount).toBe(held);
    heap.check();
  });
});

describe("span colours", () => {
  it("start the first block of different spans at different offsets within a 4 KiB page, and reject pointers into the gap", () => {
    const { heap } = makeRig({ spanBytes: 64 << 10, maximumBytes: 64 << 20 });
    const firsts: number[] = [];
    for (let i = 0; i < 16; i++) firsts.push(heap.allocate(60 << 10)); // one block per span: each leases its own
    const spans: number[] = [];
    heap.pages.forEachSpan((ptr, _bytes, used, tag) => {
      if (used && tag >>> 24 === heap.ownerId && !(ptr <= heap.controlPtr && heap.controlPtr < ptr + _bytes)) spans.push(ptr);
    });
    expect(spans.length).toBe(16);
    const offsets = new Set<number>();
    const i32 = heap.space.i32;
    for (const base of spans) {
      const color = i32[(base >> 2) + SPAN_FLAGS_W]! & SPAN_COLOR_MASK;
      const first = i32[(base >> 2) + SPAN_FIRST_W]!;
      expect(first).toBe(base + firstPayloadOffset(64 << 10, false) + color);
      offsets.add(first & 4095);
      if (color > 0) {
        // The gap before the first block belongs to no block: exact rejection, nothing changes.
        const before = heap.stats();
        expect(heap.owns(first - color)).toBe(false);
        expect(() => heap.deallocate(first - color)).toThrow(InvalidPointerError);
        expect(heap.stats()).toEqual(before);
      }
    }
    expect(offsets.size).toBeGreaterThanOrEqual(8); // 64 colours hashed from the span address
    for (const p of firsts) heap.deallocate(p);
    heap.check();
  });

  it("shrink to what a span can spare when its one block needs nearly all of it", () => {
    const { heap } = makeRig({ spanBytes: 64 << 10, maximumBytes: 64 << 20 });
    const area = (64 << 10) - firstPayloadOffset(64 << 10, false);
    const p = heap.allocate(area - 4); // the whole area: no room for a colour
    expect(heap.allocatedSize(p)).toBeGreaterThanOrEqual(area - 4);
    expect((p - firstPayloadOffset(64 << 10, false)) % heap.pages.pageSize).toBe(0); // colour 0: p is right after the bitmap
    heap.check();
    heap.deallocate(p);
    heap.check();
  });
});

describe("pointer checks", () => {
  it("rejects every interior offset of a live block exactly, changing nothing", () => {
    const { heap } = makeRig();
    heap.allocate(40);
    const p = heap.allocate(256);
    heap.allocate(40);
    const before = heap.stats();
    for (let off = 1; off < heap.allocatedSize(p); off++) {
      expect(heap.owns(p + off)).toBe(false);
      expect(() => heap.deallocate(p + off)).toThrow(InvalidPointerError);
      expect(() => heap.allocatedSize(p + off)).toThrow(InvalidPointerError);
      expect(() => heap.reallocate(p + off, 8)).toThrow(InvalidPointerError);
    }
    expect(heap.stats()).toEqual(before);
    expect(heap.owns(p)).toBe(true);
    heap.check();
  });

  it("names the block an interior pointer points into", () => {
    const { heap } = makeRig();
    const p = heap.allocate(256);
    const err = thrown(() => heap.deallocate(p + 16));
    expect(err).toBeInstanceOf(InvalidPointerError);
    expect(err.message).toContain(`+16 into the live block ${hex(p)}`);
  });

  it("rejects a double free with DoubleFreeError and changes nothing", () => {
    const { heap } = makeRig();
    const a = heap.allocate(64);
    const b = heap.allocate(64);
    heap.allocate(64);
    heap.deallocate(b);
    const before = heap.stats();
    const err = thrown(() => heap.deallocate(b));
    expect(err).toBeInstanceOf(DoubleFreeError);
    expect(err.message).toContain(hex(b));
    expect(() => heap.allocatedSize(b)).toThrow(DoubleFreeError);
    expect(() => heap.reallocate(b, 10)).toThrow(DoubleFreeError);
    expect(heap.stats()).toEqual(before);
    expect(heap.owns(b)).toBe(false);
    heap.check();
    // A block merged into a free left neighbour no longer starts a block: still rejected, as a pointer into free memory.
    heap.deallocate(a);
    const merged = thrown(() => heap.deallocate(b));
    expect(merged).toBeInstanceOf(InvalidPointerError);
    expect(merged.message).toContain(`into the free block ${hex(a)}`);
    heap.check();
  });

  it("rejects pointers of another heap on the same pages, of the page allocator, and outside any span", () => {
    const { heap, pages, space } = makeRig();
    const other = new HeapAllocator(pages, { name: "other-heap", spanBytes: 16 << 10 });
    const mine = heap.allocate(64);
    const theirs = other.allocate(64);
    const span = pages.allocate(4096);
    const before = heap.stats();
    expect(heap.owns(theirs)).toBe(false);
    expect(thrown(() => heap.deallocate(theirs)).message).toContain("owned by other-heap");
    expect(() => heap.deallocate(span)).toThrow(InvalidPointerError);
    expect(() => heap.deallocate(span + 64)).toThrow(InvalidPointerError);
    expect(() => heap.deallocate(space.byteLength + 4096)).toThrow(InvalidPointerError);
    expect(() => heap.deallocate(mine + 4)).toThrow(InvalidPointerError); // not 8-aligned
    expect(() => heap.deallocate(heap.controlPtr)).toThrow(InvalidPointerError); // inside the home span, not a block
    expect(() => heap.deallocate(-8)).toThrow(InvalidPointerError);
    expect(() => heap.deallocate(Number.NaN)).toThrow(InvalidPointerError);
    expect(heap.stats()).toEqual(before);
    other.deallocate(theirs);
    heap.deallocate(mine);
    heap.check();
    other.check();
  });

  it("tags every byte of every block with its owner id, so a router can dispatch in O(1)", () => {
    const { heap, pages } = makeRig({ spanBytes: 16 << 10 });
    const ptrs = Array.from({ length: 200 }, (_, i) => heap.allocate(100 + i * 37));
    for (const p of ptrs) {
      expect(pages.tagOf(p) >>> 24).toBe(heap.ownerId);
      expect(pages.tagOf(p + heap.allocatedSize(p) - 1) >>> 24).toBe(heap.ownerId);
    }
  });
});

describe("stats", () => {
  it("counts usable sizes, the peak, and resets the peak", () => {
    const { heap } = makeRig();
    const a = heap.allocate(10); // 20 usable
    const b = heap.allocate(100); // 100 usable
    expect(heap.stats().liveBytes).toBe(120);
    heap.deallocate(a);
    expect(heap.stats()).toMatchObject({ liveBytes: 100, liveCount: 1, peakLiveBytes: 120, allocCount: 2, freeCount: 1 });
    heap.resetPeak();
    expect(heap.stats().peakLiveBytes).toBe(100);
    heap.deallocate(b);
    expect(heap.stats()).toMatchObject({ liveBytes: 0, liveCount: 0, peakLiveBytes: 100 });
  });
});

describe("storageReport", () => {
  it("reports the figures of a hand-made layout", () => {
    const { heap } = makeRig({ spanBytes: 64 << 10 });
    const area = (64 << 10) - firstPayloadOffset(64 << 10, true);
    const a = heap.allocate(1000);
    heap.allocate(2000);
    const c = heap.allocate(3000);
    heap.allocate(4000);
    heap.deallocate(a);
    heap.deallocate(c);
    const tail = area - blockBytes(1000) - blockBytes(2000) - blockBytes(3000) - blockBytes(4000);
    const free = [blockBytes(1000) - 4, blockBytes(3000) - 4, tail - 4]; // 1004, 3004, usable tail
    const total = free[0]! + free[1]! + free[2]!;
    const histogram = new Array<number>(16).fill(0);
    for (const f of free) histogram[31 - Math.clz32(f)]!++;
    expect(heap.storageReport()).toEqual({
      reservedBytes: 64 << 10,
      usedBytes: blockBytes(2000) - 4 + blockBytes(4000) - 4,
      totalFreeBytes: total,
      largestFreeBlock: tail - 4,
      freeHistogram: histogram,
      fragmentation: 1 - (tail - 4) / total,
    });
    // largestFreeBlock is a promise: that request succeeds without leasing.
    const reserved = heap.stats().reservedBytes;
    heap.allocate(tail - 4);
    expect(heap.stats().reservedBytes).toBe(reserved);
  });

  it("reports no fragmentation for a fresh heap", () => {
    const { heap } = makeRig();
    const r = heap.storageReport();
    expect(r.fragmentation).toBe(0);
    expect(r.totalFreeBytes).toBe(r.largestFreeBlock);
  });
});
