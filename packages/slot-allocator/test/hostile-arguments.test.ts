import { describe, expect, it } from "vitest";
import { HOSTILE_ARGUMENTS as HOSTILE, thrownBy as thrown } from "@memkit/core/testing";
import { AddressSpace, DestroyedError, InvalidArgumentError, InvalidPointerError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";

type AnyFn = (...args: unknown[]) => unknown;

describe("SlotAllocator with hostile arguments", () => {
  it("gives typed errors for BigInt, Symbol and other non-numbers on every entry point, and stays whole", () => {
    const space = AddressSpace.create({ initialBytes: 2 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const slots = new SlotAllocator(pages, { slabBytes: 16 << 10 });
    const held = slots.allocate(1000);
    space.u8.fill(0x5a, held, held + 1000);
    const call = (name: keyof SlotAllocator, ...args: unknown[]): unknown => thrown(() => (slots[name] as AnyFn).apply(slots, args));
    for (const bad of HOSTILE) {
      const what = typeof bad === "symbol" ? "a Symbol" : String(bad);
      expect(call("allocate", bad), `allocate(${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocate", 16, bad), `allocate(16, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("deallocate", bad), `deallocate(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", bad, 16), `reallocate(${what}, 16)`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", held, bad), `reallocate(p, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocatedSize", bad), `allocatedSize(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("owns", bad), `owns(${what})`).toBeUndefined();
      expect((slots.owns as AnyFn).call(slots, bad)).toBe(false);
    }
    slots.check();
    expect(slots.allocatedSize(held)).toBe(1024);
    expect(space.u8.subarray(held, held + 1000).every((b) => b === 0x5a)).toBe(true);
    slots.deallocate(held);
    slots.check();
  });

  it("throws DestroyedError for use after destroy", () => {
    const space = AddressSpace.create({ initialBytes: 2 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const slots = new SlotAllocator(pages, { name: "particles", slabBytes: 16 << 10 });
    const p = slots.allocate(100);
    slots.destroy();
    for (const run of [
      () => slots.allocate(100),
      () => slots.allocate(100, 64),
      () => slots.deallocate(p),
      () => slots.reallocate(p, 200),
      () => slots.reallocate(0, 10),
      () => slots.allocatedSize(p),
    ]) {
      const err = thrown(run);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(String(err)).toMatch(/^DestroyedError \[ERR_DESTROYED\]: particles\.\w+: this allocator was destroyed/);
    }
    expect(slots.owns(p)).toBe(false);
    slots.destroy();
    pages.check();
  });
});
