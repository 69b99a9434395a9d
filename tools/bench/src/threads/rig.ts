/*
 * The shared memories of the threads bench (docs/threads.md), built by the
 * main thread and attached by each worker. Two rigs:
 *
 *   heaps   a shared PageAllocator and a routes table: each worker makes its
 *           own GenericAllocator over it (the per-thread heap of issue #14)
 *   locked  the same, plus ONE GenericAllocator made here, that every worker
 *           attaches and calls only while holding a spin lock (the baseline)
 *
 * (The memkit-scopes subject uses MemoryGlobals' own share instead.)
 *
 * Layout of the space (below the pages the page allocator hands out):
 *
 *   0      64        128                  1024                 ctrl        firstByte
 *   | null | lock    | (unused)           | thread table       | page      | pages ->
 *   |      | word +  |                    | (ThreadTable.bytes)| allocator |
 *   |      | spare   |                    |                    | control   |
 *
 * The lock word has a cache line of its own, so spinning on it does not
 * bounce a line the allocator writes.
 */
import { AddressSpace, ThreadTable, type ThreadSeat } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator, createRemoteRoutes } from "@memkit/generic-allocator";

export type RigKind = "heaps" | "locked";

/** What a worker needs to attach to a rig: structured-clonable. */
export interface RigShare {
  kind: RigKind;
  memory: WebAssembly.Memory;
  maximumBytes: number;
  tablePtr: number;
  pagesPtr: number;
  /** The routes table every thread's generic allocator shares (heaps). */
  routes: number;
  /** The one generic allocator's control block (locked), else 0. */
  genericPtr: number;
  /** Byte address of the spin lock's word (locked). */
  lockPtr: number;
}

/** The memkit page size MemoryGlobals uses by default (slot slabs are 16 KiB). */
export const RIG_PAGE_SIZE = 16384;
/** Committed up front, so no run grows the memory (workers' views stay valid). */
export const RIG_INITIAL_BYTES = 64 << 20;
export const RIG_MAXIMUM_BYTES = 1 << 30;
const LOCK_PTR = 64;
const TABLE_PTR = 1024;

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** The main thread's side of a rig: the space, its seat and page handle, and what to send workers. */
export interface Rig {
  space: AddressSpace;
  table: ThreadTable;
  seat: ThreadSeat;
  pages: PageAllocator;
  /** The shared allocator (locked), else undefined. */
  generic: GenericAllocator | undefined;
  share: RigShare;
}

/** Builds a rig on a new shared space. */
export function createRig(kind: RigKind, initialBytes: number = RIG_INITIAL_BYTES): Rig {
  const space = AddressSpace.create({ initialBytes, maximumBytes: RIG_MAXIMUM_BYTES, shared: true });
  const table = ThreadTable.create(space, TABLE_PTR);
  const seat = table.claim("main");
  const controlPtr = roundUp(TABLE_PTR + ThreadTable.bytes, 64);
  const firstByte = roundUp(controlPtr + PageAllocator.controlBytes(RIG_MAXIMUM_BYTES, RIG_PAGE_SIZE), RIG_PAGE_SIZE);
  const pages = new PageAllocator(space, { pageSize: RIG_PAGE_SIZE, controlPtr, firstByte, thread: seat });
  const routes = createRemoteRoutes(pages);
  const generic = kind === "locked" ? new GenericAllocator(pages, { name: "one" }) : undefined;
  return {
    space,
    table,
    seat,
    pages,
    generic,
    share: { kind, memory: space.memory, maximumBytes: RIG_MAXIMUM_BYTES, tablePtr: TABLE_PTR, pagesPtr: controlPtr, routes, genericPtr: generic?.controlPtr ?? 0, lockPtr: LOCK_PTR },
  };
}

/** A worker's side of a rig: its seat, its page handle, and the generic allocator it allocates through. */
export interface AttachedRig {
  space: AddressSpace;
  table: ThreadTable;
  seat: ThreadSeat;
  pages: PageAllocator;
  /** heaps: this thread's own (routed); locked: a handle on the one shared allocator. */
  generic: GenericAllocator;
  /** Ends this thread's part: collects remote frees (heaps), checks, detaches, ends the seat. */
  end(): void;
}

/** Attaches this thread to a rig under `threadName`. */
export function attachRig(share: RigShare, threadName: string): AttachedRig {
  const space = AddressSpace.attach(share.memory, { maximumBytes: share.maximumBytes });
  const table = ThreadTable.attach(space, share.tablePtr);
  const seat = table.claim(threadName);
  const pages = PageAllocator.attach(space, share.pagesPtr, { thread: seat });
  const own = share.kind === "heaps";
  // Attaching reads the allocator's whole state, which another worker may be changing: the one allocator is only ever touched under its lock.
  const lock = own ? undefined : new SpinLock(space, share.lockPtr);
  let generic: GenericAllocator;
  if (lock === undefined) {
    generic = new GenericAllocator(pages, { name: threadName, routes: share.routes });
  } else {
    lock.acquire();
    try {
      generic = GenericAllocator.attach(space, share.genericPtr, { pages });
    } finally {
      lock.release();
    }
  }
  return {
    space,
    table,
    seat,
    pages,
    generic,
    end(): void {
      if (own) {
        generic.collectRemoteFrees();
        generic.check();
        // Every block of the bench was freed: the heap goes back to the pages.
        generic.destroy();
      } else {
        lock!.acquire();
        try {
          generic.detach();
        } finally {
          lock!.release();
        }
      }
      pages.detach();
      table.endSeat(seat);
    },
  };
}

/**
 * The baseline's lock: one int32 word in the shared memory, taken with a
 * compare-and-swap (test-and-test-and-set). A waiter spins on plain atomic
 * loads; after a long spin it sleeps 20 us on a word nobody notifies (a
 * yield, so a descheduled holder on a loaded 2-core machine gets the core).
 * Release is one store: no notify on the fast path.
 */
export class SpinLock {
  private readonly i32: Int32Array;
  private readonly word: number;

  constructor(space: AddressSpace, lockPtr: number) {
    this.i32 = space.i32;
    this.word = lockPtr >>> 2;
  }

  acquire(): void {
    const i32 = this.i32;
    const w = this.word;
    if (Atomics.compareExchange(i32, w, 0, 1) === 0) return;
    let spins = 0;
    for (;;) {
      while (Atomics.load(i32, w) !== 0) {
        if (++spins === 4096) {
          spins = 0;
          Atomics.wait(i32, w + 1, 0, 0.02);
        }
      }
      if (Atomics.compareExchange(i32, w, 0, 1) === 0) return;
    }
  }

  release(): void {
    Atomics.store(this.i32, this.word, 0);
  }
}
