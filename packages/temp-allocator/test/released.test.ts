import { describe, expect, it } from "vitest";
import { LeakError } from "@memkit/core";
import { ScratchAllocator } from "@memkit/temp-allocator";
import { makePages } from "./helpers.js";

function leakOf(run: () => void): LeakError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(LeakError);
    return err as LeakError;
  }
  throw new Error("expected a LeakError");
}

describe("ScratchAllocator.assertReleased", () => {
  it("passes on an empty stack and throws LeakError naming marks still held and blocks still allocated", () => {
    const scratch = new ScratchAllocator(makePages(), { chunkBytes: 4096 });
    scratch.assertReleased();
    const outer = scratch.mark();
    const a = scratch.allocate(100);
    scratch.mark();
    const b = scratch.allocate(5000);
    const leak = leakOf(() => scratch.assertReleased());
    expect(String(leak)).toMatch(/^LeakError \[ERR_LEAK\]: scratch: 2 marks still held and 2 blocks \(5,100 B \(4\.98 KiB\)\) still allocated/);
    expect(leak.message).toContain("release(mark)");
    expect(leak.report).toEqual({
      scopes: ["scratch"],
      count: 2,
      bytes: 5100,
      blocks: [
        { scope: "scratch", ptr: a, size: 100 },
        { scope: "scratch", ptr: b, size: 5000 },
      ],
    });
    // Nothing changed: the stack still works.
    scratch.check();
    scratch.release(outer);
    scratch.assertReleased();
    const loose = scratch.allocate(8);
    expect(leakOf(() => scratch.assertReleased()).message).toMatch(/^scratch: 1 block \(8 B\) still allocated/);
    scratch.deallocate(loose);
    scratch.assertReleased();
  });
});
