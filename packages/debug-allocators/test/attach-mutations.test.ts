import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget, type MutationSubject } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { DebugAllocator, EndOfPageAllocator, debugWrap, type DebugWrapper } from "../src/index.js";
import { QUEUE_ENTRY_WORDS } from "../src/quarantine-queue.js";
import { W_HISTORY, W_QUEUE, W_QUEUE_CAP, W_TABLE, W_TABLE_SLOTS } from "../src/wrapper-layout.js";

type Range = readonly [number, number];

/** The page allocator of the subject being built (each case has its own space): what attach passes as the backing. */
let pages: PageAllocator | undefined;

/**
 * The regions of one wrapper the damage is spread over: header and fixed
 * words, state words (counters, table and queue words), its free history,
 * its live-block table and its quarantine queue (when it has one).
 */
function wrapperRegions(w: DebugWrapper, regions: Range[], reserved: Range[]): void {
  const c = w.controlPtr;
  const u32 = w.space.u32;
  const bytes = u32[(c >>> 2) + 2]!;
  regions.push([c, c + 56], [c + 56, c + W_HISTORY * 4], [c + W_HISTORY * 4, c + bytes]);
  reserved.push([c, c + bytes]);
  const table = u32[(c >>> 2) + W_TABLE]!;
  const tableBytes = u32[(c >>> 2) + W_TABLE_SLOTS]! * 16;
  // Tables and queues are not reserved: a serving handle grows them and gives the old blocks back.
  regions.push([table, table + tableBytes]);
  const queue = u32[(c >>> 2) + W_QUEUE]!;
  if (queue !== 0) {
    const cap = u32[(c >>> 2) + W_QUEUE_CAP]!;
    regions.push([queue, queue + cap * QUEUE_ENTRY_WORDS * 4], [queue + cap * QUEUE_ENTRY_WORDS * 4, queue + cap * (QUEUE_ENTRY_WORDS + 4) * 4]);
  }
}

/** Live, quarantined and freed blocks through `a`; returns ranges the backing still holds for the live ones (`before`/`after` guard bytes around each). */
function exercise(a: { allocate(n: number, align?: number): number; deallocate(p: number): void }, seed: number, before: number, after: number): Range[] {
  const rng = new SeededRandom(seed + 11);
  const blocks: [number, number][] = [];
  for (let i = 0; i < 60 + (seed % 30); i++) {
    const size = rng.int(1, 900);
    blocks.push([a.allocate(size, rng.chance(0.1) ? 64 : 8), size]);
  }
  const held: Range[] = [];
  for (const [p, size] of blocks) {
    if (rng.chance(0.4)) a.deallocate(p);
    // Freed blocks may sit in quarantine: the backing still holds them either way, or may hand them out again (harmless).
    else held.push([p - before, p + size + after]);
  }
  return held;
}

const debugTarget: AttachMutationTarget = {
  build(seed): MutationSubject {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 32 << 20 });
    pages = new PageAllocator(space, { pageSize: 256 });
    const dbg = debugWrap(pages, { quarantine: { maxBytes: 8 << 10 }, captureStacks: seed % 2 === 0 });
    const live = exercise(dbg, seed, 16, 16);
    const regions: Range[] = [[dbg.controlPtr, dbg.controlPtr + 32]];
    const reserved: Range[] = [[0, pages.range.start], [dbg.controlPtr, dbg.controlPtr + 32]];
    for (const layer of [dbg.canary!, dbg.fill!, dbg.quarantine!]) wrapperRegions(layer, regions, reserved);
    dbg.detach();
    return { space, controlPtr: dbg.controlPtr, regions, live, reserved };
  },
  attach(space, controlPtr) {
    const dbg = DebugAllocator.attach(space, controlPtr, { backing: pages! });
    return { allocator: dbg, check: () => dbg.check() };
  },
};

const endOfPageTarget: AttachMutationTarget = {
  build(seed): MutationSubject {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 32 << 20 });
    pages = new PageAllocator(space, { pageSize: 256 });
    const overrun = seed % 2 === 0;
    const eop = new EndOfPageAllocator(pages, { mode: overrun ? "overrun" : "underrun", guardBytes: 64 });
    const live = exercise(eop, seed, overrun ? 0 : 64, overrun ? 64 : 0);
    const regions: Range[] = [];
    const reserved: Range[] = [[0, pages.range.start]];
    wrapperRegions(eop, regions, reserved);
    eop.detach();
    return { space, controlPtr: eop.controlPtr, regions, live, reserved };
  },
  attach(space, controlPtr) {
    const eop = EndOfPageAllocator.attach(space, controlPtr, { backing: pages! });
    return { allocator: eop, check: () => eop.check() };
  },
};

describe("debug allocators' attach trusts nothing", () => {
  it("ends 480 damaged debug stacks (DBUG, quarantine, fill and canary blocks, their tables, histories and queue) in a CorruptionError at attach or check(), or a handle serving only good blocks", () => {
    const outcome = runAttachMutations(debugTarget, { cases: 480 });
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
  });

  it("ends 160 damaged end-of-page wrappers the same way", () => {
    const outcome = runAttachMutations(endOfPageTarget, { cases: 160, seed: 0x454f50 });
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
  });
});
