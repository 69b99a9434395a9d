import {
  CorruptionError,
  InvalidArgumentError,
  SharedLock,
  controlWord,
  describe,
  formatBytes,
  hex,
  initControl,
  sealControl,
  type AddressSpace,
  type Attachment,
  type ThreadSeat,
} from "@memkit/core";
import {
  FL_COUNT,
  FREE_HEAD,
  LOG_CAPACITY,
  MAX_OWNERS,
  NAME_TABLE_BYTES,
  PAGE_LAYOUT,
  SL_COUNT,
  W_FIRST_PAGE,
  W_FL_BITMAP,
  W_FREE_PAGES,
  W_HEADS,
  W_LIVE_PAGES,
  W_LIVE_SPANS,
  W_LOCK,
  W_MAX_PAGES,
  W_NAME_BYTES,
  W_OWNER_COUNT,
  W_PAGE_ARRAYS,
  W_PAGE_SHIFT,
  W_PEAK_LIVE_PAGES,
  W_SL_BITMAPS,
  W_TOP_PAGE,
  controlBytesFor,
} from "./layout.js";
import type { PageGeometry } from "./page-map.js";

/*
 * The two ways a page allocator handle comes to its control block: laying a
 * new one, or opening one that exists (another thread's, a restored save's).
 * Both return the sealed geometry the handle caches.
 */

/** How a new page allocator is laid out: the creation options of {@link PageAllocator}. */
export interface PageControlOptions {
  pageSize?: number;
  controlPtr?: number;
  firstByte?: number;
  name?: string;
  thread?: ThreadSeat;
}

/**
 * The lock of the page allocator at `controlPtr` on a shared space (null on a
 * private one). Its log may name only words of this control block.
 */
function pageLock(space: AddressSpace, controlPtr: number, bytes: number, name: string | undefined, thread: ThreadSeat | undefined): SharedLock | null {
  if (!space.shared) return null;
  const cw = controlPtr >>> 2;
  return new SharedLock(space, (cw + W_LOCK) * 4, LOG_CAPACITY, { thread, name: name ?? "pages", words: [cw, cw + bytes / 4] });
}

/** Lays a new control block per `options` (validated) and seals its fixed words. */
export function createPageControl(space: AddressSpace, options: PageControlOptions): PageGeometry {
  const pageSize = options.pageSize ?? 65536;
  if (!Number.isInteger(pageSize) || pageSize < 256 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new InvalidArgumentError(`PageAllocator: option pageSize must be a power of two from 256 to 65536, received ${describe(pageSize)}.`);
  }
  const pageShift = 31 - Math.clz32(pageSize);
  const maxPages = Math.floor(space.maximumBytes / pageSize);
  const controlBytes = controlBytesFor(maxPages);
  const controlPtr = options.controlPtr ?? pageSize;
  if (typeof controlPtr !== "number" || controlPtr >>> 0 !== controlPtr || controlPtr % 8 !== 0 || controlPtr === 0) {
    throw new InvalidArgumentError(`PageAllocator: option controlPtr must be a non-zero 8-aligned address, received ${describe(controlPtr)}.`);
  }
  const firstByte = options.firstByte ?? controlPtr + controlBytes;
  if (!Number.isSafeInteger(firstByte) || firstByte < controlPtr + controlBytes) {
    throw new InvalidArgumentError(
      `PageAllocator: option firstByte (${describe(firstByte)}) must lie after the control block ` +
        `(${hex(controlPtr)} + ${formatBytes(controlBytes)} for ${maxPages} pages).`,
    );
  }
  const firstPage = Math.max(1, Math.ceil(firstByte / pageSize));
  if (firstPage >= maxPages) {
    throw new InvalidArgumentError(
      `PageAllocator: the control block (${formatBytes(controlBytes)}) leaves no pages in a ${formatBytes(space.maximumBytes)} space; ` +
        `raise maximumBytes or the page size.`,
    );
  }
  space.ensureByteLength(Math.max(controlPtr + controlBytes, firstPage * pageSize));
  initControl(space, controlPtr, PAGE_LAYOUT, controlBytes);
  const u32 = space.u32;
  const cw = controlPtr >>> 2;
  u32[cw + W_PAGE_SHIFT] = pageShift;
  u32[cw + W_FIRST_PAGE] = firstPage;
  u32[cw + W_MAX_PAGES] = maxPages;
  sealControl(space, controlPtr, PAGE_LAYOUT);
  u32[cw + W_TOP_PAGE] = firstPage;
  // Zeroed lock words are a free lock with an empty log.
  return { controlPtr, pageShift, firstPage, maxPages, lock: pageLock(space, controlPtr, controlBytes, options.name, options.thread) };
}

/**
 * Reads the geometry of a verified control block and checks it describes a
 * page allocator that fits this space, below its own first page; then
 * range-checks every state word an operation relies on (top page, counters,
 * owners, and the bins: bitmaps and heads). The page map itself (spans, the
 * lists behind the heads, tags, names) is walked by check(). Throws
 * CorruptionError naming what is wrong. O(bins).
 *
 * On a shared space the state words are read holding the allocator's lock
 * (taking it over from a dead holder first, if need be). On a private space
 * no thread can hold it, so a held lock or a non-empty log is damage.
 */
export function openPageControl(at: Attachment, name?: string, thread?: ThreadSeat): PageGeometry {
  const { space, controlPtr, bytes } = at;
  const geometry = readGeometry(at);
  const lock = pageLock(space, controlPtr, bytes, name, thread);
  if (lock === null) {
    const lw = (controlPtr >>> 2) + W_LOCK;
    const u32 = space.u32;
    if (u32[lw] !== 0 || u32[lw + 1] !== 0) {
      throw new CorruptionError(`${at.who}: the PageAllocator control block at ${hex(controlPtr)} has its lock held (holder ${hex(u32[lw]!)}, ${u32[lw + 1]} log entries) in a memory no other thread can use: the block is damaged.`);
    }
    checkState(at, geometry);
  } else {
    lock.acquire();
    try {
      checkState(at, geometry);
    } finally {
      lock.release();
    }
  }
  return { ...geometry, lock };
}

function readGeometry(at: Attachment): Omit<PageGeometry, "lock"> {
  const { space, controlPtr, bytes, who } = at;
  const u32 = space.u32;
  const cw = controlPtr >>> 2;
  const pageShift = u32[cw + W_PAGE_SHIFT]!;
  const firstPage = u32[cw + W_FIRST_PAGE]!;
  const maxPages = u32[cw + W_MAX_PAGES]!;
  const fail = (what: string): CorruptionError => new CorruptionError(`${who}: the PageAllocator control block at ${hex(controlPtr)} ${what}.`);
  if (pageShift < 8 || pageShift > 16) throw fail(`has page shift ${pageShift}, outside 8..16`);
  const pageSize = 2 ** pageShift;
  if (maxPages < 2 || maxPages > Math.floor(space.maximumBytes / pageSize)) {
    throw fail(`covers ${maxPages} pages of ${pageSize} B, more than this ${formatBytes(space.maximumBytes)} space holds`);
  }
  if (bytes !== controlBytesFor(maxPages)) throw fail(`is ${bytes} bytes long, but ${maxPages} pages need ${controlBytesFor(maxPages)}`);
  if (firstPage < 1 || firstPage >= maxPages || controlPtr + bytes > firstPage * pageSize) {
    throw fail(`starts handing out pages at page ${firstPage}, which overlaps its own control block or leaves no pages`);
  }
  return { controlPtr, pageShift, firstPage, maxPages };
}

function checkState(at: Attachment, geometry: Omit<PageGeometry, "lock">): void {
  const { space, controlPtr, who } = at;
  const { pageShift, firstPage, maxPages } = geometry;
  const pageSize = 2 ** pageShift;
  const u32 = space.u32;
  const cw = controlPtr >>> 2;
  const fail = (what: string): CorruptionError => new CorruptionError(`${who}: the PageAllocator control block at ${hex(controlPtr)} ${what}.`);
  const word = (w: number, min: number, max: number, field: string): number => controlWord(u32, controlPtr, w, min, max, PAGE_LAYOUT, field);
  const top = word(W_TOP_PAGE, firstPage, Math.min(maxPages, Math.floor(space.byteLength / pageSize)), "topPage");
  const carved = top - firstPage;
  const livePages = word(W_LIVE_PAGES, 0, carved, "livePages");
  word(W_LIVE_SPANS, 0, livePages, "liveSpans");
  word(W_FREE_PAGES, carved - livePages, carved - livePages, "freePages");
  word(W_PEAK_LIVE_PAGES, livePages, maxPages, "peakLivePages");
  word(W_OWNER_COUNT, 0, MAX_OWNERS, "ownerCount");
  word(W_NAME_BYTES, 0, NAME_TABLE_BYTES, "nameBytes");
  // The bin heads are where the first allocations go: each must be a free span head inside the carved
  // pages, and the bitmaps must agree with them. The lists behind the heads are walked by check().
  const flMap = u32[cw + W_FL_BITMAP]!;
  for (let fl = 0; fl < FL_COUNT; fl++) {
    const slMap = u32[cw + W_SL_BITMAPS + fl]!;
    if (slMap >>> SL_COUNT !== 0 || ((flMap >>> fl) & 1) !== (slMap !== 0 ? 1 : 0)) throw fail(`has bin bitmaps that disagree (level ${fl})`);
    for (let sl = 0; sl < SL_COUNT; sl++) {
      const head = u32[cw + W_HEADS + fl * SL_COUNT + sl]!;
      if (((slMap >>> sl) & 1) !== (head !== 0 ? 1 : 0)) throw fail(`has bin (${fl}, ${sl}) marked ${head === 0 ? "non-empty with no span" : "empty with a span"}`);
      if (head !== 0 && (head < firstPage || head >= top || (u32[cw + W_PAGE_ARRAYS + head]! & FREE_HEAD) !== FREE_HEAD)) {
        throw fail(`files page ${head} in bin (${fl}, ${sl}), which is not a free span head`);
      }
    }
  }
}
