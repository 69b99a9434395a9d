import { afterEach, describe, expect, it } from "vitest";
import { AllocatorError, InvalidArgumentError, OutOfMemoryError } from "@memkit/core";
import { MemoryGlobals, NULL_GUARD_BYTES } from "@memkit/memory-globals";

afterEach(() => {
  MemoryGlobals.current?.shutdown();
});

describe("MemoryGlobals", () => {
  it("builds the space, a bootstrap region after the null guard, and a page allocator whose control block lives there", () => {
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
    expect(memory.space.byteLength).toBeGreaterThanOrEqual(1 << 20);
    expect(memory.bootstrap.base).toBe(NULL_GUARD_BYTES);
    expect(memory.pages.controlPtr).toBeGreaterThanOrEqual(memory.bootstrap.base);
    expect(memory.pages.controlPtr).toBeLessThan(memory.bootstrap.limit);
    const span = memory.pages.allocate(100_000);
    expect(span).toBeGreaterThanOrEqual(memory.bootstrap.limit);
    expect(span % memory.pages.pageSize).toBe(0);
    memory.pages.deallocate(span);
    memory.pages.check();
  });

  it("throws on a second init without shutdown, and on use after shutdown", () => {
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    expect(() => MemoryGlobals.init()).toThrow(/already initialised/);
    expect(MemoryGlobals.current).toBe(memory);
    memory.shutdown();
    expect(MemoryGlobals.current).toBeUndefined();
    expect(() => memory.pages).toThrow(AllocatorError);
    expect(() => memory.pages).toThrow(/shut down/);
    expect(() => memory.shutdown()).toThrow(/shut down/);
    const again = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    expect(again.alive).toBe(true);
  });

  it.each([
    [{ initialBytes: 8 << 20, maximumBytes: 4 << 20 }, /maximumBytes .* is less than initialBytes/],
    [{ initialBytes: 1.5 }, /option initialBytes must be a non-negative integer/],
    [{ initialBytes: 1000 }, /option initialBytes must be a multiple of 64 KiB/],
    [{ maximumBytes: -65536 }, /option maximumBytes/],
    [{ maximumBytes: 2 ** 32 }, /option maximumBytes must be at most 2 GiB/],
    [{ pageSize: 3000 }, /option pageSize/],
    [{ tracing: "verbose" as never }, /option tracing must be one of "off", "counts", "callstacks"/],
    [{ sampleEvery: 0 }, /option sampleEvery/],
    [{ initialBytes: 1 << 20, maximumBytes: 1 << 20, bootstrapBytes: 2 << 20 }, /option bootstrapBytes .* leaves no room/],
    [{ bootstrapBytes: 7 }, /option bootstrapBytes/],
  ])("rejects impossible options %o with InvalidArgumentError naming the option", (options, message) => {
    expect(() => MemoryGlobals.init(options)).toThrow(InvalidArgumentError);
    expect(() => MemoryGlobals.init(options)).toThrow(message);
    expect(MemoryGlobals.current).toBeUndefined();
  });

  it("grows the space on demand and throws OutOfMemoryError at the maximum, staying usable", () => {
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 8 << 20 });
    const spans: number[] = [];
    for (let i = 0; i < 4; i++) spans.push(memory.pages.allocate(1 << 20));
    expect(memory.space.byteLength).toBeGreaterThan(4 << 20);
    expect(() => memory.pages.allocate(8 << 20)).toThrow(OutOfMemoryError);
    expect(() => memory.pages.allocate(8 << 20)).toThrow(/maximum/);
    memory.pages.check();
    for (const s of spans) memory.pages.deallocate(s);
    memory.pages.check();
  });
});
