import { PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { CorruptionError, DestroyedError, DoubleFreeError, InvalidArgumentError, hex } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { CanaryAllocator, DebugAllocator, FillAllocator, QuarantineAllocator, debugWrap } from "../src/index.js";
import { catchError, holdsPattern, makePages, writePattern } from "./support/fixtures.js";

describe("attach: a second handle on the same wrapper, all state in memory", () => {
  it("sees the first handle's blocks, guards, free history and quarantine", () => {
    const pages = makePages();
    const a = debugWrap(pages, { captureStacks: true });
    const keep = a.allocate(40);
    writePattern(a, keep, 40, 3);
    const freed = a.allocate(24);
    (function dropIt(): void {
      a.deallocate(freed);
    })();
    const b = DebugAllocator.attach(pages.space, a.controlPtr, { backing: pages });
    expect(b.owns(keep)).toBe(true);
    expect(b.quarantine!.isQuarantined(freed)).toBe(true);
    expect(b.stats()).toEqual(a.stats());
    // The double free is known to the second handle, with the first free's stack (this thread captured it).
    const twice = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => b.deallocate(freed));
    expect(twice.message).toMatch(/first freed at dropIt/);
    // An overrun through the first handle's block is found by the second's check().
    pages.space.u8[keep + 40] = 1;
    const overrun = catchError(CorruptionError, "ERR_CORRUPTION", () => b.check());
    expect(overrun.message).toContain(`block ${hex(keep)} (40 B)`);
    pages.space.u8[keep + 40] = 0xfd;
    // Detaching the second leaves the first working.
    b.detach();
    catchError(DestroyedError, "ERR_DESTROYED", () => b.allocate(8));
    expect(holdsPattern(a, keep, 40, 3)).toBe(true);
    a.deallocate(keep);
    a.check();
    a.destroy();
    expect(pages.stats().liveCount).toBe(0);
  });

  it("refuses a wrong pointer, another kind, the wrong backing and a destroyed wrapper", () => {
    const pages = makePages();
    const canary = new CanaryAllocator(pages);
    const fill = new FillAllocator(pages);
    const wrongKind = catchError(CorruptionError, "ERR_CORRUPTION", () => QuarantineAllocator.attach(pages.space, canary.controlPtr, { backing: pages }));
    expect(wrongKind.message).toContain('found magic "CNRY", expected "QRNT"');
    catchError(CorruptionError, "ERR_CORRUPTION", () => CanaryAllocator.attach(pages.space, canary.controlPtr + 8, { backing: pages }));
    const wrongBacking = catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => CanaryAllocator.attach(pages.space, canary.controlPtr, { backing: fill }));
    expect(wrongBacking.message).toContain("Pass a handle on the allocator it was created over");
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => CanaryAllocator.attach(pages.space, canary.controlPtr, {} as never));
    // Destroying through one handle ends this thread's other handles and the wrapper itself.
    const second = CanaryAllocator.attach(pages.space, canary.controlPtr, { backing: pages });
    const p = second.allocate(16);
    canary.destroy();
    expect(second.destroyed).toBe(true);
    catchError(DestroyedError, "ERR_DESTROYED", () => second.deallocate(p));
    catchError(DestroyedError, "ERR_DESTROYED", () => canary.stats());
    expect(() => CanaryAllocator.attach(pages.space, canary.controlPtr, { backing: pages })).toThrow(CorruptionError);
    fill.destroy();
    pages.deallocate(p - 16); // the live block stays with the backing
    expect(pages.stats().liveCount).toBe(0);
  });

  it("allocates and frees with no JS objects on the good path", async () => {
    const pages = makePages(256);
    const dbg = debugWrap(pages, { quarantine: { maxBytes: 64 << 10 } });
    const pairs = (n: number): void => {
      for (let i = 0; i < n; i++) dbg.deallocate(dbg.allocate(8 + (i & 255)));
    };
    pairs(20_000); // warm up: tables at their peak, code optimised
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
    await settle();
    let gcs = 0;
    const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
    observer.observe({ entryTypes: ["gc"] });
    // 200,000 pairs allocating even one small object each (>= 16 B) would add >= 3.2 MB to the heap, or
    // set off a scavenge that frees it: either shows. A collection the runtime starts for its own reasons
    // (JIT code, timers) can land in any window, so a window with one is measured again, up to six times
    // (a loaded machine stretches the windows and lets more of those land): code that allocates collects
    // in every window. The margin absorbs what the JIT itself allocates.
    let grew = 0;
    for (let attempt = 0; attempt < 6; attempt++) {
      gcs = 0;
      const before = getHeapStatistics().used_heap_size;
      pairs(200_000);
      grew = getHeapStatistics().used_heap_size - before;
      await settle();
      if (gcs === 0) break;
    }
    observer.disconnect();
    expect(gcs).toBe(0);
    expect(grew).toBeLessThan(1 << 20);
    dbg.destroy();
  });
});
