import { InvalidArgumentError, SpaceHandle, hex, type AddressSpace, type Ptr } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";

/**
 * The page allocator handle an attaching slot allocator leases from: `given`
 * (which must be on `pagesPtr`, the page allocator the control block names),
 * else this thread's live handle on `pagesPtr`, else a new handle attached to
 * it. A handle found or attached here is shared: detaching the slot
 * allocator leaves it alone (an unused one is collected).
 */
export function pagesAt(space: AddressSpace, pagesPtr: Ptr, given: PageAllocator | undefined, who: string): PageAllocator {
  if (given !== undefined) {
    if (!(given instanceof PageAllocator) || given.space !== space || given.controlPtr !== pagesPtr) {
      throw new InvalidArgumentError(
        `${who}: option pages must be a handle on the page allocator at ${hex(pagesPtr)} in the same space, the one this slot allocator leases from` +
          (given instanceof PageAllocator ? ` (received the one at ${hex(given.controlPtr)}${given.space === space ? "" : " of another space"}).` : "."),
      );
    }
    return given;
  }
  // SEAM(#13 page/heap branch): until PageAllocator extends SpaceHandle, lookup finds
  // nothing (hence the casts) and every attach makes its own page handle.
  const found = SpaceHandle.lookup(space, pagesPtr, PageAllocator as unknown as abstract new () => SpaceHandle) as unknown as PageAllocator | undefined;
  return found ?? PageAllocator.attach(space, pagesPtr);
}
