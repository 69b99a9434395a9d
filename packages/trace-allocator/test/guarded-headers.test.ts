import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CorruptionError, InvalidArgumentError, formatCount, hex } from "@memkit/core";
import { fillPattern, findPatternMismatch } from "@memkit/core/testing";
import type { TraceLeakReport } from "../src/index.js";
import { makeRoot, thrown } from "./helpers.js";

/** Header bytes in front of a guarded block. */
const headerOf = (align: number): number => Math.max(16, align);

function corruption(fn: () => unknown): CorruptionError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(CorruptionError);
  expect(err.code).toBe("ERR_CORRUPTION");
  return err as CorruptionError;
}

describe("guardHeaders: every byte between the backing block and the caller's block is verified", () => {
  it("a write at any header byte is found by check(), deallocate and reallocate, at its exact offset (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 8, 16, 64, 256),
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom("check", "deallocate", "reallocate"),
        fc.boolean(),
        (align, size, pick, flip, via, child) => {
          const { root } = makeRoot({ guardHeaders: true, tracing: "callstacks" });
          const scope = child ? root.child("physics") : root;
          const neighbour = scope.allocate(40);
          const p = (function allocateVictim(): number {
            return scope.allocate(size, align);
          })();
          fillPattern(scope, p, size, 3);
          root.check();
          const h = headerOf(align);
          const offset = -1 - (pick % h);
          const u8 = root.space.u8;
          const old = u8[p + offset]!;
          u8[p + offset] = old ^ flip;
          const call = via === "check" ? () => root.check() : via === "deallocate" ? () => scope.deallocate(p) : () => scope.reallocate(p, size + 10, align);
          const err = corruption(call);
          expect(err.message).toContain(`block ${hex(p)} (${formatCount(size)} B, scope ${scope.path}) —`);
          expect(err.message).toContain(`header byte before the block changed at ${offset} (expected 0x`);
          expect(err.message).toContain(`of ${h} header bytes differ`);
          expect(err.message).toMatch(/allocated at allocateVictim \(/);
          if (via === "deallocate") {
            // Freed all the same (as a debug allocator frees a block whose canary broke): nothing stays broken.
            expect(scope.owns(p)).toBe(false);
            expect(scope.stats().liveCount).toBe(1);
          } else {
            // Nothing changed: the block is live with its bytes; repaired, it resizes and frees.
            u8[p + offset] = old;
            expect(scope.owns(p)).toBe(true);
            expect(findPatternMismatch(scope, p, size, 3)).toBe(-1);
            scope.deallocate(scope.reallocate(p, size + 10, align));
          }
          root.check();
          scope.deallocate(neighbour);
          root.check();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a guarded tree passes every check under legal use, across resizes that change the header size", () => {
    const { root, pages } = makeRoot({ guardHeaders: true, tracing: "callstacks" });
    const a = root.child("a");
    root.markFrame(7);
    let p = a.allocate(100);
    expect(pages.allocatedSize(p - 16)).toBeGreaterThanOrEqual(116);
    fillPattern(a, p, 100, 5);
    root.markFrame(8);
    for (const align of [64, 1, 4096, 8, 32]) {
      p = a.reallocate(p, 100, align);
      expect(p % Math.max(8, align)).toBe(0);
      expect(findPatternMismatch(a, p, 100, 5)).toBe(-1);
      root.check();
    }
    // The allocation frame survives every move: it is kept three times in the header.
    const leak = thrown(() => a.dispose()) as Error & { report: TraceLeakReport };
    expect(leak.report.blocks).toMatchObject([{ ptr: p, size: 100, frame: 7 }]);
    a.deallocate(p);
    a.dispose();
    root.check();
  });

  it("an overwritten record index (bytes -5..-8) is named at its offset too, and deallocate still frees the block", () => {
    const { root } = makeRoot({ guardHeaders: true });
    const p = root.allocate(24);
    const q = root.allocate(24);
    root.space.u8[p - 6] = root.space.u8[p - 6]! ^ 0xff;
    expect(root.owns(p)).toBe(false); // the lookup fails: the index no longer names its record
    expect(corruption(() => root.check()).message).toContain(`block ${hex(p)} (24 B, scope root) —\n  header byte before the block changed at -6 (expected 0x`);
    expect(corruption(() => root.allocatedSize(p)).message).toContain("changed at -6");
    expect(corruption(() => root.deallocate(p)).message).toContain("changed at -6");
    expect(root.stats()).toMatchObject({ liveCount: 1, liveBytes: 24, freeCount: 1 });
    root.check();
    root.deallocate(q);
    root.dispose();
  });

  it("without guardHeaders the header stays 8 bytes; the option must be a boolean", () => {
    const { root, pages } = makeRoot();
    const p = root.allocate(100);
    expect(pages.owns(p - 8)).toBe(true);
    root.deallocate(p);
    expect(thrown(() => makeRoot({ guardHeaders: "yes" as never }))).toBeInstanceOf(InvalidArgumentError);
  });
});
