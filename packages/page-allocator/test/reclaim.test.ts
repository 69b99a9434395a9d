import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";

const PAGE = 4096;

/** A page allocator over a space that cannot grow: every page is carved up front by filling it. */
function full(maximumBytes = 1 << 20): { pages: PageAllocator; ones: number[] } {
  const space = AddressSpace.create({ initialBytes: maximumBytes, maximumBytes });
  const pages = new PageAllocator(space, { pageSize: PAGE });
  const ones: number[] = [];
  for (;;) {
    try {
      ones.push(pages.allocate(PAGE));
    } catch {
      return { pages, ones };
    }
  }
}

describe("PageAllocator reclaim", () => {
  it("asks its registered clients to give back cached pages before an allocation fails, then retries once", () => {
    const { pages, ones } = full();
    // A client that caches 16 empty pages (the last 16 one-page spans, contiguous).
    const cached = ones.splice(ones.length - 16);
    let calls = 0;
    const unregister = pages.addReclaimer(() => {
      calls++;
      const bytes = cached.length * PAGE;
      for (const p of cached.splice(0)) pages.deallocate(p);
      return bytes;
    });
    expect(pages.allocate(PAGE)).toBeGreaterThan(0); // reclaimed pages serve it
    expect(calls).toBe(1);
    const big = pages.allocate(15 * PAGE); // the rest of the reclaimed run, no second call needed
    expect(calls).toBe(1);
    pages.check();
    // Nothing cached now: the reclaimer runs, gives nothing back, and the request fails with the usual error.
    expect(() => pages.allocate(PAGE)).toThrow(OutOfMemoryError);
    expect(calls).toBe(2);
    unregister();
    expect(() => pages.allocate(PAGE)).toThrow(OutOfMemoryError);
    expect(calls).toBe(2);
    pages.deallocate(big);
    pages.check();
  });

  it("does not call reclaimers when the request fits, and reclaim() asks every client", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: PAGE });
    const log: string[] = [];
    pages.addReclaimer(() => (log.push("a"), 10));
    const off = pages.addReclaimer(() => (log.push("b"), 20));
    pages.deallocate(pages.allocate(100_000));
    expect(log).toEqual([]);
    expect(pages.reclaim()).toBe(30);
    expect(log).toEqual(["a", "b"]);
    off();
    off(); // idempotent
    expect(pages.reclaim()).toBe(10);
  });

  it("does not re-enter: an allocation made by a reclaimer that fails is not reclaimed for again", () => {
    const { pages } = full();
    let calls = 0;
    pages.addReclaimer(() => {
      calls++;
      expect(() => pages.allocate(PAGE)).toThrow(OutOfMemoryError);
      return 0;
    });
    expect(() => pages.allocate(PAGE)).toThrow(OutOfMemoryError);
    expect(calls).toBe(1);
    pages.check();
  });

  it("finds a free span of exactly the pages asked for in a bin the good-fit search skips", () => {
    // 9 pages file in the bin [8, 9]; a 9-page request is rounded up to the bin [10, 11] on the fast path.
    const { pages, ones } = full();
    const nine = ones.slice(40, 49);
    for (const p of nine) pages.deallocate(p);
    pages.check();
    const span = pages.allocate(9 * PAGE);
    expect(span).toBe(nine[0]);
    expect(pages.allocatedSize(span)).toBe(9 * PAGE);
    pages.check();
  });

  it("coalesces: after any sequence, freeing every span leaves one free span over the carved pages", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60_000 }), fc.nat(1000)), { maxLength: 200 }), (ops) => {
        const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 8 << 20 });
        const pages = new PageAllocator(space, { pageSize: PAGE });
        const live: number[] = [];
        for (const [alloc, size, pick] of ops) {
          if (alloc || live.length === 0) live.push(pages.allocate(size));
          else pages.deallocate(live.splice(pick % live.length, 1)[0]!);
        }
        for (const p of live) pages.deallocate(p);
        pages.check();
        let spans = 0;
        pages.forEachSpan((_p, _bytes, used) => {
          expect(used).toBe(false);
          spans++;
        });
        expect(spans).toBeLessThanOrEqual(1);
        const report = pages.storageReport();
        expect(report.largestFreeBlock).toBe(report.totalFreeBytes);
      }),
      { numRuns: 60 },
    );
  });
});
