import { describe, expect, it } from "vitest";
import { HOSTILE_ARGUMENTS as HOSTILE, thrownBy as thrown } from "@memkit/core/testing";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, InvalidPointerError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";

type AnyFn = (...args: unknown[]) => unknown;

describe("PageAllocator with hostile arguments", () => {
  it("gives typed errors for BigInt, Symbol and other non-numbers on every entry point, and stays whole", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const held = pages.allocate(10_000);
    space.u8.fill(0x5a, held, held + 10_000);
    const owner = pages.registerOwner("test");
    const call = (name: keyof PageAllocator, ...args: unknown[]): unknown => thrown(() => (pages[name] as AnyFn).apply(pages, args));
    for (const bad of HOSTILE) {
      const what = typeof bad === "symbol" ? "a Symbol" : String(bad);
      expect(call("allocate", bad), `allocate(${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocate", 16, bad), `allocate(16, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("deallocate", bad), `deallocate(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", bad, 16), `reallocate(${what}, 16)`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", held, bad), `reallocate(p, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocatedSize", bad), `allocatedSize(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("setTag", bad, owner), `setTag(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("setTag", held, bad), `setTag(p, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("setTag", held, owner, bad), `setTag(p, owner, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(thrown(() => (pages.owns as AnyFn)(bad)), `owns(${what})`).toBeUndefined();
      expect((pages.owns as AnyFn).call(pages, bad)).toBe(false);
      expect((pages.tagOf as AnyFn).call(pages, bad)).toBe(0);
      // Not a number is a bad argument; a number that points at no control block is a wrong pointer.
      const attachError = typeof bad === "number" && Number.isInteger(bad) ? CorruptionError : InvalidArgumentError;
      expect(thrown(() => PageAllocator.attach(space, bad as number)), `attach(${what})`).toBeInstanceOf(attachError);
      if (bad !== null) expect(thrown(() => new PageAllocator(space, { controlPtr: bad as number })), `controlPtr ${what}`).toBeInstanceOf(InvalidArgumentError);
    }
    pages.check();
    expect(pages.allocatedSize(held)).toBe(12_288);
    expect(space.u8.subarray(held, held + 10_000).every((b) => b === 0x5a)).toBe(true);
    pages.deallocate(held);
    pages.check();
  });

  it("throws DestroyedError for use after destroy", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const p = pages.allocate(100);
    pages.destroy();
    for (const run of [
      () => pages.allocate(100),
      () => pages.deallocate(p),
      () => pages.reallocate(p, 9000),
      () => pages.reallocate(0, 10),
      () => pages.allocatedSize(p),
      () => pages.setTag(p, 1),
      () => pages.registerOwner("late"),
    ]) {
      const err = thrown(run);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(String(err)).toMatch(/^DestroyedError \[ERR_DESTROYED\]: pages\.\w+: this allocator was destroyed/);
    }
    expect(pages.owns(p)).toBe(false);
    pages.destroy(); // idempotent
  });
});
