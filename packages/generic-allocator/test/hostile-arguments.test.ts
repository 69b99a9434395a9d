import { describe, expect, it } from "vitest";
import { HOSTILE_ARGUMENTS as HOSTILE, thrownBy as thrown } from "@memkit/core/testing";
import { AddressSpace, DestroyedError, InvalidArgumentError, InvalidPointerError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";

type AnyFn = (...args: unknown[]) => unknown;

describe("GenericAllocator with hostile arguments", () => {
  it("gives typed errors for BigInt, Symbol and other non-numbers on every entry point, and stays whole", () => {
    const space = AddressSpace.create({ initialBytes: 2 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const generic = new GenericAllocator(pages, { heap: { spanBytes: 256 << 10 } });
    const held = generic.allocate(1000);
    space.u8.fill(0x5a, held, held + 1000);
    const medium = generic.allocate(5000);
    const large = generic.allocate(600_000);
    const call = (name: keyof GenericAllocator, ...args: unknown[]): unknown => thrown(() => (generic[name] as AnyFn).apply(generic, args));
    for (const bad of HOSTILE) {
      const what = typeof bad === "symbol" ? "a Symbol" : String(bad);
      expect(call("allocate", bad), `allocate(${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocate", 16, bad), `allocate(16, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("deallocate", bad), `deallocate(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", bad, 16), `reallocate(${what}, 16)`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", held, bad), `reallocate(p, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocatedSize", bad), `allocatedSize(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("owns", bad), `owns(${what})`).toBeUndefined();
      expect((generic.owns as AnyFn).call(generic, bad)).toBe(false);
      expect(call("tierOf", bad), `tierOf(${what})`).toBeInstanceOf(InvalidPointerError);
    }
    generic.check();
    expect(generic.allocatedSize(held)).toBeGreaterThanOrEqual(1000);
    expect(space.u8.subarray(held, held + 1000).every((b) => b === 0x5a)).toBe(true);
    for (const p of [held, medium, large]) generic.deallocate(p);
    generic.check();
  });

  it("throws DestroyedError for use after destroy", () => {
    const space = AddressSpace.create({ initialBytes: 2 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const generic = new GenericAllocator(pages, { heap: { spanBytes: 256 << 10 } });
    const blocks = [generic.allocate(100), generic.allocate(5000), generic.allocate(600_000)];
    generic.destroy();
    for (const p of blocks) {
      for (const run of [() => generic.deallocate(p), () => generic.reallocate(p, 200), () => generic.allocatedSize(p), () => generic.tierOf(p)]) {
        const err = thrown(run);
        expect(err).toBeInstanceOf(DestroyedError);
        expect(String(err)).toMatch(/^DestroyedError \[ERR_DESTROYED\]: generic\.\w+: this allocator was destroyed/);
      }
      expect(generic.owns(p)).toBe(false);
    }
    for (const run of [() => generic.allocate(100), () => generic.allocate(100, 128), () => generic.allocate(5000), () => generic.allocate(600_000), () => generic.reallocate(0, 10)]) {
      const err = thrown(run);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(String(err)).toMatch(/^DestroyedError \[ERR_DESTROYED\]: generic\.allocate: this allocator was destroyed/);
    }
    generic.destroy();
    pages.check();
  });
});
