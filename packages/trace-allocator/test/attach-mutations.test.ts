import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom, type Ptr } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { ENTRY_BYTES, TABLE_COUNT, TW_CAP, TW_PTR, T_RECORDS, controlBytes, tableWord } from "../src/layout.js";
import { TraceAllocator, type TracingLevel } from "../src/index.js";

// Attach trusts nothing: damage the control block and every table of a tree in every way a
// stray write, a truncated save or a wrong pointer can, then attach. Damage must be a
// CorruptionError at attach or at the first check(), or leave a handle that serves only
// good blocks (core's runAttachMutations decides).

const backings = new WeakMap<AddressSpace, PageAllocator>();

/** A tree with scopes, labels, retained blocks, a budget and (at "callstacks") sites, then left for the damage. */
function build(seed: number, tracing: TracingLevel): ReturnType<AttachMutationTarget["build"]> {
  const rng = new SeededRandom(seed);
  const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 8 << 20 });
  const pages = new PageAllocator(space, { pageSize: 256 });
  backings.set(space, pages);
  const root = new TraceAllocator(pages, { tracing, freedHistory: 16, initialCapacity: 8 });
  const physics = root.child("physics", { budget: 1 << 20 });
  const audio = root.child("audio").child("music");
  const label = root.labelId(`label ${seed % 3}`);
  const live: [Ptr, number][] = [];
  const scopes = [root, physics, audio];
  const blocks: [TraceAllocator, Ptr][] = [];
  for (let i = 0; i < 24 + (seed % 16); i++) {
    const scope = scopes[rng.int(0, scopes.length - 1)]!;
    const align = rng.int(0, 3) === 0 ? 64 : 8;
    blocks.push([scope, scope.allocate(rng.int(1, 400), align, rng.int(0, 1) === 0 ? label : 0)]);
  }
  for (let i = 0; i < blocks.length; i += 3) blocks[i]![0].deallocate(blocks[i]![1]);
  const kept = blocks.filter((_, i) => i % 3 !== 0);
  if (tracing !== "off") physics.retain(kept.find(([s]) => s === physics)?.[1] ?? physics.allocate(8), "cache");
  const temp = root.child("temp");
  temp.allocate(16);
  temp.disposeAllowingLeaks(Infinity); // an adopted block, a site orphaned
  root.markFrame(seed);
  root.check();
  root.forEachLiveBlock((ptr) => {
    // The backing block starts at the header: 8 bytes before the block, or 64 (the alignment).
    const base = pages.owns(ptr - 8) ? ptr - 8 : ptr - 64;
    live.push([base, pages.allocatedSize(base)]);
  });
  const u32 = space.u32;
  const cw = root.controlPtr >>> 2;
  const regions: [number, number][] = [[root.controlPtr, root.controlPtr + controlBytes(16)]];
  // Tables are not reserved: a handle may grow one (a new block, the old one freed) while it serves.
  const reserved: [number, number][] = [[root.controlPtr, root.controlPtr + controlBytes(16)], [pages.controlPtr, pages.controlPtr + 64]];
  for (let t = 0; t < TABLE_COUNT; t++) {
    const at = u32[cw + tableWord(t, TW_PTR)]!;
    if (at === 0) continue;
    const end = at + u32[cw + tableWord(t, TW_CAP)]! * ENTRY_BYTES[t]!;
    regions.push([at, end]);
    // The records table twice over: it is where most of the state is.
    if (t === T_RECORDS) regions.push([at, end]);
  }
  root.detach();
  return { space, controlPtr: root.controlPtr, regions, live, reserved };
}

function target(tracing: TracingLevel) {
  return {
    build: (seed: number) => build(seed, tracing),
    attach(space: AddressSpace, controlPtr: Ptr) {
      const tree = TraceAllocator.attach(space, controlPtr, { backing: backings.get(space)! });
      return { allocator: tree, check: () => tree.check() };
    },
  };
}

describe("attach to a damaged tree", () => {
  it.each(["counts", "callstacks", "off"] as const)("tracing %s: 480 damaged trees end as a CorruptionError or a handle that serves only good blocks", (tracing) => {
    const outcome = runAttachMutations(target(tracing), { cases: 480, seed: 0x54524345 + tracing.length });
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
  });
});
