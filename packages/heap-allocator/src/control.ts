import {
  CorruptionError,
  InvalidArgumentError,
  OutOfMemoryError,
  controlWord,
  describe,
  formatBytes,
  hex,
  initControl,
  sealControl,
  type Attachment,
  type Ptr,
} from "@memkit/core";
import { pageAllocatorAt, type PageAllocator } from "@memkit/page-allocator";
import {
  CONTROL_BYTES,
  D_ALLOC_COUNT,
  D_FREE_COUNT,
  FL_COUNT,
  HEAP_LAYOUT,
  MAX_BLOCK,
  SL_COUNT,
  SPAN_HEADER_BYTES,
  W_EMPTY_SPAN,
  W_FIRST_SPAN,
  W_FL_MAP,
  W_HEADS,
  W_HOME,
  W_HOME_BYTES,
  W_LIVE,
  W_OWNER,
  W_PAGES_CONTROL,
  W_PAGE_SHIFT,
  W_PEAK,
  W_REMOTE_HEAD,
  W_RESERVED,
  W_SL_MAP,
  W_SPAN_BYTES,
  W_SPAN_COUNT,
  bitmapBytes,
  spanArea,
} from "./layout.js";
import type { HeapGeometry } from "./free-lists.js";

/*
 * The two ways a heap handle comes to its control block: leasing a home span
 * and laying a new block in it, or opening one that exists (another
 * thread's, a restored save's) and checking it against the page allocator.
 */

const DEFAULT_SPAN_BYTES = 1 << 20;
/** The home span grows by pages until this much room is left beside the control block. */
const HOME_MIN_AREA = 1024;

/** A new heap's geometry, and the home span its constructor files as the first free block. */
export interface CreatedHeap extends HeapGeometry {
  home: Ptr;
  homeBytes: number;
}

/**
 * Registers `name` as an owner with `pages`, leases and tags the home span,
 * and lays the control block in it with its fixed words sealed.
 */
export function createHeapControl(pages: PageAllocator, name: string, spanBytesOption: number | undefined): CreatedHeap {
  const pageSize = pages.pageSize;
  const requested = spanBytesOption ?? DEFAULT_SPAN_BYTES;
  if (!Number.isSafeInteger(requested) || requested <= 0 || requested > MAX_BLOCK) {
    throw new InvalidArgumentError(`HeapAllocator "${name}": option spanBytes must be an integer from 1 to ${MAX_BLOCK} (1 GiB), received ${describe(requested)}.`);
  }
  const spanBytes = Math.ceil(requested / pageSize) * pageSize;
  const ownerId = pages.registerOwner(name);
  // The home span holds the control block; grow it by pages until a block fits beside it.
  let homeBytes = spanBytes;
  while (spanArea(homeBytes, true) < HOME_MIN_AREA) homeBytes += pageSize;
  let home: Ptr;
  try {
    home = pages.allocate(homeBytes);
  } catch (cause) {
    if (cause instanceof OutOfMemoryError) {
      throw new OutOfMemoryError(`HeapAllocator "${name}": cannot lease its first span (${formatBytes(homeBytes)}) from ${pages.name}.`, { cause });
    }
    throw cause;
  }
  pages.setTag(home, ownerId, home >>> pages.pageShift);
  const controlPtr = home + SPAN_HEADER_BYTES + bitmapBytes(homeBytes);
  const space = pages.space;
  initControl(space, controlPtr, HEAP_LAYOUT, CONTROL_BYTES);
  const u32 = space.u32;
  const w = controlPtr >>> 2;
  u32[w + W_PAGES_CONTROL] = pages.controlPtr;
  u32[w + W_OWNER] = ownerId;
  u32[w + W_PAGE_SHIFT] = pages.pageShift;
  u32[w + W_SPAN_BYTES] = spanBytes;
  u32[w + W_HOME] = home;
  u32[w + W_HOME_BYTES] = homeBytes;
  sealControl(space, controlPtr, HEAP_LAYOUT);
  return { controlPtr, pages, ownerId, spanBytes, home, homeBytes };
}

/**
 * Reads the sealed fixed words of a verified heap control block, finds the
 * page allocator they name (`pages`, this thread's live handle on it, or a
 * new attached handle), and checks that the home span is a live span of it
 * tagged for this heap, holding this control block. Then range-checks every
 * state word allocate and free rely on (counters, span list, the size-class
 * bitmaps and list heads); the span list, the lists behind the heads and the
 * blocks are walked by check(). O(size classes). Returns the geometry
 * and whether the page allocator handle was attached here (the heap handle
 * then owns it). Throws CorruptionError naming what is wrong, or
 * InvalidArgumentError when `pages` is not the heap's page allocator.
 */
export function openHeapControl(at: Attachment, given: PageAllocator | undefined): HeapGeometry {
  const { space, controlPtr, who } = at;
  const u32 = space.u32;
  const w = controlPtr >>> 2;
  const fail = (what: string): CorruptionError => new CorruptionError(`${who}: the HeapAllocator control block at ${hex(controlPtr)} ${what}.`);
  if (controlPtr % 8 !== 0) throw fail("is not 8-aligned");
  const pagesPtr = u32[w + W_PAGES_CONTROL]!;
  const ownerId = u32[w + W_OWNER]!;
  const pageShift = u32[w + W_PAGE_SHIFT]!;
  const spanBytes = u32[w + W_SPAN_BYTES]!;
  const home = u32[w + W_HOME]!;
  const homeBytes = u32[w + W_HOME_BYTES]!;
  const pages = pageAllocatorAt(space, pagesPtr, given, who);
  const limit = pages.range.limit; // a DestroyedError when the given handle has ended
  const pageSize = pages.pageSize;
  if (pageShift !== pages.pageShift) throw fail(`records page shift ${pageShift}, but ${pages.name} has pages of ${pageSize} B`);
  if (ownerId < 1 || ownerId > 255) throw fail(`records owner id ${ownerId}, outside 1..255`);
  if (spanBytes === 0 || spanBytes % pageSize !== 0 || spanBytes > MAX_BLOCK) throw fail(`records a span size of ${spanBytes} B, not a whole number of pages up to 1 GiB`);
  const tag = ((ownerId << 24) | (home >>> pageShift)) >>> 0;
  if (home === 0 || home % pageSize !== 0 || !pages.owns(home) || pages.allocatedSize(home) !== homeBytes || pages.tagOf(home) !== tag) {
    throw fail(`records a home span at ${hex(home)} (${homeBytes} B) that is not a live span of ${pages.name} tagged ${hex(tag)}`);
  }
  if (controlPtr !== home + SPAN_HEADER_BYTES + bitmapBytes(homeBytes)) throw fail(`is not where its home span at ${hex(home)} keeps it`);
  const word = (index: number, min: number, max: number, field: string): number => controlWord(u32, controlPtr, index, min, max, HEAP_LAYOUT, field);
  word(W_FL_MAP, 0, 2 ** FL_COUNT - 1, "flMap");
  const spanCount = word(W_SPAN_COUNT, 1, Math.floor(limit / pageSize), "spanCount");
  word(W_FIRST_SPAN, pageSize, limit - pageSize, "firstSpan");
  word(W_EMPTY_SPAN, 0, limit - pageSize, "emptySpan");
  const reserved = word(W_RESERVED, homeBytes + (spanCount - 1) * pageSize, limit, "reservedBytes");
  const live = word(W_LIVE, 0, reserved, "liveBytes");
  word(W_PEAK, live, limit, "peakLiveBytes");
  // The list heads are where the first allocations go: each must be an 8-aligned address in a page
  // tagged for this heap, and the bitmaps must agree with them. The lists and blocks are walked by check().
  const flMap = u32[w + W_FL_MAP]!;
  for (let fl = 0; fl < FL_COUNT; fl++) {
    const slMap = u32[w + W_SL_MAP + fl]!;
    if (((flMap >>> fl) & 1) !== (slMap !== 0 ? 1 : 0)) throw fail(`has size-class bitmaps that disagree (level ${fl})`);
    for (let sl = 0; sl < SL_COUNT; sl++) {
      const head = u32[w + W_HEADS + fl * SL_COUNT + sl]!;
      if (((slMap >>> sl) & 1) !== (head !== 0 ? 1 : 0)) throw fail(`has size class (${fl}, ${sl}) marked ${head === 0 ? "non-empty with no block" : "empty with a block"}`);
      if (head !== 0 && (head % 8 !== 0 || head >= limit || pages.tagOf(head) >>> 24 !== ownerId)) {
        throw fail(`lists ${hex(head)} in size class (${fl}, ${sl}), which is not in a span of this heap`);
      }
    }
  }
  const remote = u32[w + W_REMOTE_HEAD]!;
  if (remote !== 0 && (remote % 8 !== 0 || remote >= limit || pages.tagOf(remote) >>> 24 !== ownerId)) {
    throw fail(`has a remote-free list starting at ${hex(remote)}, which is not in a span of this heap`);
  }
  const f64 = space.f64;
  const allocs = f64[(controlPtr >>> 3) + D_ALLOC_COUNT]!;
  const frees = f64[(controlPtr >>> 3) + D_FREE_COUNT]!;
  if (!(Number.isSafeInteger(allocs) && Number.isSafeInteger(frees) && frees >= 0 && allocs >= frees)) {
    throw fail(`has counters allocCount ${allocs} and freeCount ${frees}, which no heap reaches`);
  }
  return { controlPtr, pages, ownerId, spanBytes };
}
