import { pushRemoteFree, type Ptr } from "@memkit/core";
import { foreignHeapBlockSize, heapRemoteFreeWord } from "@memkit/heap-allocator";
import type { PageAllocator } from "@memkit/page-allocator";
import { foreignSlotSize, slotRemoteFreeWord } from "@memkit/slot-allocator";
import { W_REMOTE_HEAD } from "./layout.js";
import { ROUTE_HEAP, ROUTE_LARGE, ROUTE_SLOTS, routeControl, routeKind } from "./routes.js";

/*
 * Blocks of another thread's generic allocator (docs/threads.md): found
 * through the routes table from the page's owner, sized by read-only checks
 * of the owning tier, and freed by pushing them onto that tier's remote-free
 * list. The owning thread frees them for real when it collects.
 */

/**
 * Usable bytes of the live block at `ptr` of the allocator registered for
 * page owner `owner` in the routes table whose entry 0 is int32 word
 * `routes`, or -1 when it is no live block of a routed allocator.
 */
export function foreignSize(i32: Int32Array, routes: number, pages: PageAllocator, owner: number, ptr: Ptr): number {
  return routedSize(i32, pages, routeKind(i32, routes, owner), routeControl(i32, routes, owner), ptr);
}

/**
 * Hands the live block at `ptr` (of the allocator registered for `owner`)
 * to its owning thread: pushes it onto that tier's remote-free list.
 * Returns false, changing nothing, when it is no live block of a routed allocator.
 */
export function freeForeign(i32: Int32Array, routes: number, pages: PageAllocator, owner: number, ptr: Ptr): boolean {
  const kind = routeKind(i32, routes, owner);
  const control = routeControl(i32, routes, owner);
  if (routedSize(i32, pages, kind, control, ptr) < 0) return false;
  const head = kind === ROUTE_SLOTS ? slotRemoteFreeWord(control) : kind === ROUTE_HEAP ? heapRemoteFreeWord(control) : (control >>> 2) + W_REMOTE_HEAD;
  pushRemoteFree(i32, head, ptr);
  return true;
}

/** Usable bytes of the live block at `ptr` of the tier `kind` whose control block is `control`, or -1. */
function routedSize(i32: Int32Array, pages: PageAllocator, kind: number, control: Ptr, ptr: Ptr): number {
  const tags = pages.tagWordBase;
  if (kind === ROUTE_SLOTS) return foreignSlotSize(i32, control, tags, ptr);
  if (kind === ROUTE_HEAP) return foreignHeapBlockSize(i32, control, tags, ptr);
  if (kind === ROUTE_LARGE) {
    // Large spans carry tag data 0; the generic allocator's own control span does not.
    if ((i32[tags + (ptr >>> pages.pageShift)]! & 0xff_ffff) !== 0 || !pages.owns(ptr)) return -1;
    return pages.allocatedSize(ptr);
  }
  return -1;
}
