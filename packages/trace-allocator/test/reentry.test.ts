import { describe, expect, it } from "vitest";
import { DestroyedError, InvalidPointerError, type Allocator, type AllocatorStats, type Ptr } from "@memkit/core";
import { fillPattern, findPatternMismatch } from "@memkit/core/testing";
import type { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator, type BudgetWarning, type TraceAllocatorOptions } from "../src/index.js";
import { makePages, thrown } from "./helpers.js";

// Every user callback a scope calls may call back into the tree: the budget-warning
// hook, the forEachLiveBlock visitor, and whatever the backing runs inside its own
// allocate (a grow listener of the address space, a wrapper's hook). Whatever they
// do, every structure stays whole: check(), report() and formatReport() work after,
// and no backing block is left behind.

/** check(), report() and formatReport() all work, and the backing holds exactly what the tree counts (and the tree's own state). */
function expectWhole(root: TraceAllocator, pages: PageAllocator, liveBlocks: number): void {
  root.check();
  pages.check();
  expect(root.report().totalLiveCount).toBe(liveBlocks);
  expect(root.formatReport()).toContain(root.name);
  expect(pages.stats().liveCount).toBe(liveBlocks + root.overhead.blocks);
}

function tree(options: TraceAllocatorOptions & { hook?: (w: BudgetWarning) => void } = {}): { root: TraceAllocator; pages: PageAllocator; hooks: ((w: BudgetWarning) => void)[] } {
  const pages = makePages();
  const hooks: ((w: BudgetWarning) => void)[] = [];
  const root = new TraceAllocator(pages, { ...options, onBudgetWarning: (w) => hooks.shift()?.(w) });
  return { root, pages, hooks };
}

/** A backing that runs `during` inside allocate, after it has the block (as a grow listener would). */
class HookedBacking implements Allocator {
  readonly name = "hooked";
  during: (() => void) | undefined;
  constructor(readonly pages: PageAllocator) {}
  get space(): PageAllocator["space"] {
    return this.pages.space;
  }
  allocate(size: number, align?: number): Ptr {
    const ptr = this.pages.allocate(size, align);
    const hook = this.during;
    this.during = undefined;
    hook?.();
    return ptr;
  }
  deallocate(ptr: Ptr): void {
    this.pages.deallocate(ptr);
  }
  reallocate(ptr: Ptr, size: number, align?: number): Ptr {
    return this.pages.reallocate(ptr, size, align);
  }
  allocatedSize(ptr: Ptr): number {
    return this.pages.allocatedSize(ptr);
  }
  owns(ptr: Ptr): boolean {
    return this.pages.owns(ptr);
  }
  stats(): AllocatorStats {
    return this.pages.stats();
  }
}

const ways = [
  ["counts, align 8 (the inline path)", {}, 8],
  ["counts, align 64", {}, 64],
  ["callstacks", { tracing: "callstacks" as const }, 8],
  ["guarded headers", { guardHeaders: true }, 8],
] as const;

describe.each(ways)("a budget-warning hook, %s", (_name, options, align) => {
  it("that disposes the scope being allocated from: the allocation fails with DestroyedError, nothing is left in a closed row", () => {
    const { root, pages, hooks } = tree(options);
    const audio = root.child("audio", { budget: { bytes: 100, onExceed: "warn" } });
    hooks.push(() => audio.dispose());
    const err = thrown(() => audio.allocate(200, align));
    expect(err).toBeInstanceOf(DestroyedError);
    expect(audio.disposed).toBe(true);
    expectWhole(root, pages, 0);
  });

  it("that disposes the scope with its blocks (disposeAllowingLeaks): they move to the parent, the new one is refused", () => {
    const { root, pages, hooks } = tree(options);
    const audio = root.child("audio", { budget: { bytes: 100, onExceed: "warn" } });
    const kept = audio.allocate(60, align);
    fillPattern(audio, kept, 60, 4);
    hooks.push(() => audio.disposeAllowingLeaks(Infinity));
    expect(thrown(() => audio.allocate(200, align))).toBeInstanceOf(DestroyedError);
    expect(root.scopeOf(kept)).toBe(root);
    expect(findPatternMismatch(root, kept, 60, 4)).toBe(-1);
    expectWhole(root, pages, 1);
    root.deallocate(kept);
    expectWhole(root, pages, 0);
  });

  it("that disposes the scope while it resizes one of its blocks: the block stays live and whole, in the parent", () => {
    const { root, pages, hooks } = tree(options);
    const audio = root.child("audio", { budget: { bytes: 100, onExceed: "warn" } });
    const p = audio.allocate(80, align);
    fillPattern(audio, p, 80, 6);
    hooks.push(() => audio.disposeAllowingLeaks(Infinity));
    expect(thrown(() => audio.reallocate(p, 400, align))).toBeInstanceOf(DestroyedError);
    expect(root.scopeOf(p)).toBe(root);
    expect(findPatternMismatch(root, p, 80, 6)).toBe(-1);
    expectWhole(root, pages, 1);
    root.deallocate(p);
  });

  it("that disposes an ancestor (with its subtree): the allocation is refused", () => {
    const { root, pages, hooks } = tree(options);
    const level = root.child("level");
    const audio = level.child("audio", { budget: { bytes: 100, onExceed: "warn" } });
    hooks.push(() => level.disposeAllowingLeaks(Infinity));
    expect(thrown(() => audio.allocate(200, align))).toBeInstanceOf(DestroyedError);
    expect(audio.disposed).toBe(true);
    expectWhole(root, pages, 0);
  });

  it("that allocates, frees and creates child scopes in the same scope: both allocations stand", () => {
    const { root, pages, hooks } = tree(options);
    const audio = root.child("audio", { budget: { bytes: 100, onExceed: "warn" } });
    const gone = audio.allocate(10, align);
    let inner = 0;
    let child: TraceAllocator | undefined;
    hooks.push(() => {
      audio.deallocate(gone);
      inner = audio.allocate(300, align);
      child = audio.child("sfx");
      child.allocate(5);
    });
    const outer = audio.allocate(200, align);
    expect(audio.owns(outer) && audio.owns(inner)).toBe(true);
    expect(audio.stats()).toMatchObject({ liveCount: 2, liveBytes: 500, allocCount: 3, freeCount: 1 });
    expectWhole(root, pages, 3);
  });

  it("that frees the block being resized: the resize is refused, nothing else changes", () => {
    const { root, pages, hooks } = tree(options);
    const audio = root.child("audio", { budget: { bytes: 100, onExceed: "warn" } });
    const p = audio.allocate(80, align);
    hooks.push(() => audio.deallocate(p));
    expect(thrown(() => audio.reallocate(p, 400, align))).toBeInstanceOf(InvalidPointerError);
    expect(audio.stats()).toMatchObject({ liveCount: 0, freeCount: 1 });
    expectWhole(root, pages, 0);
  });
});

describe("code the backing runs inside allocate (a grow listener) re-enters the scope", () => {
  const setup = (options: TraceAllocatorOptions = {}) => {
    const pages = makePages();
    const backing = new HookedBacking(pages);
    const root = new TraceAllocator(backing, { initialCapacity: 1, ...options });
    return { pages, backing, root, audio: root.child("audio") };
  };

  it.each(ways)("%s: nested allocations fill the records the outer one had room in; both are recorded", (_name, options, align) => {
    const { pages, backing, root, audio } = setup(options);
    const inner: number[] = [];
    backing.during = () => {
      // Four: with room for one record when the outer call began, the records are exactly full after them.
      for (let k = 0; k < 4; k++) inner.push(audio.allocate(16, align));
    };
    const outer = audio.allocate(100, align);
    for (const p of [outer, ...inner]) expect(audio.owns(p)).toBe(true);
    expectWhole(root, pages, 5);
    for (const p of [outer, ...inner]) audio.deallocate(p);
    expectWhole(root, pages, 0);
  });

  it.each(ways)("%s: the scope is disposed meanwhile: the block goes back, DestroyedError", (_name, options, align) => {
    const { pages, backing, root, audio } = setup(options);
    backing.during = () => audio.dispose();
    expect(thrown(() => audio.allocate(100, align))).toBeInstanceOf(DestroyedError);
    expectWhole(root, pages, 0);
  });

  it('tracing "off": the scope is disposed meanwhile: the block goes back, DestroyedError', () => {
    const { pages, backing, root } = setup({ tracing: "off" });
    const quiet = root.child("quiet");
    backing.during = () => quiet.dispose();
    expect(thrown(() => quiet.allocate(100))).toBeInstanceOf(DestroyedError);
    expectWhole(root, pages, 0);
  });

  it("the root is disposed meanwhile: the block goes back, DestroyedError", () => {
    const { pages, backing, root } = setup();
    backing.during = () => root.disposeAllowingLeaks(Infinity);
    expect(thrown(() => root.allocate(100))).toBeInstanceOf(DestroyedError);
    root.check();
    expect(pages.stats().liveCount).toBe(root.overhead.blocks);
  });

  it("other blocks are freed meanwhile (records move): the outer block is recorded where it belongs", () => {
    const { pages, backing, root, audio } = setup();
    const a = audio.allocate(10);
    const b = audio.allocate(20);
    backing.during = () => {
      audio.deallocate(a);
      audio.deallocate(b);
    };
    const c = audio.allocate(30);
    expect(audio.stats()).toMatchObject({ liveCount: 1, liveBytes: 30 });
    expectWhole(root, pages, 1);
    audio.deallocate(c);
  });
});

describe("a forEachLiveBlock visitor", () => {
  it("that frees blocks not visited yet: they are not visited (no freed pointer reaches the visitor)", () => {
    const pages = makePages();
    const root = new TraceAllocator(pages);
    const blocks = [10, 20, 30, 40].map((size) => root.allocate(size));
    const seen: number[] = [];
    root.forEachLiveBlock((ptr) => {
      seen.push(ptr);
      for (const other of blocks) if (other !== ptr && root.owns(other)) root.deallocate(other);
    });
    expect(seen).toHaveLength(1);
    root.deallocate(seen[0]!);
    expectWhole(root, pages, 0);
  });

  it("that disposes the scope walked and creates new scopes: the walk stops at the scope's end, nothing breaks", () => {
    const pages = makePages();
    const root = new TraceAllocator(pages);
    const level = root.child("level");
    const blocks = [10, 20, 30].map((size) => level.allocate(size));
    const seen: string[] = [];
    level.forEachLiveBlock((_ptr, _size, scope) => {
      seen.push(scope);
      if (seen.length === 1) {
        level.disposeAllowingLeaks(Infinity);
        root.child("next").allocate(8);
      }
    });
    expect(seen).toEqual(["root/level"]);
    expectWhole(root, pages, 4);
    for (const p of blocks) root.deallocate(p);
  });
});
