// The threads bench's wiring, from one thread (the workers themselves run in
// `npm run bench:threads` and `npm run soak:threads`): two seats on a rig
// hand blocks to each other through the routes, the locked rig's handles
// share one allocator, and the soak's pattern catches a changed byte.
import { describe, expect, it } from "vitest";
import { attachRig, createRig, SpinLock } from "../src/threads/rig.js";
import { fillPattern, holdsPattern } from "../src/threads/soak-shared.js";

describe("threads bench rigs", () => {
  it("heaps: each seat's own generic allocator frees the other's blocks through the routes; the owner collects them", () => {
    const rig = createRig("heaps", 8 << 20);
    const a = attachRig(rig.share, "a");
    const b = attachRig(rig.share, "b");
    const blocks = [24, 300, 5000, 700_000].map((size) => a.generic.allocate(size));
    for (const p of blocks) b.generic.deallocate(p);
    expect(a.generic.stats().liveCount).toBe(4); // pushed back, not yet freed
    expect(a.generic.collectRemoteFrees()).toBe(4);
    expect(a.generic.stats().liveCount).toBe(0);
    a.end();
    b.end();
    expect(rig.table.stateOf(a.seat.slot)).toBe(rig.table.stateOf(b.seat.slot));
    rig.pages.check();
  });

  it("locked: every seat's handle is the same allocator, and the spin lock is taken and given back", () => {
    const rig = createRig("locked", 8 << 20);
    const a = attachRig(rig.share, "a");
    const b = attachRig(rig.share, "b");
    expect(a.generic.controlPtr).toBe(rig.generic!.controlPtr);
    const lock = new SpinLock(a.space, rig.share.lockPtr);
    lock.acquire();
    const p = a.generic.allocate(100);
    lock.release();
    expect(Atomics.load(a.space.i32, rig.share.lockPtr >>> 2)).toBe(0);
    expect(b.generic.allocatedSize(p)).toBeGreaterThanOrEqual(100);
    b.generic.deallocate(p);
    expect(rig.generic!.stats().liveCount).toBe(0);
    rig.generic!.check();
    a.end();
    b.end();
  });

  it("the soak's pattern holds until any byte of the block changes", () => {
    const rig = createRig("heaps", 8 << 20);
    const { i32, u8 } = rig.space;
    for (const size of [1, 3, 4, 7, 64, 1001]) {
      const ptr = rig.pages.allocate(size);
      fillPattern(i32, u8, ptr, size);
      expect(holdsPattern(i32, u8, ptr, size)).toBe(true);
      for (const at of [0, size - 1, size >> 1]) {
        u8[ptr + at]! ^= 0x10;
        expect(holdsPattern(i32, u8, ptr, size)).toBe(false);
        u8[ptr + at]! ^= 0x10;
      }
      rig.pages.deallocate(ptr);
    }
  });
});
