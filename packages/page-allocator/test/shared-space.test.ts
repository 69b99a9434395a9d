import { describe, expect, it } from "vitest";
import { AddressSpace, AllocatorError, DestroyedError, OutOfMemoryError, SharedLock, ThreadTable } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { LOG_CAPACITY, W_LOCK } from "../src/layout.js";

// What runs under the lock on a shared space, within one thread.

const PAGE = 4096;

function shared(initialBytes: number, maximumBytes: number): { space: AddressSpace; pages: PageAllocator; lock: SharedLock } {
  const space = AddressSpace.create({ initialBytes, maximumBytes, shared: true });
  const table = ThreadTable.create(space, 1024);
  const pages = new PageAllocator(space, { pageSize: PAGE, controlPtr: 8192, thread: table.claim("main") });
  return { space, pages, lock: new SharedLock(space, 8192 + W_LOCK * 4, LOG_CAPACITY) };
}

describe("PageAllocator on a shared space", () => {
  it("runs reclaim hooks outside its lock: a hook that frees through the allocator neither deadlocks nor throws", () => {
    const { pages, lock } = shared(1 << 20, 1 << 20);
    const held: number[] = [];
    for (;;) {
      try {
        held.push(pages.allocate(PAGE));
      } catch {
        break;
      }
    }
    const cached = held.splice(held.length - 8);
    let holderDuringHook = -1;
    pages.addReclaimer(() => {
      holderDuringHook = lock.holder;
      for (const p of cached.splice(0)) pages.deallocate(p);
      return 8 * PAGE;
    });
    expect(pages.allocate(4 * PAGE)).toBeGreaterThan(0);
    expect(holderDuringHook).toBe(0);
    const moved = pages.reallocate(held[0]!, 3 * PAGE); // reallocate's retry path too
    expect(pages.owns(moved)).toBe(true);
    expect(() => pages.allocate(64 * PAGE)).toThrow(OutOfMemoryError);
    pages.check();
    expect(lock.holder).toBe(0);
  });

  it("refuses re-entry from a grow listener (run under the lock) with an error, and stays usable", () => {
    const { space, pages, lock } = shared(1 << 20, 8 << 20);
    let inner: unknown;
    const off = space.onGrow(() => {
      try {
        pages.allocate(PAGE);
      } catch (err) {
        inner = err;
      }
    });
    const big = pages.allocate(2 << 20); // grows the memory
    off();
    expect(inner).toBeInstanceOf(AllocatorError);
    expect(String(inner)).toMatch(/not re-entrant/);
    expect(lock.holder).toBe(0);
    pages.deallocate(big);
    pages.check();
    const visited: number[] = [];
    pages.allocate(PAGE);
    pages.forEachSpan((ptr, _bytes, used) => {
      if (used) visited.push(ptr);
      expect(() => pages.stats()).toThrow(/not re-entrant/);
    });
    expect(visited.length).toBe(1);
  });

  it("rolls a failed section back: an error inside leaves the map and the lock as they were", () => {
    const { pages, lock } = shared(1 << 20, 8 << 20);
    const a = pages.allocate(3 * PAGE);
    const before = pages.stats();
    expect(() => pages.setTag(a, 256)).toThrow(); // checked inside the section
    expect(() => pages.deallocate(a + PAGE)).toThrow();
    expect(pages.stats()).toEqual(before);
    expect(lock.holder).toBe(0);
    pages.check();
    pages.destroy();
    expect(() => pages.allocate(PAGE)).toThrow(DestroyedError);
    expect(lock.holder).toBe(0); // an ended handle does not touch the lock
  });
});
