import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "@memkit/core";
// The lean entry only: this file's module graph has no @memkit/memory-globals main entry (vitest isolates files).
import { MemoryGlobals } from "@memkit/memory-globals/lean";

describe("@memkit/memory-globals/lean", () => {
  it("works without the debug allocators, and debug: true says what to import", async () => {
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 8 << 20 });
    const p = memory.default.allocate(64);
    memory.default.deallocate(p);
    expect(memory.debugLayer).toBeUndefined();
    memory.shutdown();

    let error: unknown;
    try {
      MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 8 << 20, debug: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(String(error)).toMatch(/^InvalidArgumentError \[ERR_INVALID_ARGUMENT\]: MemoryGlobals\.init: debug: true needs the debug allocators/);
    expect((error as Error).message).toContain(`import "@memkit/memory-globals/debug"`);
    // Nothing was left initialised: the next init works.
    expect(MemoryGlobals.current).toBeUndefined();

    // The documented fix: import the debug entry once, then debug: true works.
    await import("@memkit/memory-globals/debug");
    const debug = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 8 << 20, debug: true });
    expect(debug.debugLayer).toBeDefined();
    const q = debug.default.allocate(24);
    debug.default.deallocate(q);
    debug.check();
    debug.shutdown();
  });
});
