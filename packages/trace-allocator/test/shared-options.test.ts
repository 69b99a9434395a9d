import { AddressSpace, InvalidArgumentError, SharedLock, ThreadTable } from "@memkit/core";
import { GenericAllocator, createRemoteRoutes } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { describe, expect, it } from "vitest";
import { TraceAllocator } from "../src/index.js";

// One thread, a tree created for threads: the options, re-entry under the tree lock, and what
// "off" means there. (The threads themselves: threads.test.ts.)

function rig(): { space: AddressSpace; pages: PageAllocator; routes: number; generic: GenericAllocator; lock: SharedLock; table: ThreadTable } {
  const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20, shared: true });
  const table = ThreadTable.create(space, 1024);
  const seat = table.claim("main");
  const pages = new PageAllocator(space, { controlPtr: 131072, thread: seat });
  const routes = createRemoteRoutes(pages);
  const generic = new GenericAllocator(pages, { routes });
  return { space, pages, routes, generic, lock: new SharedLock(space, 8192, 8, { thread: seat }), table };
}

describe("a tree shared by threads, from one thread", () => {
  it("refuses a lock that is not a SharedLock of the memory, an attach without the lock, and a lock on a tree not made for one", () => {
    const { space, generic, lock } = rig();
    expect(() => new TraceAllocator(generic, { lock: {} as SharedLock })).toThrow(InvalidArgumentError);
    expect(() => new TraceAllocator(generic, { sharedBacking: 1 as unknown as boolean })).toThrow(/sharedBacking must be true or false/);
    const shared = new TraceAllocator(generic, { lock, sharedBacking: true });
    expect(() => TraceAllocator.attach(space, shared.controlPtr, { backing: generic })).toThrow(/shared by threads: pass this thread's handle on the tree lock/);
    expect(() => TraceAllocator.attach(space, shared.controlPtr, { lock })).toThrow(/pass this thread's own backing/);
    const plain = new TraceAllocator(generic);
    expect(() => TraceAllocator.attach(space, plain.controlPtr, { backing: generic, lock })).toThrow(/not created for threads/);
    const other = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20, shared: true });
    const foreign = new SharedLock(other, 8192, 8);
    expect(() => TraceAllocator.attach(space, shared.controlPtr, { backing: generic, lock: foreign })).toThrow(InvalidArgumentError);
    shared.check();
    plain.check();
  });

  it("a budget-warning hook may call into the tree under the lock on the same thread (the lock is taken once per thread)", () => {
    const { generic, lock } = rig();
    const seen: number[] = [];
    const root = new TraceAllocator(generic, {
      lock,
      onBudgetWarning: (w) => {
        // Runs holding the tree lock: allocate, free, report and create a scope through the same tree.
        const p = root.allocate(32);
        seen.push(w.allocator.report().totalLiveBytes);
        root.deallocate(p);
        root.child(`hook-${seen.length}`).dispose();
      },
    });
    const ai = root.child("ai", { budget: { bytes: 1000, onExceed: "warn" } });
    const a = ai.allocate(800);
    const b = ai.allocate(800); // over: the hook runs
    expect(seen).toEqual([800]);
    expect(lock.holder).toBe(0);
    expect(ai.stats().liveBytes).toBe(1600);
    ai.deallocate(a);
    ai.deallocate(b);
    root.check();
  });

  it("reallocate keeps every usable byte of the block, not only the size asked for (containers fill what allocatedSize says)", () => {
    const { space, generic, lock } = rig();
    const root = new TraceAllocator(generic, { lock });
    const plain = new TraceAllocator(new GenericAllocator(new PageAllocator(AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20 }))));
    for (const tree of [root, plain]) {
      const u8 = (): Uint8Array => tree.space.u8;
      // Align 64 moves the block under a larger header: a new block and a copy on either tree.
      for (const [asked, align] of [[20, 8], [384, 8], [1000, 8], [5000, 8], [20, 64], [1000, 64]] as const) {
        const p = tree.allocate(asked);
        const usable = tree.allocatedSize(p);
        for (let b = 0; b < usable; b++) u8()[p + b] = (b * 7 + 1) & 255;
        const q = tree.reallocate(p, usable * 2 + 64, align);
        let wrong = -1;
        for (let b = 0; b < usable && wrong < 0; b++) if (u8()[q + b] !== ((b * 7 + 1) & 255)) wrong = b;
        expect(wrong, `${tree.space.shared ? "shared" : "private"} tree, ${asked} B asked, ${usable} usable, align ${align}: byte ${wrong} lost in the move`).toBe(-1);
        tree.deallocate(q);
      }
      tree.check();
    }
    expect(space.shared).toBe(true);
  });

  it('"off" keeps records on a shared tree: owns, scopeOf and exact frees work, and it reports as "counts"', () => {
    const { generic, lock } = rig();
    const root = new TraceAllocator(generic, { lock, tracing: "off" });
    const child = root.child("quiet", { tracing: "off" });
    expect(root.tracing).toBe("counts");
    expect(child.tracing).toBe("counts");
    const p = child.allocate(40);
    expect(child.owns(p)).toBe(true);
    expect(root.scopeOf(p)).toBe(child);
    expect(() => root.deallocate(p)).toThrow(/root\/quiet/);
    child.deallocate(p);
    expect(() => child.deallocate(p)).toThrow(/freed/);
    root.check();
  });

  it("with sharedBacking, a second handle leases the tables from its own routed allocator and frees the first one's blocks", () => {
    const { space, pages, routes, generic, lock } = rig();
    const root = new TraceAllocator(generic, { lock, sharedBacking: true, initialCapacity: 4 });
    const mine = new GenericAllocator(pages, { name: "second", routes });
    const again = TraceAllocator.attach(space, root.controlPtr, { backing: mine, lock });
    const first = Array.from({ length: 20 }, (_, k) => root.allocate(24 + k));
    const second = Array.from({ length: 40 }, (_, k) => again.allocate(24 + k)); // the records table grows from `mine`
    for (const p of first) again.deallocate(p);
    for (const p of second) root.deallocate(p);
    expect(root.stats().liveCount).toBe(0);
    root.check();
    again.check();
  });
});
