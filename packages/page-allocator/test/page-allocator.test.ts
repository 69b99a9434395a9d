import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, CorruptionError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, OutOfMemoryError, SeededRandom } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";

const KiB = 1024;

function make(pageSize = 4096, initialBytes = 1 << 20, maximumBytes = 16 << 20): { space: AddressSpace; pages: PageAllocator } {
  const space = AddressSpace.create({ initialBytes, maximumBytes });
  return { space, pages: new PageAllocator(space, { pageSize }) };
}

describe("PageAllocator", () => {
  it("rounds sizes up to whole pages and aligns spans to pages", () => {
    const { pages } = make();
    const a = pages.allocate(1);
    const b = pages.allocate(4096);
    const c = pages.allocate(4097);
    const z = pages.allocate(0);
    expect([a, b, c, z].every((p) => p % 4096 === 0)).toBe(true);
    expect(pages.allocatedSize(a)).toBe(4096);
    expect(pages.allocatedSize(b)).toBe(4096);
    expect(pages.allocatedSize(c)).toBe(8192);
    expect(pages.allocatedSize(z)).toBe(4096);
    expect(pages.stats()).toMatchObject({ liveCount: 4, liveBytes: 5 * 4096, allocCount: 4 });
    pages.check();
  });

  it("never hands out page 0 or its own control block", () => {
    const { pages } = make();
    const first = pages.allocate(1);
    expect(first).toBeGreaterThanOrEqual(pages.controlPtr + PageAllocator.controlBytes(16 << 20, 4096));
    expect(pages.range.start).toBe(first);
    expect(pages.owns(0)).toBe(false);
    expect(() => pages.deallocate(pages.controlPtr)).toThrow(InvalidPointerError);
  });

  it("coalesces a freed span with both free neighbours into one span", () => {
    const { pages } = make();
    const [a, b, c, d] = [pages.allocate(4096), pages.allocate(8192), pages.allocate(4096), pages.allocate(4096)];
    pages.deallocate(a);
    pages.deallocate(c);
    const spansBefore: boolean[] = [];
    pages.forEachSpan((_p, _bytes, used) => spansBefore.push(used));
    expect(spansBefore).toEqual([false, true, false, true]);
    pages.deallocate(b);
    const spans: [number, number, boolean][] = [];
    pages.forEachSpan((p, bytes, used) => spans.push([p, bytes, used]));
    expect(spans).toEqual([
      [a, 4 * 4096, false],
      [d, 4096, true],
    ]);
    pages.check();
    // The merged span serves a request that needs all of it, at the same place.
    expect(pages.allocate(4 * 4096)).toBe(a);
    pages.check();
  });

  it("detects double frees even after the freed span merged into a neighbour", () => {
    const { pages } = make();
    const a = pages.allocate(4096);
    const b = pages.allocate(4096);
    pages.allocate(4096);
    pages.deallocate(a);
    pages.deallocate(b); // merges into a's free span: b's head is now interior
    expect(() => pages.deallocate(b)).toThrow(DoubleFreeError);
    expect(() => pages.deallocate(a)).toThrow(DoubleFreeError);
    expect(() => pages.deallocate(a + 4096 * 1)).toThrow(/already freed/);
    pages.check();
  });

  it("rejects interior and out-of-range pointers with messages naming the pointer", () => {
    const { pages } = make();
    const a = pages.allocate(3 * 4096);
    expect(() => pages.deallocate(a + 4096)).toThrow(/inside a span, not at its start/);
    expect(() => pages.deallocate(a + 8)).toThrow(/not at the start of a 4.00 KiB page/);
    expect(() => pages.deallocate(64 << 20)).toThrow(/outside the pages it hands out/);
    expect(() => pages.allocatedSize(a + 4096)).toThrow(InvalidPointerError);
    expect(pages.owns(a + 4096)).toBe(false);
    expect(pages.owns(a)).toBe(true);
  });

  it("grows the memory on demand, and fails past the maximum with reserved/free figures, changing nothing", () => {
    const { space, pages } = make(65536, 1 << 20, 4 << 20);
    const blocks: number[] = [];
    for (let i = 0; i < 3; i++) blocks.push(pages.allocate(1 << 20));
    expect(space.byteLength).toBeGreaterThan(1 << 20);
    const before = pages.stats();
    expect(() => pages.allocate(1 << 20)).toThrow(OutOfMemoryError);
    expect(() => pages.allocate(1 << 20)).toThrow(/3.00 MiB live in 3 spans, .* reserved, .* free in carved pages, 4.00 MiB maximum/);
    expect(pages.stats()).toEqual(before);
    pages.check();
    pages.deallocate(blocks[1]!);
    expect(pages.allocate(1 << 20)).toBe(blocks[1]);
  });

  it("extends a free span at the top of the carved region instead of leaving it stranded", () => {
    const { pages } = make();
    const a = pages.allocate(4096);
    const b = pages.allocate(2 * 4096);
    pages.deallocate(b);
    const c = pages.allocate(8 * 4096);
    expect(c).toBe(b);
    expect(pages.stats().reservedBytes).toBe(9 * 4096);
    pages.deallocate(a);
    pages.deallocate(c);
    pages.check();
  });

  it("aligns spans above the page size and returns the front gap to the free lists", () => {
    const { pages } = make(4096);
    pages.allocate(4096);
    const p = pages.allocate(100, 65536);
    expect(p % 65536).toBe(0);
    expect(pages.allocatedSize(p)).toBe(4096);
    pages.check();
    const report = pages.storageReport();
    expect(report.totalFreeBytes).toBeGreaterThan(0);
    expect(report.largestFreeBlock).toBeLessThan(65536);
  });

  it("reallocates in place when shrinking and when the right neighbour is free", () => {
    const { space, pages } = make();
    const a = pages.allocate(4 * 4096);
    const guard = pages.allocate(4096);
    space.u8[a + 3] = 77;
    expect(pages.reallocate(a, 4096)).toBe(a);
    expect(pages.allocatedSize(a)).toBe(4096);
    expect(pages.reallocate(a, 3 * 4096)).toBe(a);
    expect(space.u8[a + 3]).toBe(77);
    pages.check();
    const moved = pages.reallocate(a, 8 * 4096);
    expect(moved).not.toBe(a);
    expect(space.u8[moved + 3]).toBe(77);
    expect(() => pages.deallocate(a)).toThrow(DoubleFreeError);
    pages.deallocate(guard);
    pages.deallocate(moved);
    expect(pages.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, allocCount: 2, freeCount: 2 });
    pages.check();
  });

  it("tags every page of a span, answers tagOf for any address inside, and clears tags on free", () => {
    const { pages } = make();
    const heap = pages.registerOwner("heap");
    const slots = pages.registerOwner("slots");
    expect([heap, slots]).toEqual([1, 2]);
    expect(pages.ownerName(slots)).toBe("slots");
    const span = pages.allocate(3 * 4096);
    pages.setTag(span, heap, 0x1234);
    for (const addr of [span, span + 1, span + 4096 + 17, span + 3 * 4096 - 1]) expect(pages.tagOf(addr)).toBe((heap << 24) | 0x1234);
    expect(pages.tagOf(span + 3 * 4096)).toBe(0);
    expect(pages.tagOf(-5)).toBe(0);
    expect(pages.tagOf(2 ** 31)).toBe(0);
    const grown = pages.reallocate(span, 5 * 4096);
    expect(pages.tagOf(grown + 4 * 4096)).toBe((heap << 24) | 0x1234);
    pages.deallocate(grown);
    expect(pages.tagOf(grown)).toBe(0);
    expect(() => pages.setTag(grown, heap)).toThrow(DoubleFreeError);
    const live = pages.allocate(1);
    expect(() => pages.setTag(live, 256)).toThrow(InvalidArgumentError);
    expect(() => pages.setTag(live, 1, 1 << 24)).toThrow(InvalidArgumentError);
    pages.check();
  });

  it("check() catches a corrupted page map", () => {
    const { space, pages } = make();
    const a = pages.allocate(2 * 4096);
    pages.allocate(4096);
    const stateWord = pages.tagWordBase - (16 << 20) / 4096 + (a >>> 12); // the state array sits right before the tags
    const saved = space.u32[stateWord]!;
    space.u32[stateWord] = saved + 1;
    expect(() => pages.check()).toThrow(CorruptionError);
    expect(() => pages.check()).toThrow(/page map corrupt at page/);
    space.u32[stateWord] = saved;
    pages.check();
  });

  it("storageReport explains free memory: total, largest, histogram, fragmentation", () => {
    const { pages } = make();
    const spans = Array.from({ length: 8 }, () => pages.allocate(4096));
    pages.deallocate(spans[1]!);
    pages.deallocate(spans[3]!);
    pages.deallocate(spans[4]!);
    const r = pages.storageReport();
    expect(r.totalFreeBytes).toBe(3 * 4096);
    expect(r.largestFreeBlock).toBe(2 * 4096);
    expect(r.freeHistogram[12]).toBe(1);
    expect(r.freeHistogram[13]).toBe(1);
    expect(r.fragmentation).toBeCloseTo(1 / 3);
    expect(r.usedBytes).toBe(5 * 4096);
  });

  it("attach() gives a second handle on the same control block and refuses a wrong one", () => {
    const { space, pages } = make();
    const a = pages.allocate(4096);
    const other = PageAllocator.attach(space, pages.controlPtr);
    expect(other.owns(a)).toBe(true);
    expect(other.pageSize).toBe(4096);
    const b = other.allocate(4096);
    expect(pages.owns(b)).toBe(true);
    pages.check();
    expect(() => PageAllocator.attach(space, pages.controlPtr + 8)).toThrow(/no PageAllocator control block at 0x00001008: found magic/);
  });

  it("rejects bad options", () => {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 1 << 20 });
    expect(() => new PageAllocator(space, { pageSize: 1000 })).toThrow(/pageSize must be a power of two/);
    expect(() => new PageAllocator(space, { pageSize: 128 })).toThrow(InvalidArgumentError);
    expect(() => new PageAllocator(space, { controlPtr: 3 })).toThrow(/controlPtr/);
    expect(() => new PageAllocator(space, { controlPtr: 4096, firstByte: 4096 })).toThrow(/firstByte/);
  });

  it("keeps its views across memory growth (a span written after a grow reads back)", () => {
    const { space, pages } = make(65536, 65536 * 4, 64 << 20);
    const a = pages.allocate(1000);
    space.u8[a] = 1;
    const big = pages.allocate(8 << 20);
    space.u8[big + (8 << 20) - 1] = 2;
    expect(space.u8[a]).toBe(1);
    pages.deallocate(big);
    pages.check();
  });

  it("matches a model of live spans over random sequences (fast-check)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(9), fc.integer({ min: 0, max: 40_000 }), fc.nat(1000)), { maxLength: 300 }), (ops) => {
        const { space, pages } = make(4096, 1 << 20, 8 << 20);
        const live = new Map<number, number>();
        let stamp = 1;
        for (const [kind, size, pick] of ops) {
          const keys = [...live.keys()];
          if (kind < 5 || keys.length === 0) {
            const p = pages.allocate(size);
            expect(live.has(p)).toBe(false);
            live.set(p, stamp);
            space.u32[p >>> 2] = stamp++;
          } else if (kind < 8) {
            const p = keys[pick % keys.length]!;
            expect(space.u32[p >>> 2]).toBe(live.get(p));
            pages.deallocate(p);
            live.delete(p);
          } else {
            const p = keys[pick % keys.length]!;
            const q = pages.reallocate(p, size);
            expect(space.u32[q >>> 2]).toBe(live.get(p));
            live.delete(p);
            live.set(q, space.u32[q >>> 2]!);
          }
        }
        pages.check();
        expect(pages.stats().liveCount).toBe(live.size);
        for (const [p, s] of live) expect(space.u32[p >>> 2]).toBe(s);
      }),
      { numRuns: 60 },
    );
  });

  it("survives a long seeded sequence with check() along the way", () => {
    const { space, pages } = make(4096, 1 << 20, 64 << 20);
    const rng = new SeededRandom(99);
    const live: number[] = [];
    for (let op = 0; op < 50_000; op++) {
      if (live.length === 0 || rng.chance(0.52)) {
        const p = pages.allocate(rng.logUniform(1, 64 * KiB), rng.chance(0.05) ? 65536 : 8);
        space.u8[p] = p & 0xff;
        live.push(p);
      } else {
        const i = rng.int(0, live.length - 1);
        const p = live[i]!;
        expect(space.u8[p]).toBe(p & 0xff);
        pages.deallocate(p);
        live[i] = live[live.length - 1]!;
        live.pop();
      }
      if (op % 5000 === 0) pages.check();
    }
    for (const p of live) pages.deallocate(p);
    pages.check();
    expect(pages.storageReport().fragmentation).toBe(0);
  });
});
