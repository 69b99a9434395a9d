import { afterEach, describe, expect, it, vi } from "vitest";
import { LeakError } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";

const small = { initialBytes: 1 << 20, maximumBytes: 16 << 20 };

afterEach(() => {
  vi.restoreAllMocks();
  try {
    MemoryGlobals.current?.shutdown();
  } catch {
    // a test left memory on purpose
  }
});

function thrown(run: () => void): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("scratch memory still marked, frame memory never recycled", () => {
  it("shutdown() reports scratch marks still held in its one LeakError, beside the scopes that leak", () => {
    const memory = MemoryGlobals.init(small);
    memory.scope("render").allocate(96);
    memory.scratch.mark();
    const block = memory.scratch.allocate(300);
    const error = thrown(() => memory.shutdown());
    expect(error).toBeInstanceOf(LeakError);
    const leak = error as LeakError;
    expect(leak.message).toMatch(/root\/render/);
    expect(leak.message).toMatch(/scratch: 1 mark still held and 1 block \(300 B\) still allocated/);
    expect(leak.report.scopes).toEqual(expect.arrayContaining(["root/render", "scratch"]));
    expect(leak.report.count).toBe(2);
    expect(leak.report.bytes).toBe(396);
    expect(leak.report.blocks).toContainEqual({ scope: "scratch", ptr: block, size: 300 });
    expect(memory.alive).toBe(false);
  });

  it("shutdown() throws a LeakError for scratch alone, and none once every mark is released", () => {
    const memory = MemoryGlobals.init(small);
    const mark = memory.scratch.mark();
    memory.scratch.allocate(10);
    memory.scratch.mark();
    const leak = thrown(() => memory.shutdown()) as LeakError;
    expect(String(leak)).toMatch(/^LeakError \[ERR_LEAK\]: scratch: 2 marks still held/);
    expect(leak.report.scopes).toEqual(["scratch"]);

    const clean = MemoryGlobals.init(small);
    const m = clean.scratch.mark();
    clean.scratch.allocate(10);
    clean.scratch.release(m);
    clean.shutdown();
    expect(mark).toBeGreaterThan(0);
  });

  it("check() reports a scratch mark still held, and passes once it is released", () => {
    const memory = MemoryGlobals.init(small);
    const mark = memory.scratch.mark();
    memory.scratch.allocate(64);
    const error = thrown(() => memory.check());
    expect(error).toBeInstanceOf(LeakError);
    expect((error as Error).message).toMatch(/^scratch: 1 mark still held and 1 block \(64 B\) still allocated/);
    memory.scratch.release(mark);
    memory.check();
  });

  it("memory.frame warns once when it is used without beginFrame()", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const memory = MemoryGlobals.init(small);
    for (let i = 0; i < 400; i++) memory.frame.allocate(4000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/^frame: frame 0 holds .* and beginFrame\(\) was never called/);
    memory.shutdown();
  });

  it("takes the frame warning's handler and multiple through init({ frame })", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const seen: string[] = [];
    const memory = MemoryGlobals.init({ ...small, frame: { growthWarningFactor: 2, onFrameGrowth: (w) => seen.push(`${w.frame}:${w.factor}`) } });
    for (let i = 0; i < 40; i++) memory.frame.allocate(4000);
    expect(seen).toEqual(["0:2"]);
    expect(warn).not.toHaveBeenCalled();
    memory.shutdown();
    expect(() => MemoryGlobals.init({ ...small, frame: { growthWarningFactor: 0.5 } })).toThrow(/option growthWarningFactor must be a number above 1/);
    expect(() => MemoryGlobals.init({ ...small, frame: { arenas: 3 } as never })).toThrow(/option frame has no field "arenas" \(it takes growthWarningFactor, onFrameGrowth\)/);
    expect(MemoryGlobals.current).toBeUndefined();
  });
});
