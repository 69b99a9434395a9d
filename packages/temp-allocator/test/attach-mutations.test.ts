import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom, type Ptr } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { CHUNK_HEADER, FrameAllocator, ScratchAllocator, type ScratchMark } from "@memkit/temp-allocator";

// Attach trusts nothing: damage a temp allocator's control block, its chunk
// headers or its tables (random bytes, truncation, bit flips, field edits),
// then attach a second handle. The outcome must be a CorruptionError at
// attach or at the first check(), or a handle that serves only blocks that
// overlap nothing live and no control memory.

type MutationSubject = ReturnType<AttachMutationTarget["build"]>;

const SPACE = 2 << 20;
const PAGE = 4096;
const pagesBySpace = new WeakMap<AddressSpace, PageAllocator>();

function pagesFor(space: AddressSpace): PageAllocator {
  return pagesBySpace.get(space)!;
}

function newPages(): PageAllocator {
  const space = AddressSpace.create({ initialBytes: SPACE, maximumBytes: SPACE });
  const pages = new PageAllocator(space, { pageSize: PAGE });
  pagesBySpace.set(space, pages);
  return pages;
}

/** The control memory of the page allocator, which no block may overlap. */
function pageControl(pages: PageAllocator): [number, number] {
  return [pages.controlPtr, pages.controlPtr + PageAllocator.controlBytes(SPACE, PAGE)];
}

/** Every chunk's 32-byte header (found by the pages each chunk is: pages the allocator holds beyond its control block and tables). */
function chunkHeaders(pages: PageAllocator, own: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  pages.forEachSpan((ptr, _bytes, used) => {
    if (used && !own.includes(ptr)) out.push([ptr, ptr + CHUNK_HEADER]);
  });
  return out;
}

const frameTarget: AttachMutationTarget = {
  build(seed: number): MutationSubject {
    const pages = newPages();
    const rng = new SeededRandom(seed);
    const arenas = 2 + (seed % 3);
    const frame = new FrameAllocator(pages, { chunkBytes: PAGE, arenas, debug: seed % 4 === 1, growthWarningFactor: Infinity });
    const byFrame: [Ptr, number][][] = [];
    const frames = arenas + 1 + (seed % 3);
    for (let f = 0; f < frames; f++) {
      frame.beginFrame();
      const blocks: [Ptr, number][] = [];
      for (let i = 0, n = rng.int(4, 30); i < n; i++) {
        const size = rng.int(0, 9) === 0 ? rng.int(4000, 9000) : rng.int(1, 700);
        blocks.push([frame.allocate(size, rng.int(0, 5) === 0 ? 64 : 8), size]);
      }
      byFrame.push(blocks);
    }
    const live = byFrame.slice(-arenas).flat();
    const ptr = frame.controlPtr;
    const control: [number, number] = [ptr, ptr + FrameAllocator.controlBytes(arenas)];
    frame.detach();
    const headers = chunkHeaders(pages, [ptr]);
    return { space: pages.space, controlPtr: ptr, regions: [control, control, control, ...headers], live, reserved: [control, pageControl(pages), ...headers] };
  },
  attach(space: AddressSpace, controlPtr: Ptr) {
    const frame = FrameAllocator.attach(space, controlPtr, { backing: pagesFor(space), onFrameGrowth: () => undefined });
    return { allocator: frame, check: () => frame.check() };
  },
};

const scratchTarget: AttachMutationTarget = {
  build(seed: number): MutationSubject {
    const pages = newPages();
    const rng = new SeededRandom(seed);
    const scratch = new ScratchAllocator(pages, { chunkBytes: PAGE });
    const stack: [Ptr, number][] = [];
    const marks: [ScratchMark, number][] = [];
    for (let op = 0, n = rng.int(20, 90); op < n; op++) {
      const pick = rng.int(0, 9);
      if (pick < 6) {
        const size = rng.int(0, 12) === 0 ? rng.int(4000, 9000) : rng.int(1, 600);
        stack.push([scratch.allocate(size, rng.int(0, 5) === 0 ? 128 : 8), size]);
      } else if (pick < 8) {
        marks.push([scratch.mark(), stack.length]);
      } else if (pick === 8 && marks.length > 1) {
        const [mark, length] = marks.pop()!;
        scratch.release(mark);
        stack.length = length;
      } else if (stack.length > (marks.at(-1)?.[1] ?? 0)) {
        scratch.deallocate(stack.pop()![0]);
      }
    }
    const ptr = scratch.controlPtr;
    const control: [number, number] = [ptr, ptr + ScratchAllocator.controlBytes()];
    const u32 = pages.space.u32;
    // The tables block: mark records, then the live table (scratch-layout.ts: W_TABLES is word 27, W_LIVE_BASE word 31).
    const tables = u32[(ptr >>> 2) + 27]!;
    const liveBase = u32[(ptr >>> 2) + 31]! * 4;
    const regions: [number, number][] = [control, control, control];
    if (tables !== 0) regions.push([tables, tables + marks.length * 32 + 4], [liveBase, liveBase + stack.length * 4 + 4]);
    scratch.detach();
    const headers = chunkHeaders(pages, [ptr, tables]);
    const reserved: [number, number][] = [control, pageControl(pages), ...headers];
    if (tables !== 0) reserved.push([tables, tables + pages.allocatedSize(tables)]);
    return { space: pages.space, controlPtr: ptr, regions: [...regions, ...headers], live: stack, reserved };
  },
  attach(space: AddressSpace, controlPtr: Ptr) {
    const scratch = ScratchAllocator.attach(space, controlPtr, { backing: pagesFor(space) });
    return { allocator: scratch, check: () => scratch.check() };
  },
};

describe("attach trusts nothing", () => {
  for (const [name, target] of [["FrameAllocator", frameTarget], ["ScratchAllocator", scratchTarget]] as const) {
    it(`${name}: 480 damaged control blocks, chunk headers and tables end in a CorruptionError or a handle that serves safely`, () => {
      const outcome = runAttachMutations(target, { cases: 480 });
      expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
      expect(outcome.refusedAtAttach).toBeGreaterThan(0);
      expect(outcome.caughtByCheck).toBeGreaterThan(0);
      expect(Object.values(outcome.byKind)).toEqual([120, 120, 120, 120]);
    });
  }
});
