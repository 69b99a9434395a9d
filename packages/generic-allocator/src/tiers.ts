import {
  CorruptionError,
  InvalidArgumentError,
  OutOfMemoryError,
  SpaceHandle,
  describe,
  formatBytes,
  hex,
  initControl,
  sealControl,
  type Attachment,
  type AddressSpace,
  type Ptr,
} from "@memkit/core";
import { HeapAllocator } from "@memkit/heap-allocator";
import { pageAllocatorAt, type PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import {
  CONTROL_BYTES,
  CONTROL_TAG,
  GENERIC_LAYOUT,
  W_HEAP,
  W_LARGE_OWNER,
  W_LARGE_THRESHOLD,
  W_PAGES,
  W_REMOTE_HEAD,
  W_ROUTES,
  W_SLOTS,
  W_SMALL_ALIGN_MAX,
  W_SMALL_MAX,
} from "./layout.js";
import { resolvePolicy, type GenericAllocatorOptions, type GenericAttachOptions } from "./options.js";
import { ROUTE_HEAP, ROUTE_LARGE, ROUTE_SLOTS, openRoutes, setRoute } from "./routes.js";

/*
 * The three tiers behind a generic allocator, and its control block: built
 * new by the constructor, or found again from the control block by attach.
 */

/** The slot tier's largest slot, unless options.slots says otherwise (with slabs of at least 32 KiB; an eighth of smaller ones). */
const DEFAULT_MAX_SLOT = 4096;

/** What a generic allocator handle routes to. */
export interface Tiers {
  name: string;
  pages: PageAllocator;
  slots: SlotAllocator;
  heap: HeapAllocator;
  controlPtr: Ptr;
}

/**
 * Creates both tiers over `pages`, registers the large-span owner and writes
 * the control block (one page span tagged `largeOwner << 24 | CONTROL_TAG`)
 * with the policy sealed in it. Bad options throw InvalidArgumentError and
 * leave nothing behind.
 */
export function createTiers(pages: PageAllocator, options: GenericAllocatorOptions): Tiers {
  const name = options.name ?? "generic";
  const routesPtr = options.routes ?? 0;
  if (typeof routesPtr !== "number") throw new InvalidArgumentError(`GenericAllocator "${name}": option routes must be the pointer createRemoteRoutes returned, received ${describe(routesPtr)}.`);
  const routes = routesPtr === 0 ? -1 : openRoutes(pages.space, routesPtr, `GenericAllocator "${name}"`);
  // Slabs of 32 KiB (or one page, if larger), slots up to 4 KiB: faster than 16 KiB slabs on
  // every workload and trace of the bench, and blocks of 2-4 KiB (C's middle, real programs'
  // buffers) are served by a slab rather than the heap. The price: 52 size classes each
  // holding a partly used slab cost 1.6 MiB, against 704 KiB with 16 KiB slabs and 2 KiB
  // slots (docs/perf-log.md, round 6 of #15).
  const slabBytes = options.slots?.slabBytes ?? Math.max(pages.pageSize, 32768);
  const maxSlotSize = typeof slabBytes === "number" && slabBytes >= 16384 ? Math.min(DEFAULT_MAX_SLOT, slabBytes / 8) : undefined;
  // As many bytes of empty slabs kept for reuse as the slot allocator keeps by default (4 of 64 KiB): with
  // 4 of 16 KiB, a frame that frees all its blocks handed slabs back to the page allocator and leased them
  // again in the next frame, several times a frame (docs/perf-log.md).
  const keepEmptySlabs = typeof slabBytes === "number" && slabBytes > 0 ? Math.max(4, Math.floor((4 * 65536) / slabBytes)) : 4;
  const slots = new SlotAllocator(pages, { name: `${name}.slots`, slabBytes, keepEmptySlabs, ...(maxSlotSize === undefined ? {} : { maxSlotSize }), ...options.slots });
  let heap: HeapAllocator | undefined;
  try {
    heap = new HeapAllocator(pages, { name: `${name}.heap`, ...options.heap });
    const largeOwner = pages.registerOwner(`${name}.large`);
    const policy = resolvePolicy(name, options, slots.maxSlotSize);
    let ptr: Ptr;
    try {
      ptr = pages.allocate(CONTROL_BYTES);
    } catch (cause) {
      if (!(cause instanceof OutOfMemoryError)) throw cause;
      throw new OutOfMemoryError(`${name}: cannot lease a page for its ${formatBytes(CONTROL_BYTES)} control block from ${pages.name}.`, { cause });
    }
    pages.setTag(ptr, largeOwner, CONTROL_TAG);
    const space = pages.space;
    initControl(space, ptr, GENERIC_LAYOUT, CONTROL_BYTES);
    const u32 = space.u32;
    const w = ptr >>> 2;
    u32[w + W_PAGES] = pages.controlPtr;
    u32[w + W_SLOTS] = slots.controlPtr;
    u32[w + W_HEAP] = heap.controlPtr;
    u32[w + W_LARGE_OWNER] = largeOwner;
    u32[w + W_SMALL_MAX] = policy.smallMax;
    u32[w + W_SMALL_ALIGN_MAX] = policy.smallAlignMax;
    u32[w + W_LARGE_THRESHOLD] = policy.largeThreshold;
    u32[w + W_ROUTES] = routesPtr;
    sealControl(space, ptr, GENERIC_LAYOUT);
    if (routes >= 0) {
      const i32 = space.i32;
      setRoute(i32, routes, slots.ownerId, ROUTE_SLOTS, slots.controlPtr);
      setRoute(i32, routes, heap.ownerId, ROUTE_HEAP, heap.controlPtr);
      setRoute(i32, routes, largeOwner, ROUTE_LARGE, ptr);
    }
    return { name, pages, slots, heap, controlPtr: ptr };
  } catch (err) {
    heap?.destroy();
    slots.destroy();
    throw err;
  }
}

/**
 * Finds the tiers a verified control block names: the page allocator handle
 * (`options.pages`, else this thread's, else attached), then this thread's
 * handles on the slot and heap tiers, attached when there are none. Checks
 * that the control block's span is where the page map says and that the
 * tiers lease from the same page allocator under distinct owners.
 */
export function attachTiers(att: Attachment, options: GenericAttachOptions): Tiers {
  const { space, controlPtr, who } = att;
  const u32 = space.u32;
  const w = controlPtr >>> 2;
  const name = options.name ?? "generic";
  const pages = pageAllocatorAt(space, u32[w + W_PAGES]!, options.pages, who);
  const largeOwner = u32[w + W_LARGE_OWNER]!;
  const bad = (what: string): CorruptionError => new CorruptionError(`${who}: the generic allocator at ${hex(controlPtr)} ${what}: its control block is damaged.`);
  if (largeOwner < 1 || largeOwner > 255) throw bad(`names large-span owner ${largeOwner}`);
  if (pages.tagOf(controlPtr) !== ((largeOwner << 24) | CONTROL_TAG) >>> 0 || !pages.owns(controlPtr)) {
    throw bad(`lies in a page span tagged ${hex(pages.tagOf(controlPtr))}, not its own control span`);
  }
  const slotsPtr = u32[w + W_SLOTS]!;
  const slots = SpaceHandle.lookup(space, slotsPtr, SlotAllocator) ?? SlotAllocator.attach(space, slotsPtr, { pages, name: `${name}.slots` });
  if (slots.pages.controlPtr !== pages.controlPtr) throw bad(`has a slot tier leasing from the page allocator at ${hex(slots.pages.controlPtr)}`);
  const heap = heapAt(space, u32[w + W_HEAP]!, pages, `${name}.heap`);
  if (heap.pages.controlPtr !== pages.controlPtr) throw bad(`has a heap tier leasing from the page allocator at ${hex(heap.pages.controlPtr)}`);
  if (slots.ownerId === heap.ownerId || slots.ownerId === largeOwner || heap.ownerId === largeOwner) {
    throw bad(`routes two tiers through one page-map owner (slots ${slots.ownerId}, heap ${heap.ownerId}, large ${largeOwner})`);
  }
  const routesPtr = u32[w + W_ROUTES]!;
  if (routesPtr !== 0) openRoutes(space, routesPtr, who);
  const remote = u32[w + W_REMOTE_HEAD]!;
  if (remote !== 0 && (pages.tagOf(remote) !== (largeOwner << 24) >>> 0 || !pages.owns(remote))) {
    throw bad(`starts its large spans' remote-free list at ${hex(remote)}, which is not one of its large spans`);
  }
  return { name, pages, slots, heap, controlPtr };
}

/** This thread's handle on the heap at `heapPtr`, or a new one attached to it. */
function heapAt(space: AddressSpace, heapPtr: Ptr, pages: PageAllocator, name: string): HeapAllocator {
  return SpaceHandle.lookup(space, heapPtr, HeapAllocator) ?? HeapAllocator.attach(space, heapPtr, { name, pages });
}
