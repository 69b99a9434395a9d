import { CorruptionError, DoubleFreeError, hex } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { CLEAN_BYTE, CanaryAllocator, DebugAllocator, FENCE_BYTE, FillAllocator, QuarantineAllocator, debugWrap } from "../src/index.js";
import { ALLOCATION_STACK, TrackedBacking, catchError, holdsPattern, makePages, writePattern } from "./support/fixtures.js";

describe("debugWrap", () => {
  it("stacks quarantine(fill(canary(backing)))", () => {
    const pages = makePages(256);
    const dbg = debugWrap(pages);
    expect(dbg).toBeInstanceOf(DebugAllocator);
    expect(dbg.name).toBe("debug(pages)");
    expect(dbg.canary).toBeInstanceOf(CanaryAllocator);
    expect(dbg.fill).toBeInstanceOf(FillAllocator);
    expect(dbg.quarantine).toBeInstanceOf(QuarantineAllocator);
    expect(dbg.top).toBe(dbg.quarantine);
    expect(dbg.quarantine!.backing).toBe(dbg.fill);
    expect(dbg.fill!.backing).toBe(dbg.canary);
    expect(dbg.canary!.backing).toBe(pages);
    expect(dbg.quarantine!.name).toBe("quarantine(fill(canary(pages)))");
    expect(dbg.space).toBe(pages.space);
  });

  it("hands out blocks filled with 0xcd between 0xfd guards, sized exactly as asked", () => {
    const dbg = debugWrap(makePages(256));
    const state = dbg.stats().reservedBytes;
    const ptr = dbg.allocate(20, 16);
    expect(ptr % 16).toBe(0);
    expect(dbg.allocatedSize(ptr)).toBe(20);
    const u8 = dbg.space.u8;
    expect(Array.from(u8.subarray(ptr, ptr + 20)).every((b) => b === CLEAN_BYTE)).toBe(true);
    expect(Array.from(u8.subarray(ptr - 16, ptr)).every((b) => b === FENCE_BYTE)).toBe(true);
    expect(Array.from(u8.subarray(ptr + 20, ptr + 36)).every((b) => b === FENCE_BYTE)).toBe(true);
    expect(dbg.stats()).toMatchObject({ liveCount: 1, liveBytes: 20, reservedBytes: state + 256 });
  });

  it("catches an overrun, an underrun, a write after free and a double free, each once", () => {
    const pages = makePages(256);
    const dbg = debugWrap(new TrackedBacking(pages), { quarantine: { maxBytes: 1024 } });
    const keep = dbg.allocate(100);
    writePattern(dbg, keep, 100, 11);

    const over = dbg.allocate(24);
    dbg.space.u8[over + 24] = 0;
    const overrun = catchError(CorruptionError, "ERR_CORRUPTION", () => dbg.check());
    // The USAGE.md message, from the layer that found it.
    expect(overrun.message).toBe(
      `canary(root/ai): block ${hex(over)} (24 B, scope root/ai) —\n` +
        "  guard byte after the block changed at +24 (expected 0xfd, found 0x00), 1 of 16 guard bytes after it differ;\n" +
        "  allocated at Blackboard.set (ai/blackboard.ts:57)\n" +
        "            at AiSystem.update (ai/system.ts:12)\n" +
        "  Something wrote past the end of the block (an overrun): check the sizes, strides and loop bounds of code writing to it.",
    );
    dbg.space.u8[over + 24] = FENCE_BYTE;

    const under = dbg.allocate(8);
    dbg.space.u8[under - 1] = 0x55;
    // Guards are checked at free time; the block still goes into quarantine, its guards whole
    // again, so the fault is reported once and later checks pass.
    const underrun = catchError(CorruptionError, "ERR_CORRUPTION", () => dbg.deallocate(under));
    expect(dbg.owns(under)).toBe(false);
    expect(underrun.message).toContain(`canary(root/ai): block ${hex(under)} (8 B, scope root/ai)`);
    expect(underrun.message).toContain("guard byte before the block changed at -1 (expected 0xfd, found 0x55)");
    expect(dbg.space.u8[under - 1]).toBe(FENCE_BYTE);
    dbg.check();

    const freed = dbg.allocate(32);
    dbg.deallocate(freed);
    dbg.space.u8[freed + 31] = 0x77;
    const afterFree = catchError(CorruptionError, "ERR_CORRUPTION", () => dbg.check());
    expect(afterFree.message).toContain(`quarantine(fill(canary(root/ai))): block ${hex(freed)} (32 B, scope root/ai)`);
    expect(afterFree.message).toContain("write after free: byte changed at +31 (expected 0x66, found 0x77)");
    dbg.space.u8[freed + 31] = 0x66;

    const twice = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => dbg.deallocate(freed));
    expect(twice.message).toContain("still in quarantine");
    expect(twice.message).toMatch(/first freed at/); // the tracked backing captures stacks, so every layer does

    expect(holdsPattern(dbg, keep, 100, 11)).toBe(true);
    dbg.check();
    dbg.deallocate(over);
    dbg.deallocate(keep);
    dbg.destroy();
    expect(pages.stats().liveCount).toBe(0);
  });

  it("has the underrun of a quarantined block found when it leaves quarantine", () => {
    const dbg = debugWrap(makePages(256), { quarantine: { maxBlocks: 1 } });
    const a = dbg.allocate(16);
    dbg.deallocate(a);
    dbg.space.u8[a - 2] = 0; // before the block: the canary's guard, still live below the quarantine
    const b = dbg.allocate(16);
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => dbg.deallocate(b));
    expect(error.message).toContain(`canary(pages): block ${hex(a)} (16 B)`);
    expect(error.message).toContain("changed at -2");
    expect(dbg.quarantine!.isQuarantined(b)).toBe(true);
    dbg.check();
  });

  it("check() runs every layer and ends with the backing's check()", () => {
    const tracked = new TrackedBacking(makePages(256));
    const dbg = debugWrap(tracked);
    dbg.check();
    expect(tracked.checks).toBe(1);
    const bare = debugWrap(tracked, { canary: false, fill: false, quarantine: false });
    expect(bare.top).toBe(tracked);
    bare.check();
    expect(tracked.checks).toBe(2);
  });

  it("forwards origins through every layer, with the size asked", () => {
    const dbg = debugWrap(new TrackedBacking(makePages(256)));
    const ptr = dbg.allocate(77);
    expect(dbg.originOf(ptr)).toEqual({ scope: "root/ai", size: 77, stack: ALLOCATION_STACK });
    expect(debugWrap(makePages()).originOf(ptr)).toBeUndefined();
  });

  it("leaves layers out on request and passes shared options down", () => {
    const pages = makePages(256);
    const onlyCanary = debugWrap(pages, { fill: false, quarantine: false, canary: { guardBytes: 4 } });
    expect(onlyCanary.top).toBe(onlyCanary.canary);
    expect(onlyCanary.canary!.guardBytes).toBe(4);
    expect(onlyCanary.fill).toBeUndefined();
    const p = onlyCanary.allocate(8);
    onlyCanary.deallocate(p);
    catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => onlyCanary.deallocate(p));

    const shared = debugWrap(pages, { captureStacks: true, checkEvery: 10, quarantine: { checkEvery: 3 } });
    expect(shared.capturesStacks).toBe(true);
    expect(shared.quarantine!.capturesStacks).toBe(true);
    expect(shared.canary!.capturesStacks).toBe(false); // inner layers never see a double free
    expect(debugWrap(pages, { quarantine: false, captureStacks: true }).fill!.capturesStacks).toBe(true);
    expect(debugWrap(new TrackedBacking(pages)).quarantine!.capturesStacks).toBe(true);
    expect(shared.canary!.checkEvery).toBe(10);
    expect(shared.quarantine!.checkEvery).toBe(3);
    expect(debugWrap(pages).capturesStacks).toBe(false);
  });

  it("stats: counters of the caller's sizes, reservedBytes of the whole stack", () => {
    const pages = makePages(256);
    const dbg = debugWrap(pages);
    const state = dbg.stats().reservedBytes; // the layers' own state (control blocks, tables, queue)
    expect(state).toBe(pages.stats().liveBytes);
    const a = dbg.allocate(10);
    const b = dbg.allocate(300);
    dbg.deallocate(b);
    const s = dbg.stats();
    expect(s).toMatchObject({ liveCount: 1, liveBytes: 10, peakLiveBytes: 310, allocCount: 2, freeCount: 1 });
    expect(s.reservedBytes).toBe(pages.stats().liveBytes); // the quarantined block's pages too
    expect(s.reservedBytes).toBe(state + 256 + 512);
    dbg.flush();
    expect(dbg.stats().reservedBytes).toBe(state + 256);
    dbg.deallocate(a);
  });
});
