import { AllocatorError, CONTROL_BLOCK_HEADER_WORDS, CorruptionError, DestroyedError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, SpaceHandle, hex } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";
import { describe, expect, it } from "vitest";
import {
  FREE,
  MIN_BLOCK,
  PREV_FREE,
  SIZE_MASK,
  SPAN_AREA_W,
  SPAN_COLOR_MASK,
  SPAN_FIRST_W,
  W_PAGES_CONTROL,
  SPAN_FLAGS_W,
  W_FL_MAP,
  W_HEADS,
  W_LIVE,
  W_PEAK,
  W_SL_MAP,
  bitmapBias,
  firstPayloadOffset,
} from "../src/layout.js";
import { blocksOf, freeBlocksOf, makeRig, thrown } from "./helpers.js";

/** Bytes a request of `size` occupies (header included, rounded to 8, at least MIN_BLOCK). */
const blockBytes = (size: number): number => Math.max(MIN_BLOCK, (size + 4 + 7) & -8);

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

describe("spans", () => {
  it("leases spans as it grows and returns empty ones, keeping the home span and one cached", () => {
    const { heap, pages } = makeRig({ spanBytes: 16 << 10 });
    const base = pages.stats();
    const ptrs = Array.from({ length: 64 }, () => heap.allocate(4000));
    const grown = heap.stats().reservedBytes;
    expect(grown).toBeGreaterThan(10 * (16 << 10));
    heap.check();
    for (const p of ptrs) heap.deallocate(p);
    heap.check();
    const s = heap.stats();
    expect(s.reservedBytes).toBeLessThanOrEqual(2 * (16 << 10));
    expect(pages.stats().liveCount).toBe(base.liveCount + 1); // the home span was counted in base; one more stays cached
    let heapSpans = 0;
    pages.forEachSpan((_p, _b, used, tag) => {
      if (used && tag >>> 24 === heap.ownerId) heapSpans++;
    });
    expect(heapSpans).toBe(s.reservedBytes / (16 << 10));
  });

  it("reuses the cached empty span instead of leasing again", () => {
    const { heap, pages } = makeRig({ spanBytes: 16 << 10 });
    const fill = heap.allocate(heap.storageReport().largestFreeBlock);
    const p = heap.allocate(4000); // leases a second span
    const leases = pages.stats().allocCount;
    for (let i = 0; i < 10; i++) {
      heap.deallocate(heap.allocate(4000));
    }
    heap.deallocate(p); // the span empties and stays cached
    expect(heap.allocate(4000)).toBe(p);
    expect(pages.stats().allocCount).toBe(leases);
    heap.deallocate(fill);
    heap.check();
  });

  it("leases an oversized span for a large request and returns it when freed", () => {
    const { heap } = makeRig({ spanBytes: 16 << 10 });
    const before = heap.stats().reservedBytes;
    const big = heap.allocate(200_000);
    expect(heap.stats().reservedBytes).toBeGreaterThanOrEqual(before + 200_000);
    heap.check();
    heap.deallocate(big);
    expect(heap.stats().reservedBytes).toBe(before);
    heap.check();
  });

  it("throws OutOfMemoryError naming the size when the space is exhausted, and keeps working", () => {
    const { heap } = makeRig({ maximumBytes: 2 << 20, spanBytes: 64 << 10 });
    const p = heap.allocate(1000);
    const err = thrown(() => heap.allocate(4 << 20));
    expect(err.code).toBe("ERR_OUT_OF_MEMORY");
    expect(err.message).toContain("4,194,304 B (4.00 MiB)");
    expect(thrown(() => heap.allocate(2 ** 31)).message).toContain("page allocator");
    heap.deallocate(p);
    heap.check();
    expect(heap.allocate(1000)).toBe(p);
  });

  it("destroy() returns every span and leaves a handle that refuses work", () => {
    const { heap, pages } = makeRig({ spanBytes: 16 << 10 });
    const base = pages.stats().liveCount;
    const p = heap.allocate(100);
    for (let i = 0; i < 20; i++) heap.allocate(3000);
    expect(pages.stats().liveCount).toBeGreaterThan(base);
    heap.destroy();
    heap.destroy();
    expect(pages.stats().liveCount).toBe(base - 1); // the home span was leased before `base` was read
    pages.check();
    expect(() => heap.allocate(10)).toThrow(AllocatorError);
    expect(() => heap.allocate(10, 64)).toThrow(AllocatorError);
    expect(() => heap.deallocate(p)).toThrow(AllocatorError);
    expect(heap.owns(p)).toBe(false);
    expect(() => heap.stats()).toThrow(DestroyedError);
    expect(() => heap.storageReport()).toThrow(DestroyedError);
    expect(() => heap.check()).toThrow(DestroyedError);
    expect(() => HeapAllocator.attach(pages.space, heap.controlPtr)).toThrow(/was destroyed|no HeapAllocator control block/);
  });
});

describe("attach", () => {
  it("gives a second handle on the same heap: state lives in linear memory", () => {
    const { heap, pages, space } = makeRig({ spanBytes: 16 << 10 });
    const a = heap.allocate(100);
    const twin = HeapAllocator.attach(space, heap.controlPtr, { name: "twin" });
    expect(twin.name).toBe("twin");
    expect(twin.pages).toBe(pages); // this thread's live handle on the page allocator the heap records
    expect(twin.ownerId).toBe(heap.ownerId);
    expect(twin.spanBytes).toBe(heap.spanBytes);
    expect(twin.owns(a)).toBe(true);
    expect(twin.allocatedSize(a)).toBe(100);
    const b = twin.allocate(50_000); // leases a span through the twin
    expect(heap.owns(b)).toBe(true);
    heap.deallocate(b);
    expect(() => twin.deallocate(b)).toThrow(InvalidPointerError); // its span went back to the pages
    twin.deallocate(a);
    expect(() => heap.deallocate(a)).toThrow();
    expect(heap.stats()).toEqual(twin.stats());
    heap.check();
    twin.check();
    twin.detach();
    expect(() => twin.allocate(8)).toThrow(DestroyedError);
    expect(heap.allocate(8)).toBeGreaterThan(0); // detaching a handle leaves the heap alone
    heap.check();
  });

  it("names itself as the heap registered with its page allocator, and attaches a page allocator handle (shared, left alive) when the thread has none", () => {
    const { heap, pages, space } = makeRig({ name: "physics" });
    const p = heap.allocate(1000);
    heap.detach();
    pages.detach();
    expect(SpaceHandle.lookup(space, pages.controlPtr, PageAllocator)).toBeUndefined();
    const again = HeapAllocator.attach(space, heap.controlPtr);
    expect(again.name).toBe("physics");
    expect(again.pages.alive).toBe(true);
    expect(again.pages.controlPtr).toBe(pages.controlPtr);
    expect(again.allocatedSize(p)).toBe(1004);
    again.check();
    again.detach();
    // The page handle it attached is shared with whatever attaches next in this thread: the heap does not end it.
    expect(again.pages.alive).toBe(true);
    expect(SpaceHandle.lookup(space, pages.controlPtr, PageAllocator)).toBe(again.pages);
  });

  it("refuses a pointer that is not a heap control block, a destroyed heap, or another page allocator", () => {
    const { heap, pages, space } = makeRig();
    const elsewhere = makeRig({ pageSize: 1024 }); // (an identical rig would hold an identical heap at the same address)
    expect(() => HeapAllocator.attach(space, heap.controlPtr + 8)).toThrow(CorruptionError);
    expect(() => HeapAllocator.attach(space, 0)).toThrow(CorruptionError);
    expect(() => HeapAllocator.attach(space, -4)).toThrow(CorruptionError);
    expect(() => HeapAllocator.attach(space, "8" as unknown as number)).toThrow(InvalidArgumentError);
    expect(() => HeapAllocator.attach(elsewhere.space, heap.controlPtr)).toThrow(CorruptionError); // another memory: no heap there
    expect(() => HeapAllocator.attach(space, heap.controlPtr, { pages: elsewhere.pages })).toThrow(InvalidArgumentError);
    const second = new HeapAllocator(pages);
    expect(second.controlPtr).not.toBe(heap.controlPtr);
    second.destroy();
    expect(() => HeapAllocator.attach(space, second.controlPtr)).toThrow(/was destroyed/);
  });

  it("refuses damage to the control block with CorruptionError saying what it found", () => {
    const { heap, space } = makeRig();
    heap.allocate(100);
    const w = heap.controlPtr >>> 2;
    const damage = (word: number, value: number, expected: RegExp): void => {
      const saved = space.u32[w + word]!;
      space.u32[w + word] = value;
      expect(() => HeapAllocator.attach(space, heap.controlPtr)).toThrow(expected);
      space.u32[w + word] = saved;
    };
    damage(5, heap.ownerId + 1, /seal/); // the owner id: a fixed word
    damage(W_LIVE, 0x7fff_ffff, /liveBytes/);
    damage(W_FL_MAP, 0xffff_ffff, /flMap/);
    damage(11, 3, /firstSpan/);
    // A list head wiped while its bitmap bit stays set would hand out pointer 0; one pointing outside the heap, a foreign block.
    const b = heap.allocate(100);
    heap.allocate(100);
    heap.deallocate(b); // a free block of its own class
    const head = [...Array(24 * 32).keys()].find((i) => space.u32[w + W_HEADS + i] === b)!;
    damage(W_HEADS + head, 0, /marked non-empty with no block/);
    damage(W_HEADS + head, 8, /not in a span of this heap/);
    damage(W_SL_MAP, 0, /disagree|marked empty/);
    HeapAllocator.attach(space, heap.controlPtr).check();
  });

  it("check() after attach catches wiped page tags and a zeroed span header", () => {
    const { heap, pages, space } = makeRig({ spanBytes: 16 << 10 });
    const p = heap.allocate(30_000); // a span of its own
    heap.detach();
    const base = ((pages.tagOf(p) & 0xff_ffff) << pages.pageShift) >>> 0;
    const tags = pages.tagWordBase + base / 4096;
    const spanPages = pages.allocatedSize(base) / 4096;
    const saved = space.u32.slice(tags, tags + spanPages);
    // All but the last page lose their tags (the last holds the span's free tail, a list head attach looks at).
    space.u32.fill(0, tags, tags + spanPages - 1);
    const again = HeapAllocator.attach(space, heap.controlPtr);
    expect(() => again.check()).toThrow(/page tag is 0x00000000/);
    space.u32.set(saved, tags);
    again.check();
    const header = space.u32.slice(base >>> 2, (base >>> 2) + 8);
    space.u32.fill(0, base >>> 2, (base >>> 2) + 8); // a zeroed span header
    expect(() => again.check()).toThrow(/span header magic/);
    space.u32.set(header, base >>> 2);
    again.check();
    again.deallocate(p);
  });

  it("destroy through one handle ends every handle of the thread", () => {
    const { heap, space } = makeRig();
    const twin = HeapAllocator.attach(space, heap.controlPtr);
    const p = twin.allocate(10);
    twin.destroy();
    expect(heap.alive).toBe(false);
    expect(() => heap.deallocate(p)).toThrow(DestroyedError);
    expect(() => heap.allocate(8)).toThrow(DestroyedError);
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

describe("check()", () => {
  /** A heap with used and free blocks, plus helpers to poke its memory. */
  function corruptible() {
    const rig = makeRig();
    const { heap, pages, space } = rig;
    const used = [heap.allocate(100), heap.allocate(200), heap.allocate(300), heap.allocate(400), heap.allocate(500)];
    heap.deallocate(used[1]!);
    heap.deallocate(used[3]!);
    heap.check();
    const word = (ptr: number): number => ptr >>> 2;
    const poke = (index: number, value: number, expected: RegExp | string): void => {
      const u32 = space.u32;
      const saved = u32[index]!;
      u32[index] = value;
      const err = thrown(() => heap.check());
      u32[index] = saved;
      expect(err).toBeInstanceOf(CorruptionError);
      if (typeof expected === "string") expect(err.message).toContain(expected);
      else expect(err.message).toMatch(expected);
      heap.check(); // restored
    };
    const base = ((pages.tagOf(used[0]!) & 0xff_ffff) << pages.pageShift) >>> 0;
    return { ...rig, used, word, poke, base, bias: bitmapBias(base) };
  }

  it("catches a header with the reserved bit set, or a wrong size", () => {
    const { used, word, poke, space } = corruptible();
    const h = space.u32[word(used[0]!) - 1]!;
    poke(word(used[0]!) - 1, h | 4, `${hex(used[0]!)}: block header ${hex(h | 4)} has the reserved bit set`);
    poke(word(used[0]!) - 1, h + 8, hex(used[0]! + blockBytes(100) + 8)); // the walk lands mid-block, past the header it trusted
    poke(word(used[4]!) - 1, 0x4000_0000, `${hex(used[4]!)}: block header`);
  });

  it("catches a wrong PREV_FREE bit, a wrong free bit and a broken footer", () => {
    const { used, word, poke, space } = corruptible();
    const h2 = space.u32[word(used[2]!) - 1]!;
    expect(h2 & PREV_FREE).toBe(PREV_FREE); // used[1] is free
    poke(word(used[2]!) - 1, h2 & ~PREV_FREE, `${hex(used[2]!)}: PREV_FREE bit is clear but the block to the left is free`);
    const h0 = space.u32[word(used[0]!) - 1]!;
    poke(word(used[0]!) - 1, h0 | FREE, `${hex(used[0]!)}:`);
    const free = used[1]!;
    const size = space.u32[word(free) - 1]! & SIZE_MASK;
    poke(word(free + size) - 2, 12345, `${hex(free)}: free block's footer holds`);
    poke(word(free) + 2, 7, `${hex(free)}: free block's bitmap bias`);
  });

  it("catches broken free-list links and size-class bitmaps", () => {
    const { used, word, poke, heap } = corruptible();
    const free = used[1]!;
    poke(word(free), used[3]!, `${hex(free)}: free-list back link`);
    poke(word(free) + 1, used[0]!, `${hex(used[0]!)}: listed in size class`);
    const r = heap.controlPtr >>> 2;
    poke(r + W_FL_MAP, 0, "first-level bit");
    poke(r + W_SL_MAP, 0xffff_ffff, "bitmap bit of size class (0, 0)");
    poke(r + W_HEADS + 5, used[0]!, "bitmap bit of size class (0, 5)");
  });

  it("catches a missing or stray block-start bit", () => {
    const { used, poke, bias, space } = corruptible();
    const p = used[2]!;
    const w = bias + (p >>> 8);
    const bits = space.u32[w]!;
    poke(w, bits & ~(1 << ((p >>> 3) & 31)), `${hex(p)}: block start is missing from the span's bitmap`);
    const w8 = bias + ((p + 8) >>> 8);
    poke(w8, space.u32[w8]! | (1 << (((p + 8) >>> 3) & 31)), `${hex(p + 8)}: the span's bitmap marks a block start where no block starts`);
  });

  it("catches broken span headers, counters and page tags", () => {
    const { heap, poke, base, pages } = corruptible();
    poke(base >>> 2, 0, `${hex(base)}: span header magic`);
    poke((base >>> 2) + SPAN_AREA_W, 8, `${hex(base)}: span header says first block`);
    const r = heap.controlPtr >>> 2;
    poke(r + W_LIVE, 1, "counters say");
    poke(r + W_PEAK, 0, "peakLiveBytes");
    poke(r, 0, `${hex(heap.controlPtr)}: control block header`);
    poke(pages.tagWordBase + (base >>> pages.pageShift) + 1, 0, `${hex(base + pages.pageSize)}: page tag is`);
  });
});
