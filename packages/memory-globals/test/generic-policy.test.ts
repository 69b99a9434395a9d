import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, type Allocator } from "@memkit/core";
import { MemoryGlobals, type MemoryGlobalsOptions } from "@memkit/memory-globals";

const small = { initialBytes: 4 << 20, maximumBytes: 64 << 20 };

afterEach(() => {
  MemoryGlobals.current?.shutdown();
});

/** The tier of `memory.generic` that served one allocation of `size` from `through` (the generic allocator itself by default). */
function tierServing(memory: MemoryGlobals, size: number, through: Allocator = memory.generic): string {
  const before = memory.generic.tierStats();
  const p = through.allocate(size);
  const after = memory.generic.tierStats();
  through.deallocate(p);
  const tiers = (["slots", "heap", "large"] as const).filter((t) => after[t].allocCount > before[t].allocCount);
  expect(tiers).toHaveLength(1);
  return tiers[0]!;
}

describe("MemoryGlobals.init({ generic })", () => {
  it("sets the generic allocator's size thresholds, which decide the tier that serves a size", () => {
    const byDefault = MemoryGlobals.init(small);
    expect([tierServing(byDefault, 512), tierServing(byDefault, 100_000), tierServing(byDefault, 600_000)]).toEqual(["slots", "heap", "large"]);
    expect([tierServing(byDefault, 512, byDefault.default), tierServing(byDefault, 100_000, byDefault.default)]).toEqual(["slots", "heap"]);
    byDefault.shutdown();

    const memory = MemoryGlobals.init({ ...small, generic: { smallMax: 256, largeThreshold: 64 << 10 } });
    expect(memory.generic.smallMax).toBe(256);
    expect(memory.generic.largeThreshold).toBe(64 << 10);
    expect(memory.options.generic).toEqual({ smallMax: 256, largeThreshold: 64 << 10 });
    expect([tierServing(memory, 256), tierServing(memory, 257), tierServing(memory, 65_535), tierServing(memory, 65_536)]).toEqual(["slots", "heap", "heap", "large"]);
    // Through the root scope (which adds its header to the size) the same policy applies.
    expect([tierServing(memory, 512, memory.default), tierServing(memory, 100_000, memory.default)]).toEqual(["heap", "large"]);
    memory.check();
  });

  it("sets the largest alignment the slot tier serves", () => {
    const memory = MemoryGlobals.init({ ...small, generic: { smallAlignMax: 16 } });
    const p = memory.generic.allocate(100, 64);
    expect(memory.generic.tierOf(p)).toBe("heap");
    memory.generic.deallocate(p);
  });

  it.each([
    [{ generic: "small" }, /option generic must be an object/],
    [{ generic: null }, /option generic must be an object/],
    [{ generic: { smallMax: -1 } }, /option generic\.smallMax must be a non-negative integer/],
    [{ generic: { smallMax: 1.5 } }, /option generic\.smallMax must be a non-negative integer/],
    [{ generic: { largeThreshold: 16n } }, /option generic\.largeThreshold must be a non-negative integer byte count, received 16n \(a BigInt/],
    [{ generic: { smallAlignMax: "8" } }, /option generic\.smallAlignMax must be a non-negative integer/],
    [{ generic: { smallmax: 512 } }, /option generic has no field "smallmax" \(it takes smallMax, smallAlignMax, largeThreshold\)/],
    [{ generic: { smallMax: 5000 } }, /option smallMax must be an integer from 0 to the largest slot \(4096\)/],
    [{ generic: { smallMax: 512, largeThreshold: 512 } }, /option largeThreshold must be an integer above smallMax \(512\)/],
    [{ generic: { smallAlignMax: 3 } }, /option smallAlignMax must be a power of two from 1 to 4096/],
  ])("rejects %o with InvalidArgumentError naming the option", (generic, message) => {
    const options = { ...small, ...(generic as MemoryGlobalsOptions) };
    expect(() => MemoryGlobals.init(options)).toThrow(InvalidArgumentError);
    expect(() => MemoryGlobals.init(options)).toThrow(message);
    expect(MemoryGlobals.current).toBeUndefined();
  });
});
