import { CONTROL_BLOCK_HEADER_WORDS, SharedLock, type ControlLayout } from "@memkit/core";

/*
 * PageAllocator control block, in linear memory (u32 words from controlPtr):
 *
 *   word        field
 *   0..3        core's control header: magic "PAGE", layout version, bytes, seal
 *   4           pageShift       \  fixed words, sealed: log2(pageSize) 8..16,
 *   5           firstPage        | the first page that can be handed out, and
 *   6           maxPages        /  the pages covering space.maximumBytes
 *   7           topPage         pages [firstPage, topPage) are carved; above is untouched "wilderness"
 *   8           liveSpans       \
 *   9           livePages        |
 *   10          peakLivePages    | counters (stats() reads them)
 *   11          allocCount       |
 *   12          freeCount        |
 *   13          freePages       /
 *   14          flBitmap        bit f set <=> some bin of first level f is non-empty
 *   15          ownerCount      owners registered (tag owner ids 1..255)
 *   16          nameBytes       bytes used in the owner name table
 *   17          (padding: the block stays a multiple of 8 bytes)
 *   18..49      slBitmaps[32]   bit s of word f set <=> bin (f, s) is non-empty
 *   50..177     heads[32 * 4]   first free span (head page index) of each bin, 0 = empty
 *   178..689    names           owner name table (2 KiB), see below
 *   690..1015   lock            a SharedLock: holder, log count, ... and an undo log of
 *                               LOG_CAPACITY entries (core's shared-lock.ts); used on shared spaces
 *   1016..      state[maxPages] per page: span boundary words, see below
 *               tag[maxPages]   per page: owner << 24 | data, set by the lessee (0 = none)
 *               next[maxPages]  per free head page: next free span in its bin
 *               prev[maxPages]  per free head page: previous free span in its bin
 *
 * State word of a page (only span boundaries are non-zero, interiors are 0):
 *
 *   31..30  29    28    27    26      25..0
 *   0       USED  FREE  HEAD  FREED   page count of the span (boundary pages only)
 *   2 + 1 + 1 + 1 + 1 + 26 = 32 bits. The top two bits stay clear so every word
 *   is a small integer (a V8 Smi): passing one between functions never boxes it.
 *   26 bits of count cover 2 GiB of 256-byte pages (2^23) with room to spare.
 *
 *   used span [h, h+n):  state[h] = USED|HEAD|n,  state[h+n-1] = USED|n   (one word if n = 1)
 *   free span [h, h+n):  state[h] = FREE|HEAD|n,  state[h+n-1] = FREE|n
 *   FREED marks a page that was the head of a span that has been freed and
 *   merged into a neighbour, so freeing it again still reads as a double free.
 *   Page 0 is never a span head, so 0 also means "no span" in the bin links.
 *
 * Owner names: one entry per registered owner, in id order, each a length
 * byte and that many bytes of UTF-8 (at most 255). An owner registered when
 * the table is nearly full keeps a shorter name, or none (it then reads as
 * "owner#id"): one byte stays reserved for every id not yet registered, so
 * every owner always has an entry.
 */

/** The page allocator's control block: magic, version and the three sealed fixed words. */
export const PAGE_LAYOUT: ControlLayout = { kind: "PageAllocator", magic: "PAGE", version: 3, fixedWords: 3 };

export const W_PAGE_SHIFT = CONTROL_BLOCK_HEADER_WORDS;
export const W_FIRST_PAGE = W_PAGE_SHIFT + 1;
export const W_MAX_PAGES = W_PAGE_SHIFT + 2;
export const W_TOP_PAGE = W_PAGE_SHIFT + 3;
export const W_LIVE_SPANS = W_TOP_PAGE + 1;
export const W_LIVE_PAGES = W_TOP_PAGE + 2;
export const W_PEAK_LIVE_PAGES = W_TOP_PAGE + 3;
export const W_ALLOC_COUNT = W_TOP_PAGE + 4;
export const W_FREE_COUNT = W_TOP_PAGE + 5;
export const W_FREE_PAGES = W_TOP_PAGE + 6;
export const W_FL_BITMAP = W_TOP_PAGE + 7;
export const W_OWNER_COUNT = W_TOP_PAGE + 8;
export const W_NAME_BYTES = W_TOP_PAGE + 9;
export const W_SL_BITMAPS = W_NAME_BYTES + 2;
export const FL_COUNT = 32;
export const SL_BITS = 2;
export const SL_COUNT = 1 << SL_BITS;
export const W_HEADS = W_SL_BITMAPS + FL_COUNT;
export const W_NAMES = W_HEADS + FL_COUNT * SL_COUNT;
/** Bytes of the owner name table. */
export const NAME_TABLE_BYTES = 2048;
/** Owner ids are 1..MAX_OWNERS (the top byte of a tag). */
export const MAX_OWNERS = 255;
/**
 * Undo-log entries one locked section may write: a reallocate that moves (a
 * carve, a split, a free with two merges, tags as range entries) logs about
 * 90; an owner name up to 66.
 */
export const LOG_CAPACITY = 160;
/** Word of the lock (8-aligned: W_NAMES and the name table are even in words). */
export const W_LOCK = W_NAMES + NAME_TABLE_BYTES / 4;
/** Word of the first per-page array (state); tag, next and prev follow, maxPages words each. */
export const W_PAGE_ARRAYS = W_LOCK + SharedLock.bytes(LOG_CAPACITY) / 4;
/** Per-page arrays after the fixed part: state, tag, next, prev. */
export const PAGE_ARRAYS = 4;

export const USED = 0x2000_0000;
export const FREE = 0x1000_0000;
export const HEAD = 0x0800_0000;
export const FREED = 0x0400_0000;
export const COUNT_MASK = 0x03ff_ffff;
export const USED_HEAD = USED | HEAD;
export const FREE_HEAD = FREE | HEAD;

/** Bytes of control block needed to manage `maxPages` pages (a multiple of 8: W_PAGE_ARRAYS is even). */
export function controlBytesFor(maxPages: number): number {
  return (W_PAGE_ARRAYS + PAGE_ARRAYS * maxPages) * 4;
}

/** fls: index of the highest set bit (x > 0). */
export function fls(x: number): number {
  return 31 - Math.clz32(x);
}

/** ffs: index of the lowest set bit (x !== 0). */
export function ffs(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/*
 * Bins over page counts, TLSF style with 4 second-level bins per power of two:
 *   counts 1..3 -> first level 0, second level = count (exact)
 *   counts in [2^(f+1), 2^(f+2)) -> first level f, second level = next two bits
 * A span in bin (f, s) has count >= the bin's lower bound, so searching from
 * the bin of the rounded-up request finds a fit in O(1) with two bit scans.
 */
export function binFl(count: number): number {
  return count < 4 ? 0 : fls(count) - 1;
}

export function binSl(count: number): number {
  return count < 4 ? count : (count >>> (fls(count) - SL_BITS)) & (SL_COUNT - 1);
}

/** Rounds a request up so every span in its bin is large enough. */
export function roundUpToBin(count: number): number {
  return count < 4 ? count : count + (1 << (fls(count) - SL_BITS)) - 1;
}
