import { InvalidPointerError, SharedLock } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { D_LIVE_BYTES, D_TOTAL_COUNT, HEADER_BYTES, W_REC_COUNT, W_REC_PTR } from "../src/layout.js";
import { rowF64 } from "../src/tree-view.js";
import { sharedRig } from "./helpers.js";

// A thread that dies holding the tree lock leaves its section half written (the tree's words are
// not undo-logged): the next thread to take the lock repairs the tree from its records.

const rig = sharedRig;

describe("repair after a dead holder of the tree lock", () => {
  it("a free that died between moving the last record and shortening the table: the duplicate goes, headers and counts are rewritten", () => {
    const { space, table, root, lock } = rig();
    const physics = root.child("physics");
    const blocks = Array.from({ length: 10 }, (_, k) => ({ ptr: physics.allocate(16 + k * 8), size: 16 + k * 8 }));
    root.check(); // moves the blocks from this thread's lane into the tree's records, which this test damages
    const victim = blocks[3]!;
    // Another thread takes the lock and starts freeing the victim: the last record moves into the
    // victim's hole, the own live bytes drop; then it dies (no header rewrite, no count, no totals).
    const dead = table.claim("dying");
    const theirs = new SharedLock(space, 8192, 8, { thread: dead });
    theirs.acquire();
    const i32 = space.i32;
    const cw = root.controlPtr >>> 2;
    const n = i32[cw + W_REC_COUNT]!;
    const hole = i32[(victim.ptr - HEADER_BYTES) >> 2]!;
    const recW = i32[cw + W_REC_PTR]! >>> 2;
    for (let k = 0; k < 4; k++) i32[recW + hole * 4 + k] = i32[recW + (n - 1) * 4 + k]!;
    const o = rowF64(physics, physics.row) + D_LIVE_BYTES;
    space.f64[o] = space.f64[o]! - victim.size;
    table.declareDead(dead.slot, dead.generation);

    expect(lock.takeovers).toBe(0);
    physics.check(); // takes the lock over, repairs, then verifies
    expect(lock.takeovers).toBe(1);
    const others = blocks.filter((b) => b !== victim);
    const stats = physics.stats();
    // The victim's backing block was never given back (a leak); the tree no longer knows it.
    expect(stats.liveCount).toBe(9);
    expect(stats.liveBytes).toBe(others.reduce((s, b) => s + b.size, 0));
    expect(space.f64[rowF64(root, 0) + D_TOTAL_COUNT]).toBe(9);
    expect(physics.owns(victim.ptr)).toBe(false);
    expect(() => physics.deallocate(victim.ptr)).toThrow(InvalidPointerError);
    for (const b of others) physics.deallocate(b.ptr);
    expect(physics.stats().liveCount).toBe(0);
    root.check();
  });

  it("an allocation that died after counting its record but before its header and counters", () => {
    const { space, table, root, generic } = rig();
    const ai = root.child("ai");
    ai.allocate(100);
    const b = ai.allocate(200);
    const dead = table.claim("dying");
    const theirs = new SharedLock(space, 8192, 8, { thread: dead });
    theirs.acquire();
    // The dying thread had taken its backing block (before the lock) and written its record.
    const c = generic.allocate(48 + HEADER_BYTES, 8) + HEADER_BYTES;
    const i32 = space.i32;
    const cw = root.controlPtr >>> 2;
    const n = i32[cw + W_REC_COUNT]!;
    const r = (i32[cw + W_REC_PTR]! >>> 2) + n * 4;
    i32[r] = c;
    i32[r + 1] = 48;
    i32[r + 2] = ai.row;
    i32[r + 3] = 0;
    i32[cw + W_REC_COUNT] = n + 1;
    i32[(c - HEADER_BYTES) >> 2] = 12345; // stale header
    table.declareDead(dead.slot, dead.generation);
    expect(ai.owns(c)).toBe(true); // the lock is taken over, the header rewritten from the record
    expect(ai.stats()).toMatchObject({ liveCount: 3, liveBytes: 348 });
    root.check();
    ai.deallocate(b);
    expect(ai.stats()).toMatchObject({ liveCount: 2, liveBytes: 148 });
  });
});
