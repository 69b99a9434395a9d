import { describe, expect, it } from "vitest";
import { CorruptionError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, SeededRandom, hex } from "@memkit/core";
import { fillPattern, findPatternMismatch } from "@memkit/core/testing";
import { HeapAllocator } from "@memkit/heap-allocator";
import { AddressSpace, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "../src/index.js";
import { makeRoot, thrown } from "./helpers.js";

describe("the 8-byte header in front of each block", () => {
  it("keeps every alignment up to 64 KiB, and allocatedSize is what the caller may use", () => {
    const { root, pages } = makeRoot();
    for (let align = 1; align <= 65536; align *= 2) {
      const p = root.allocate(100, align);
      expect(p % Math.max(align, 8)).toBe(0);
      expect(root.owns(p)).toBe(true);
      const usable = root.allocatedSize(p);
      expect(usable).toBeGreaterThanOrEqual(100);
      // The backing block starts at the header, max(8, align) bytes before p.
      expect(pages.allocatedSize(p - Math.max(8, align))).toBe(usable + Math.max(8, align));
      fillPattern(root, p, 100, align);
      expect(findPatternMismatch(root, p, 100, align)).toBe(-1);
      root.deallocate(p);
    }
    root.check();
  });

  it("align 16 (C's malloc alignment) mixed with align 8 in two scopes: aligned, bytes kept, counts exact, errors typed", () => {
    const { root, pages } = makeRoot();
    const other = root.child("other");
    const rng = new SeededRandom(0x16);
    const live: { p: number; size: number; align: number; scope: typeof root }[] = [];
    const bytes = new Map<typeof root, number>([
      [root, 0],
      [other, 0],
    ]);
    for (let step = 0; step < 4000; step++) {
      if (live.length > 0 && rng.int(0, 2) === 0) {
        const [b] = live.splice(rng.int(0, live.length - 1), 1);
        expect(findPatternMismatch(root, b!.p, b!.size, b!.p)).toBe(-1);
        b!.scope.deallocate(b!.p);
        bytes.set(b!.scope, bytes.get(b!.scope)! - b!.size);
        continue;
      }
      const scope = rng.int(0, 1) === 0 ? root : other;
      const align = rng.int(0, 1) === 0 ? 16 : 8;
      const size = rng.int(1, 300);
      const p = scope.allocate(size, align);
      expect(p % align).toBe(0);
      // The backing block starts at a header as large as the alignment (256-byte pages: align 16 lands on 16).
      expect(pages.allocatedSize(p - Math.max(8, align))).toBe(scope.allocatedSize(p) + Math.max(8, align));
      fillPattern(root, p, size, p);
      live.push({ p, size, align, scope });
      bytes.set(scope, bytes.get(scope)! + size);
      expect(scope.stats().liveBytes).toBe(bytes.get(scope));
    }
    const b = live.find((x) => x.align === 16)!;
    const thief = b.scope === root ? other : root;
    expect(thrown(() => thief.deallocate(b.p))).toBeInstanceOf(InvalidPointerError);
    b.scope.deallocate(b.p);
    expect(thrown(() => b.scope.deallocate(b.p))).toBeInstanceOf(DoubleFreeError);
    live.splice(live.indexOf(b), 1);
    root.check();
    for (const x of live) {
      expect(findPatternMismatch(root, x.p, x.size, x.p)).toBe(-1);
      x.scope.deallocate(x.p);
    }
    expect(root.stats().liveBytes + other.stats().liveBytes).toBe(0);
    root.check();
  });

  it("align 16 asks the backing for an 8-aligned block: the header is 8 or 16 bytes by where it lands, and reallocate slides the bytes when that changes", () => {
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20 });
    const heap = new HeapAllocator(new PageAllocator(space));
    // The alignments the scope asks the backing for (HeapAllocator serves align 8 on its fast path).
    const asked: number[] = [];
    const allocate = heap.allocate.bind(heap);
    const reallocate = heap.reallocate.bind(heap);
    heap.allocate = (size: number, align?: number) => (asked.push(align ?? 8), allocate(size, align));
    heap.reallocate = (ptr: number, size: number, align?: number) => (asked.push(align ?? 8), reallocate(ptr, size, align));
    const root = new TraceAllocator(heap);
    const labelled = root.child("labelled");
    const label = labelled.labelId("C heap");
    const rng = new SeededRandom(0x1616);
    const live: { p: number; size: number; seed: number; scope: TraceAllocator }[] = [];
    const headers = new Set<number>();
    let slides = 0;
    let bytes = 0;
    const headerOf = (p: number): number => root.originOf(p - 8)?.ptr === p ? 8 : (expect(root.originOf(p - 16)?.ptr).toBe(p), 16);
    for (let step = 0; step < 3000; step++) {
      const roll = rng.int(0, 9);
      if (live.length > 0 && roll < 3) {
        const [b] = live.splice(rng.int(0, live.length - 1), 1);
        expect(findPatternMismatch(root, b!.p, b!.size, b!.seed)).toBe(-1);
        b!.scope.deallocate(b!.p);
        bytes -= b!.size;
      } else if (live.length > 0 && roll < 6) {
        const b = live[rng.int(0, live.length - 1)]!;
        const before = headerOf(b.p);
        const size = rng.int(1, 600);
        const p = b.scope.reallocate(b.p, size, 16);
        expect(p % 16).toBe(0);
        expect(findPatternMismatch(root, p, Math.min(size, b.size), b.seed)).toBe(-1);
        if (headerOf(p) !== before) slides++;
        bytes += size - b.size;
        b.p = p;
        b.size = size;
        fillPattern(root, p, size, b.seed);
      } else {
        const scope = rng.int(0, 3) === 0 ? labelled : root;
        const size = rng.int(1, 600);
        const p = scope === labelled ? scope.allocate(size, 16, label) : scope.allocate(size, 16);
        expect(p % 16).toBe(0);
        headers.add(headerOf(p));
        const seed = rng.int(1, 1 << 30);
        fillPattern(root, p, size, seed);
        live.push({ p, size, seed, scope });
        bytes += size;
      }
      expect(root.report().totalLiveBytes).toBe(bytes);
    }
    // (The tree's own tables ask for 64.)
    expect(asked.filter((align) => align === 16)).toEqual([]);
    expect(asked.filter((align) => align === 8).length).toBeGreaterThan(1000);
    expect(headers).toEqual(new Set([8, 16]));
    expect(slides).toBeGreaterThan(0);
    // A reallocate the backing refuses changes nothing.
    const kept = live[0]!;
    expect(thrown(() => kept.scope.reallocate(kept.p, 200 << 20, 16))).toBeInstanceOf(OutOfMemoryError);
    expect(findPatternMismatch(root, kept.p, kept.size, kept.seed)).toBe(-1);
    expect(root.report().totalLiveBytes).toBe(bytes);
    root.check();
    for (const b of live) {
      expect(findPatternMismatch(root, b.p, b.size, b.seed)).toBe(-1);
      b.scope.deallocate(b.p);
    }
    labelled.dispose();
    root.check();
    root.dispose();
  });

  it("reallocate across header sizes (align 8 -> 4096 -> 1) keeps the bytes and the allocation frame", () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    root.markFrame(42);
    let p = root.allocate(300);
    fillPattern(root, p, 300, 9);
    root.markFrame(43);
    p = root.reallocate(p, 500, 4096);
    expect(p % 4096).toBe(0);
    expect(findPatternMismatch(root, p, 300, 9)).toBe(-1);
    p = root.reallocate(p, 200, 1);
    expect(findPatternMismatch(root, p, 200, 9)).toBe(-1);
    const leak = thrown(() => root.dispose()) as Error & { report: { blocks: { frame: number; size: number }[] } };
    expect(leak.report.blocks).toMatchObject([{ size: 200, frame: 42 }]);
    root.deallocate(p);
    root.check();
  });

  it("an overwritten header is reported as corruption, not as a foreign pointer, and check() finds it", () => {
    const { root } = makeRoot();
    const a = root.allocate(64);
    const b = root.allocate(64);
    const i32 = root.space.i32;
    const saved = i32[(b - 8) >> 2]!;
    i32[(b - 8) >> 2] = 0x41414141; // an underflow of b
    const err = thrown(() => root.deallocate(b));
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.message).toContain(`deallocate(${hex(b)}): the 8-byte header in front of this live block (64 B, scope root) was overwritten`);
    expect(() => root.check()).toThrow(CorruptionError);
    i32[(b - 8) >> 2] = saved;
    root.check();
    root.deallocate(b);
    root.deallocate(a);
  });

  it("follows the space as it grows (headers are written through a view refreshed on growth)", () => {
    const { root, pages } = makeRoot({}, 64 << 20);
    const before = pages.space.byteLength;
    const blocks = Array.from({ length: 64 }, () => root.allocate(64 << 10));
    expect(pages.space.byteLength).toBeGreaterThan(before);
    root.check();
    for (const p of blocks) root.deallocate(p);
    root.check();
  });

  it("destroy() belongs to the root", () => {
    const { root } = makeRoot();
    const child = root.child("c");
    expect(thrown(() => child.destroy())).toBeInstanceOf(InvalidArgumentError);
    child.dispose();
    root.dispose();
    root.destroy();
  });
});
