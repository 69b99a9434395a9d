import { AddressSpace } from "@memkit/core";
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
