import { describe, expect, it } from "vitest";
import { HOSTILE_ARGUMENTS as HOSTILE, thrownBy as thrown } from "@memkit/core/testing";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, InvalidPointerError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";

type AnyFn = (...args: unknown[]) => unknown;

describe("HeapAllocator with hostile arguments", () => {
  it("gives typed errors for BigInt, Symbol and other non-numbers on every entry point, and stays whole", () => {
    const space = AddressSpace.create({ initialBytes: 2 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const heap = new HeapAllocator(pages, { spanBytes: 256 << 10 });
    const held = heap.allocate(1000);
    space.u8.fill(0x5a, held, held + 1000);
    const call = (name: keyof HeapAllocator, ...args: unknown[]): unknown => thrown(() => (heap[name] as AnyFn).apply(heap, args));
    for (const bad of HOSTILE) {
      const what = typeof bad === "symbol" ? "a Symbol" : String(bad);
      expect(call("allocate", bad), `allocate(${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocate", 16, bad), `allocate(16, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("deallocate", bad), `deallocate(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", bad, 16), `reallocate(${what}, 16)`).toBeInstanceOf(InvalidPointerError);
      expect(call("reallocate", held, bad), `reallocate(p, ${what})`).toBeInstanceOf(InvalidArgumentError);
      expect(call("allocatedSize", bad), `allocatedSize(${what})`).toBeInstanceOf(InvalidPointerError);
      expect(call("owns", bad), `owns(${what})`).toBeUndefined();
      expect((heap.owns as AnyFn).call(heap, bad)).toBe(false);
      // Not a number is a bad argument; a number that points at no control block is a wrong pointer.
      const attachError = typeof bad === "number" && Number.isInteger(bad) ? CorruptionError : InvalidArgumentError;
      expect(thrown(() => HeapAllocator.attach(space, bad as number)), `attach(${what})`).toBeInstanceOf(attachError);
    }
    heap.check();
    expect(heap.allocatedSize(held)).toBeGreaterThanOrEqual(1000);
    expect(space.u8.subarray(held, held + 1000).every((b) => b === 0x5a)).toBe(true);
    heap.deallocate(held);
    heap.check();
  });

  it("throws DestroyedError for use after destroy or detach", () => {
    const space = AddressSpace.create({ initialBytes: 2 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    for (const end of ["destroy", "detach"] as const) {
      const heap = new HeapAllocator(pages, { name: `heap-${end}`, spanBytes: 64 << 10 });
      const p = heap.allocate(100);
      heap[end]();
      for (const run of [
        () => heap.allocate(100),
        () => heap.allocate(100, 64),
        () => heap.allocate(1 << 20),
        () => heap.deallocate(p),
        () => heap.reallocate(p, 200),
        () => heap.reallocate(0, 10),
        () => heap.allocatedSize(p),
      ]) {
        const err = thrown(run);
        expect(err).toBeInstanceOf(DestroyedError);
        expect(String(err)).toMatch(new RegExp(`^DestroyedError \\[ERR_DESTROYED\\]: heap-${end}\\.\\w+: this (allocator was destroyed|handle was detached)`));
      }
      expect(heap.owns(p)).toBe(false);
      heap[end]();
    }
    pages.check();
  });
});
