import { InvalidArgumentError, SpaceHandle, hex, type AddressSpace, type Ptr } from "@memkit/core";
import { PageAllocator } from "./page-allocator.js";

/**
 * The page allocator handle an allocator being attached leases through:
 * `given` (which must be on `pagesPtr`, the page allocator its control block
 * names, in the same space), else this thread's live handle on `pagesPtr`,
 * else a new handle attached to it. A handle found or attached here is
 * shared by whatever attaches next, so the attaching allocator never ends it
 * (an unused one is collected with its last user).
 */
export function pageAllocatorAt(space: AddressSpace, pagesPtr: Ptr, given: PageAllocator | undefined, who: string): PageAllocator {
  if (given !== undefined) {
    if (!(given instanceof PageAllocator) || given.space !== space || given.controlPtr !== pagesPtr) {
      const received = given instanceof PageAllocator ? ` (received the one at ${hex(given.controlPtr)}${given.space === space ? "" : " of another space"})` : "";
      throw new InvalidArgumentError(`${who}: option pages must be a handle on the page allocator at ${hex(pagesPtr)} in the same space, the one it leases from${received}.`);
    }
    return given;
  }
  return SpaceHandle.lookup(space, pagesPtr, PageAllocator) ?? PageAllocator.attach(space, pagesPtr);
}
