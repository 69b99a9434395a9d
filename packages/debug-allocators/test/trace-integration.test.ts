import { CorruptionError, DoubleFreeError, LeakError, hex } from "@memkit/core";
import { TraceAllocator } from "@memkit/trace-allocator";
import { describe, expect, it } from "vitest";
import { debugWrap } from "../src/index.js";
import { catchError, makePages } from "./support/fixtures.js";

// The two ways MemoryGlobals can combine scopes and the debug stack, with the real TraceAllocator.
describe("with @memkit/trace-allocator scopes", () => {
  it("debug stack over a scope: errors name the scope and the allocation stack", () => {
    const pages = makePages(256);
    const root = new TraceAllocator(pages, { tracing: "callstacks" });
    const ai = root.child("ai");
    const heap = debugWrap(ai);
    expect(heap.capturesStacks).toBe(true); // the scope captures stacks, so the quarantine captures free stacks

    const ptr = (function blackboardSet(): number {
      return heap.allocate(24);
    })();
    expect(heap.originOf(ptr)).toMatchObject({ scope: "root/ai", size: 24 });
    heap.space.u8[ptr + 24] = 0;
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => heap.check());
    expect(error.message).toContain(`canary(ai): block ${hex(ptr)} (24 B, scope root/ai) —`);
    expect(error.message).toContain("guard byte after the block changed at +24 (expected 0xfd, found 0x00)");
    expect(error.message).toMatch(/\n {2}allocated at blackboardSet /);
    heap.space.u8[ptr + 24] = 0xfd;

    (function forget(): void {
      heap.deallocate(ptr);
    })();
    const twice = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => heap.deallocate(ptr));
    expect(twice.message).toContain("scope root/ai");
    expect(twice.message).toMatch(/first freed at forget /);
    expect(twice.message).toMatch(/allocated at blackboardSet /);

    // Quarantined blocks are still live in the scope: flush before the scope's leak check.
    expect(() => ai.dispose()).toThrow(LeakError);
    heap.destroy();
    ai.dispose();
    root.dispose();
    root.destroy(); // the tree's own state goes back to its backing
    expect(pages.stats().liveCount).toBe(0);
  });

  it("scopes over the debug stack: exact scope counts, origins through setOriginSource", () => {
    const pages = makePages(256);
    const heap = debugWrap(pages);
    const root = new TraceAllocator(heap, { tracing: "callstacks" });
    heap.setOriginSource(root);
    const physics = root.child("physics");

    const ptr = physics.allocate(40);
    expect(physics.stats().liveBytes).toBe(40);
    heap.space.u8[ptr + 40] = 1; // an overrun past the scope's block
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => heap.check());
    expect(error.message).toContain("scope root/physics");
    expect(error.message).toContain("(expected 0xfd, found 0x01)");
    heap.space.u8[ptr + 40] = 0xfd;

    physics.deallocate(ptr); // into quarantine below the scope
    heap.space.u8[ptr + 8] = 3; // a stale pointer writes
    const afterFree = catchError(CorruptionError, "ERR_CORRUPTION", () => heap.check());
    expect(afterFree.message).toContain("write after free");
    heap.space.u8[ptr + 8] = 0x66;
    physics.dispose(); // nothing leaks: the quarantine is below the scope
    root.dispose();
    root.destroy(); // the tree's own state goes back to the debug stack before it ends
    heap.destroy();
    expect(pages.stats().liveCount).toBe(0);
  });

  it("scopes over the debug stack: messages name the block the user holds (pointer, size, offset), even after free", () => {
    const pages = makePages(256);
    const heap = debugWrap(pages);
    const root = new TraceAllocator(heap, { tracing: "callstacks", guardHeaders: true });
    heap.setOriginSource(root);
    const physics = root.child("physics");
    const ptr = (function spawnBody(): number {
      return physics.allocate(40);
    })();
    // The debug stack sees the backing block, 16 bytes (the guarded header) before ptr.
    expect(heap.owns(ptr - 16)).toBe(true);
    expect(heap.originOf(ptr - 16)).toMatchObject({ scope: "root/physics", size: 40, ptr });

    heap.space.u8[ptr + 40] = 1;
    const over = catchError(CorruptionError, "ERR_CORRUPTION", () => heap.check());
    expect(over.message).toContain(`block ${hex(ptr)} (40 B, scope root/physics) —\n  guard byte after the block changed at +40 (expected 0xfd, found 0x01)`);
    expect(over.message).toMatch(/\n {2}allocated at spawnBody /);
    heap.space.u8[ptr + 40] = 0xfd;

    physics.deallocate(ptr);
    heap.space.u8[ptr + 8] = 3;
    const afterFree = catchError(CorruptionError, "ERR_CORRUPTION", () => heap.check());
    expect(afterFree.message).toContain(`block ${hex(ptr)} (40 B, scope root/physics) —\n  write after free: byte changed at +8 (expected 0x66, found 0x03)`);
    expect(afterFree.message).toMatch(/\n {2}allocated at spawnBody /);
    heap.space.u8[ptr + 8] = 0x66;
    const twice = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => physics.deallocate(ptr));
    expect(twice.message).toContain(hex(ptr));
    physics.dispose();
    root.dispose();
    root.destroy(); // the tree's own state goes back to the debug stack before it ends
    heap.destroy();
    expect(pages.stats().liveCount).toBe(0);
  });

  it("scopes over a debug stack that captures free stacks: the stack starts at the code that freed through the scope", () => {
    const pages = makePages(256);
    const heap = debugWrap(pages, { captureStacks: true });
    const root = new TraceAllocator(heap, { tracing: "callstacks" });
    heap.setOriginSource(root);
    const physics = root.child("physics");
    const ptr = physics.allocate(40);
    (function dropBody(): void {
      physics.deallocate(ptr);
    })();
    heap.space.u8[ptr + 8] = 3; // a stale pointer writes into the quarantined block
    const afterFree = catchError(CorruptionError, "ERR_CORRUPTION", () => heap.check());
    // The scope's own frames (TraceAllocator.deallocate) are memkit's: cut by identity, as the wrappers' are.
    expect(afterFree.message).toMatch(/\n {2}freed at dropBody /);
    heap.space.u8[ptr + 8] = 0x66;
    physics.dispose();
    root.dispose();
    heap.destroy();
  });
});
