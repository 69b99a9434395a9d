import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LeakError, type AllocatorStats } from "@memkit/core";
import { TraceAllocator, type ScopeReport, type TracingLevel } from "../src/index.js";
import { makePages } from "./helpers.js";

// tracing "off" keeps no per-block records, but every Allocator keeps stats:
// an "off" scope counts the backing's usable sizes (backing.allocatedSize).

interface Scope {
  scope: TraceAllocator;
  children: Scope[];
  /** ptr -> bytes the scope counts (usable size when off, size asked otherwise). */
  live: Map<number, number>;
  peak: number;
  allocs: number;
  frees: number;
  reallocs: number;
}

type Op =
  | { kind: "child"; at: number; tracing: TracingLevel }
  | { kind: "alloc"; at: number; size: number; align: number }
  | { kind: "free"; at: number; pick: number }
  | { kind: "realloc"; at: number; pick: number; size: number }
  | { kind: "dispose"; at: number };

const at = fc.nat(1000);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("child" as const), at, tracing: fc.constantFrom<TracingLevel>("off", "off", "counts") }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("alloc" as const), at, size: fc.integer({ min: 0, max: 3000 }), align: fc.constantFrom(1, 8, 64) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("free" as const), at, pick: at }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("realloc" as const), at, pick: at, size: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("dispose" as const), at }) },
);

const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

function expectedStats(m: Scope): AllocatorStats {
  const bytes = sum(m.live);
  return { liveBytes: bytes, liveCount: m.live.size, peakLiveBytes: m.peak, allocCount: m.allocs, freeCount: m.frees, reservedBytes: m.scope.tracing === "off" ? bytes : m.scope.stats().reservedBytes };
}

function totals(m: Scope): { bytes: number; count: number } {
  let bytes = sum(m.live);
  let count = m.live.size;
  for (const c of m.children) {
    const t = totals(c);
    bytes += t.bytes;
    count += t.count;
  }
  return { bytes, count };
}

function verify(m: Scope, report: ScopeReport): void {
  expect(m.scope.stats()).toEqual(expectedStats(m));
  const t = totals(m);
  expect(report).toMatchObject({ path: m.scope.path, liveBytes: sum(m.live), liveCount: m.live.size, totalLiveBytes: t.bytes, totalLiveCount: t.count, reallocCount: m.reallocs });
  if (m.scope.tracing === "off") expect(report.reservedBytes).toBe(sum(m.live));
  expect(report.children.map((c) => c.path)).toEqual(m.children.map((c) => c.scope.path));
  m.children.forEach((c, i) => verify(c, report.children[i]!));
}

describe('tracing "off": true stats from the backing\'s usable sizes', () => {
  it("stats(), report() and subtree totals match a model under random operations, and check() passes (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom<TracingLevel>("off", "counts"), fc.array(opArb, { minLength: 1, maxLength: 80 }), (rootLevel, ops) => {
        const pages = makePages(32 << 20);
        const root: Scope = { scope: new TraceAllocator(pages, { tracing: rootLevel }), children: [], live: new Map(), peak: 0, allocs: 0, frees: 0, reallocs: 0 };
        const all = [root];
        /** Blocks of disposed "off" scopes: they left the counts, but still have to be freed. */
        const dropped: [TraceAllocator, number][] = [];
        let names = 0;
        const counted = (m: Scope, ptr: number, size: number): number => (m.scope.tracing === "off" ? pages.allocatedSize(ptr) : size);
        for (const op of ops) {
          const m = all[op.at % all.length]!;
          if (op.kind === "child") {
            const c: Scope = { scope: m.scope.child(`c${names++}`, { tracing: op.tracing }), children: [], live: new Map(), peak: 0, allocs: 0, frees: 0, reallocs: 0 };
            m.children.push(c);
            all.push(c);
          } else if (op.kind === "alloc") {
            const ptr = m.scope.allocate(op.size, op.align);
            m.live.set(ptr, counted(m, ptr, op.size));
            m.allocs++;
          } else if (op.kind === "free" && m.live.size > 0) {
            const ptr = [...m.live.keys()][op.pick % m.live.size]!;
            m.scope.deallocate(ptr);
            m.live.delete(ptr);
            m.frees++;
          } else if (op.kind === "realloc" && m.live.size > 0) {
            const ptr = [...m.live.keys()][op.pick % m.live.size]!;
            const moved = m.scope.reallocate(ptr, op.size);
            m.live.delete(ptr);
            m.live.set(moved, counted(m, moved, op.size));
            m.reallocs++;
          } else if (op.kind === "dispose" && m !== root && m.children.length === 0 && (m.scope.tracing === "off" || m.live.size === 0)) {
            if (m.live.size > 0) {
              // An "off" scope's leak check works from its counts.
              const err = (() => {
                try {
                  m.scope.dispose();
                } catch (e) {
                  return e;
                }
                return undefined;
              })();
              expect(err).toBeInstanceOf(LeakError);
              expect((err as LeakError).report).toMatchObject({ count: m.live.size, bytes: sum(m.live) });
              expect(m.scope.disposed).toBe(false);
              m.scope.disposeAllowingLeaks(Infinity); // its blocks leave the counts
            } else {
              m.scope.dispose();
            }
            for (const ptr of m.live.keys()) dropped.push([m.scope, ptr]);
            all.splice(all.indexOf(m), 1);
            const parent = all.find((p) => p.children.includes(m))!;
            parent.children.splice(parent.children.indexOf(m), 1);
          }
          m.peak = Math.max(m.peak, sum(m.live));
          root.scope.check();
          verify(root, root.scope.report());
        }
        // Frees through a disposed "off" scope still reach the backing.
        for (const [scope, ptr] of dropped) scope.deallocate(ptr);
        for (const m of all.slice().reverse()) for (const ptr of m.live.keys()) m.scope.deallocate(ptr);
        root.scope.check();
        expect(root.scope.report()).toMatchObject({ totalLiveBytes: 0, totalLiveCount: 0 });
        // What the backing still holds is the tree's own state, which destroy() gives back.
        expect(pages.stats().liveCount).toBe(root.scope.overhead.blocks);
        root.scope.destroy();
        expect(pages.stats().liveCount).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it("an \"off\" root counts the backing's usable sizes: a 1,000-byte request on 256-byte pages counts 1,024", () => {
    const pages = makePages();
    const root = new TraceAllocator(pages, { tracing: "off" });
    const p = root.allocate(1000);
    const q = root.allocate(10);
    expect(root.stats()).toEqual({ liveBytes: 1280, liveCount: 2, peakLiveBytes: 1280, allocCount: 2, freeCount: 0, reservedBytes: 1280 });
    root.deallocate(p);
    expect(root.stats()).toEqual({ liveBytes: 256, liveCount: 1, peakLiveBytes: 1280, allocCount: 2, freeCount: 1, reservedBytes: 256 });
    root.deallocate(q);
    root.check();
  });

  it("an \"off\" scope's teardown is leak-checked from its counts: LeakError with the number and bytes, no block list", () => {
    const pages = makePages();
    const root = new TraceAllocator(pages);
    const audio = root.child("audio", { tracing: "off" });
    const p = audio.allocate(1000);
    audio.allocate(10);
    let err: unknown;
    try {
      audio.dispose();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LeakError);
    const report = (err as LeakError & { report: { untracked: unknown[] } }).report;
    expect(report).toMatchObject({ count: 2, bytes: 1280, blocks: [], untracked: [{ scope: "root/audio", count: 2, bytes: 1280 }] });
    expect((err as Error).message).toContain("scope root/audio leaked 2 blocks (1.25 KiB)");
    expect((err as Error).message).toContain('root/audio: 2 blocks (1.25 KiB usable) at tracing "off", which keeps counts, not a list of blocks');
    expect((err as Error).message).toContain('create the scope with tracing "callstacks"');
    // Nothing changed: the scope still works, and disposes once its blocks are back.
    expect(audio.disposed).toBe(false);
    audio.deallocate(p);
    expect(() => root.dispose()).toThrow(LeakError);
    const rest = audio.allocate(8);
    audio.deallocate(rest);
    expect(audio.stats().liveCount).toBe(1);
    expect(audio.disposeAllowingLeaks(256)).toMatchObject({ count: 1, bytes: 256 });
    root.check();
    root.dispose();
  });
});
