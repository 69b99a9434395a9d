import { describe, expect, it } from "vitest";
import { HOSTILE_ARGUMENTS as HOSTILE, thrownBy as thrown } from "@memkit/core/testing";
import { DestroyedError, InvalidArgumentError, InvalidPointerError } from "@memkit/core";
import { FrameAllocator, ScratchAllocator, type ScratchMark } from "@memkit/temp-allocator";
import { makePages } from "./helpers.js";

type AnyFn = (...args: unknown[]) => unknown;

describe("temp allocators with hostile arguments", () => {
  it("give typed errors for BigInt, Symbol and other non-numbers on every entry point, and stay whole", () => {
    const pages = makePages();
    const scratch = new ScratchAllocator(pages, { chunkBytes: 4096 });
    const frame = new FrameAllocator(pages, { chunkBytes: 4096, debug: true });
    frame.beginFrame();
    const mark = scratch.mark();
    const s = scratch.allocate(100);
    const f = frame.allocate(100);
    pages.space.u8.fill(0x5a, s, s + 100);
    pages.space.u8.fill(0x6b, f, f + 100);
    for (const [allocator, held] of [
      [scratch, s],
      [frame, f],
    ] as const) {
      const call = (name: string, ...args: unknown[]): unknown =>
        thrown(() => ((allocator as unknown as Record<string, AnyFn>)[name] as AnyFn).apply(allocator, args));
      for (const bad of HOSTILE) {
        const what = `${allocator.name}: ${typeof bad === "symbol" ? "a Symbol" : String(bad)}`;
        expect(call("allocate", bad), `allocate(${what})`).toBeInstanceOf(InvalidArgumentError);
        expect(call("allocate", 16, bad), `allocate(16, ${what})`).toBeInstanceOf(InvalidArgumentError);
        expect(call("deallocate", bad), `deallocate(${what})`).toBeInstanceOf(InvalidPointerError);
        expect(call("reallocate", bad, 16), `reallocate(${what}, 16)`).toBeInstanceOf(InvalidPointerError);
        expect(call("reallocate", held, bad), `reallocate(p, ${what})`).toBeInstanceOf(InvalidArgumentError);
        expect(call("allocatedSize", bad), `allocatedSize(${what})`).toBeInstanceOf(InvalidPointerError);
        expect(call("owns", bad), `owns(${what})`).toBeUndefined();
        expect((allocator.owns as AnyFn).call(allocator, bad)).toBe(false);
        if (allocator === frame) {
          expect(call("assertLive", bad), `assertLive(${what})`).toBeInstanceOf(InvalidPointerError);
          expect(call("frameOf", bad), `frameOf(${what})`).toBeInstanceOf(InvalidPointerError);
        } else {
          expect(call("release", bad), `release(${what})`).toBeInstanceOf(InvalidArgumentError);
          expect(call("withMark", bad), `withMark(${what})`).toBeInstanceOf(InvalidArgumentError);
        }
      }
    }
    expect(scratch.markDepth).toBe(1);
    scratch.check();
    frame.check();
    expect(pages.space.u8.subarray(s, s + 100).every((b) => b === 0x5a)).toBe(true);
    expect(pages.space.u8.subarray(f, f + 100).every((b) => b === 0x6b)).toBe(true);
    scratch.release(mark);
    scratch.check();
  });

  it("throw DestroyedError for use after destroy", () => {
    const pages = makePages();
    const scratch = new ScratchAllocator(pages, { chunkBytes: 4096 });
    const frame = new FrameAllocator(pages, { chunkBytes: 4096 });
    frame.beginFrame();
    const mark = scratch.mark();
    const s = scratch.allocate(100);
    const f = frame.allocate(100);
    scratch.destroy();
    frame.destroy();
    const runs: [string, () => unknown][] = [
      ["scratch", () => scratch.allocate(10)],
      ["scratch", () => scratch.deallocate(s)],
      ["scratch", () => scratch.reallocate(s, 200)],
      ["scratch", () => scratch.allocatedSize(s)],
      ["scratch", () => scratch.mark()],
      ["scratch", () => scratch.release(mark)],
      ["scratch", () => scratch.release(12345 as ScratchMark)],
      ["scratch", () => scratch.withMark(() => 1)],
      ["scratch", () => scratch.reset()],
      ["frame", () => frame.allocate(10)],
      ["frame", () => frame.deallocate(f)],
      ["frame", () => frame.reallocate(f, 200)],
      ["frame", () => frame.allocatedSize(f)],
      ["frame", () => frame.beginFrame()],
      ["frame", () => frame.assertLive(f)],
      ["frame", () => frame.frameOf(f)],
      ["frame", () => frame.frame],
      ["frame", () => frame.stats()],
      ["frame", () => frame.check()],
      ["scratch", () => scratch.markDepth],
      ["scratch", () => scratch.stats()],
      ["scratch", () => scratch.check()],
      ["scratch", () => scratch.assertReleased()],
    ];
    for (const [name, run] of runs) {
      const err = thrown(run);
      expect(err, String(run)).toBeInstanceOf(DestroyedError);
      expect(String(err)).toMatch(new RegExp(`^DestroyedError \\[ERR_DESTROYED\\]: ${name}\\.\\w+: this allocator was destroyed; create a new one`));
    }
    expect(scratch.owns(s)).toBe(false);
    expect(frame.owns(f)).toBe(false);
    scratch.destroy();
    frame.destroy();
    pages.check();
  });
});
