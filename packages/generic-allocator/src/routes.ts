import { initControl, openControl, sealControl, type AddressSpace, type ControlLayout, type Ptr } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";

/*
 * The routes table: which allocator owns the blocks of each page-map owner,
 * shared by the generic allocators of several threads over one page
 * allocator (docs/threads.md). A thread asked to free a block its own tiers
 * do not hold looks up the page's owner here and pushes the block onto that
 * tier's remote-free list; the owning thread frees it.
 *
 *   control block "ROUT" (a page span of the page allocator, untagged):
 *   0..3    core's header: magic, layout version, bytes, seal
 *   4..515  256 entries of 2 words, indexed by page-map owner id:
 *             +0 kind   ROUTE_NONE, ROUTE_SLOTS, ROUTE_HEAP or ROUTE_LARGE
 *             +1 the control block of that tier (large: of the generic allocator)
 *
 * An entry is written by the generic allocator that registered the owner,
 * before any block of that owner exists, and cleared when it is destroyed;
 * readers load the kind with Atomics.
 */

export const ROUTES_LAYOUT: ControlLayout = { kind: "RemoteRoutes", magic: "ROUT", version: 1, fixedWords: 0 };
/** Int32 word of entry 0. */
const W_ENTRIES = 4;
const ENTRIES = 256;
export const ROUTES_BYTES = (W_ENTRIES + ENTRIES * 2) * 4;

export const ROUTE_NONE = 0;
export const ROUTE_SLOTS = 1;
export const ROUTE_HEAP = 2;
export const ROUTE_LARGE = 3;

/**
 * A new, empty routes table leased from `pages`: pass its pointer as the
 * `routes` option of every generic allocator that threads share.
 */
export function createRemoteRoutes(pages: PageAllocator): Ptr {
  const ptr = pages.allocate(ROUTES_BYTES);
  initControl(pages.space, ptr, ROUTES_LAYOUT, ROUTES_BYTES);
  sealControl(pages.space, ptr, ROUTES_LAYOUT);
  return ptr;
}

/** Verifies the routes table at `ptr` (CorruptionError naming what was found) and returns the int32 word of entry 0. */
export function openRoutes(space: AddressSpace, ptr: Ptr, who: string): number {
  openControl(space, ptr, ROUTES_LAYOUT, who, [ROUTES_BYTES, ROUTES_BYTES]);
  return (ptr >>> 2) + W_ENTRIES;
}

/** Sets the route of `owner` (1..255). */
export function setRoute(i32: Int32Array, entries: number, owner: number, kind: number, controlPtr: Ptr): void {
  const e = entries + owner * 2;
  i32[e + 1] = controlPtr;
  Atomics.store(i32, e, kind);
}

/** The route kind of `owner` (ROUTE_NONE for 0 or an unregistered owner). */
export function routeKind(i32: Int32Array, entries: number, owner: number): number {
  return Atomics.load(i32, entries + owner * 2);
}

/** The control block of `owner`'s route. */
export function routeControl(i32: Int32Array, entries: number, owner: number): Ptr {
  return i32[entries + owner * 2 + 1]!;
}
