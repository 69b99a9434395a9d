import { AddressSpace, SharedLock, ThreadTable, type ThreadSeat } from "@memkit/core";
import { GenericAllocator, createRemoteRoutes } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "../src/index.js";
import type { TraceAllocatorOptions } from "../src/index.js";

/** A small space with a 256-byte-page allocator: cheap to build per test. */
export function makePages(maximumBytes = 64 << 20): PageAllocator {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes });
  return new PageAllocator(space, { pageSize: 256 });
}

/** A root scope over fresh 256-byte pages. */
export function makeRoot(options: TraceAllocatorOptions = {}, maximumBytes?: number): { root: TraceAllocator; pages: PageAllocator } {
  const pages = makePages(maximumBytes);
  return { root: new TraceAllocator(pages, options), pages };
}

/** Runs `fn` and returns what it threw (fails when it returns). */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected a throw, but the call returned");
}

/** A tree shared by threads, built by the "main" thread of a shared space: its seat, lock, routed generic backing. */
export interface SharedRig {
  space: AddressSpace;
  table: ThreadTable;
  seat: ThreadSeat;
  generic: GenericAllocator;
  lock: SharedLock;
  root: TraceAllocator;
}

export function sharedRig(): SharedRig {
  const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20, shared: true });
  const table = ThreadTable.create(space, 1024);
  const seat = table.claim("main");
  const pages = new PageAllocator(space, { controlPtr: 131072, thread: seat });
  const generic = new GenericAllocator(pages, { routes: createRemoteRoutes(pages) });
  const lock = new SharedLock(space, 8192, 8, { thread: seat, name: "tree" });
  return { space, table, seat, generic, lock, root: new TraceAllocator(generic, { lock, sharedBacking: true }) };
}
