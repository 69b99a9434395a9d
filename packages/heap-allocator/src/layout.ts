import type { ControlLayout } from "@memkit/core";

/*
 * The heap's memory layout. Everything below lives in linear memory; the
 * HeapAllocator object only caches views and a few constants.
 *
 * ── Block ────────────────────────────────────────────────────────────────
 *
 * A block is addressed by its payload pointer p (8-aligned). Its header is the
 * 4 bytes just before p; its size S counts the header and is a multiple of 8,
 * so the next block's payload is p + S and the usable size is S - 4.
 *
 *    31                                                       3   2   1   0
 *   ┌───────────────────────────────────────────────────────┬───┬───┬───┐
 *   │                 S >>> 3  (block bytes / 8)            │ R │ L │ F │  header, at p - 4
 *   └───────────────────────────────────────────────────────┴───┴───┴───┘
 *   // 29 + 1 + 1 + 1 = 32 bits
 *   F  FREE       this block is free
 *   L  PREV_FREE  the block to the left is free (so its footer below is valid)
 *   R  reserved   always 0 (check() reports anything else)
 *
 *   used block                           free block (S >= MIN_BLOCK = 24)
 *   p-4 ┌──────────────────────┐         p-4 ┌──────────────────────┐
 *       │ header  S | L        │             │ header  S | F        │
 *   p   ├──────────────────────┤         p   ├──────────────────────┤
 *       │                      │             │ prev free (0 = head) │ ─┐ links of the
 *       │  payload: S - 4      │         p+4 ├──────────────────────┤  │ size class list
 *       │  usable bytes        │             │ next free (0 = none) │ ─┘
 *       │                      │         p+8 ├──────────────────────┤
 *       │                      │             │ bitmap bias of span  │  see "Span" below
 *       │                      │             ├──────────────────────┤
 *       │                      │             │ ...                  │
 *       │                      │     p+S-8   ├──────────────────────┤
 *       │                      │             │ footer = p           │  boundary tag
 *   p+S-4 ══ next header ═══════       p+S-4 ══ next header (L set) ═
 *
 * Invariants: two free blocks are never adjacent (immediate coalescing), so
 * a free block's L bit is always 0; the block right of a free block has L set.
 * The header is 4 bytes, so every block carries 4 bytes of overhead.
 *
 * ── Span ─────────────────────────────────────────────────────────────────
 *
 * The heap leases spans of whole pages from the page allocator and tags every
 * page `ownerId << 24 | base >>> pageShift`, so a pointer finds its span in
 * O(1) through the page map.
 *
 *   base    ┌────────────────────────────────────────┐
 *           │ span header (8 words, below)           │
 *   base+32 ├────────────────────────────────────────┤
 *           │ block-start bitmap: 1 bit per 8 bytes  │  bit (x - base) / 8 is set <=> a block
 *           │ of the span (spanBytes / 64 bytes)     │  (used or free) has its payload at x
 *           ├────────────────────────────────────────┤
 *           │ control block (home span only)         │
 *           ├────────────────────────────────────────┤
 *           │ 4 bytes pad │ first block header       │
 *   p0      ├─────────────┴──────────────────────────┤
 *           │ blocks ... (area = end - p0 bytes)     │
 *           │                                        │
 *   end-4   ├────────────────────────────────────────┤
 *           │ sentinel header: S = 0, used, L        │  stops coalescing at the end
 *   end     └────────────────────────────────────────┘
 *
 * The bitmap is what makes pointer checks exact: a pointer is a live block
 * iff its span is ours (tag), its bit is set (a block starts there) and the
 * header's F bit is clear. A set bit with F set is a double free. Bits are
 * kept for free blocks too, and cleared when a block is merged away.
 * The bitmap word of address x is `bias + (x >>> 8)`, bit `(x >>> 3) & 31`,
 * where bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8): free blocks keep
 * the bias of their span at p+8, so splitting one needs no span lookup.
 *
 *   span header word   field
 *   0                  magic "HSPN"
 *   1                  span bytes (the lease)
 *   2, 3               previous / next span (base pointers, 0 = none)
 *   4                  area: bytes from p0 to end (a single free block's size when empty)
 *   5                  p0, the first block's payload
 *   6                  control block of the owning heap
 *   7                  flags: SPAN_HOME
 *
 * ── Control block (TLSF root + counters), in the home span ──────────────
 *
 *   word        field
 *   0..3        core's control header: magic "HEAP", layout version, bytes, seal
 *   4           pagesControl: controlPtr of the page allocator   \
 *   5           ownerId (page-map tag owner)                      |  fixed words,
 *   6           pageShift of the page allocator                   |  sealed at
 *   7           spanBytes: the lease granularity                  |  creation
 *   8           home span base (holds this block, kept until destroy)
 *   9           home span bytes                                  /
 *   10          flMap: bit fl set <=> slMap[fl] != 0
 *   11          first span in the span list
 *   12          cached empty span (released lazily, the hysteresis), 0 = none
 *   13          span count
 *   14          reservedBytes (sum of leased span bytes)
 *   15          liveBytes (usable sizes of live blocks)
 *   16          peakLiveBytes
 *   17          remoteHead: first block another thread freed, awaiting collection (0 = none;
 *               a lock-free stack: core's remote-free.ts)
 *   18, 19      allocCount (float64, f64 slot D_ALLOC_COUNT = 9 of the block)
 *   20, 21      freeCount  (float64, f64 slot D_FREE_COUNT = 10)
 *   22 .. 45    slMap[24]: bit sl set <=> heads[fl * 32 + sl] != 0
 *   46 .. 813   heads[24 * 32]: first free block of each size class, 0 = empty
 *
 * ── Size classes (two-level segregated fit) ──────────────────────────────
 *
 *   S < 256:   fl = 0,            sl = S >>> 3                     (exact 8-byte classes)
 *   S >= 256:  fl = fls(S) - 7,   sl = (S >>> (fls(S) - 5)) & 31    (32 classes per power of two)
 *
 *   fl:  0: < 256    1: < 512    2: < 1K ...   8: < 64K ...   23: < 2G
 *
 * Allocation rounds the request up to the next class boundary first, so any
 * block found by two bit scans fits (good fit, O(1)); class width is at most
 * 1/32 of the size.
 */

// ---------------------------------------------------------------- blocks

/** Bytes of header before each payload. */
export const BLOCK_HEADER = 4;
/** Payload alignment and block size granule. */
export const GRANULE = 8;
/** Smallest block: header, two links, bias, footer (rounded to the granule). */
export const MIN_BLOCK = 24;
/** Largest block (bytes incl. header): keeps every size class index in range. */
export const MAX_BLOCK = 0x4000_0000;
/** Largest request the heap serves. */
export const MAX_REQUEST = MAX_BLOCK - BLOCK_HEADER;

/** Header bit: this block is free. */
export const FREE = 1;
/** Header bit: the block to the left is free (its footer is valid). */
export const PREV_FREE = 2;
/** Header bit that is always 0. */
export const RESERVED = 4;
/** Mask of the size bits of a header (as int32). */
export const SIZE_MASK = -8;
/** Words of a free block after its payload word `p >> 2` (which links to the previous block of its class list). */
export const FREE_NEXT_W = 1;
export const FREE_BIAS_W = 2;

// ----------------------------------------------------------- size classes

export const SL_BITS = 5;
export const SL_COUNT = 1 << SL_BITS;
export const FL_COUNT = 24;
export const SL_MASK = SL_COUNT - 1;
/** Sizes below this map linearly to fl = 0. */
export const SMALL_LIMIT = 256;
/** fl = FL_CLZ - clz32(S) for S >= SMALL_LIMIT: fls(S) - 7, as 31 - clz32(S) is fls(S) and 2^8 is SMALL_LIMIT. */
export const FL_CLZ = 24;
/** sl = (S >>> (SL_CLZ - clz32(S))) & SL_MASK: the SL_BITS bits right below the top bit of S. */
export const SL_CLZ = 31 - SL_BITS;

/** First-level index of a free block of `size` bytes. */
export function flOf(size: number): number {
  return size < SMALL_LIMIT ? 0 : FL_CLZ - Math.clz32(size);
}

/** Second-level index of a free block of `size` bytes. */
export function slOf(size: number): number {
  return size < SMALL_LIMIT ? size >>> 3 : (size >>> (SL_CLZ - Math.clz32(size))) & SL_MASK;
}

/** The smallest block size filed in class (fl, sl). */
export function classMin(fl: number, sl: number): number {
  return fl === 0 ? sl << 3 : (SL_COUNT + sl) << (fl + 2);
}

// ------------------------------------------------------------------ spans

export const SPAN_MAGIC_TEXT = "HSPN";
export const SPAN_HEADER_BYTES = 32;
export const SPAN_MAGIC_W = 0;
export const SPAN_BYTES_W = 1;
export const SPAN_PREV_W = 2;
export const SPAN_NEXT_W = 3;
export const SPAN_AREA_W = 4;
export const SPAN_FIRST_W = 5;
export const SPAN_CONTROL_W = 6;
export const SPAN_FLAGS_W = 7;
/** Word offset of the bitmap from the span base. */
export const SPAN_BITMAP_W = SPAN_HEADER_BYTES >>> 2;
/** Span flag: the home span, which holds the control block. */
export const SPAN_HOME = 1;
/**
 * Span flag bits 6..11: the span's colour, the bytes left unused between the
 * bitmap (or control block) and the first block, a multiple of 64 below 4096.
 * Without it the first block of every span sits at the same offset within
 * its 4 KiB page, and a block moved from one span's front to another's is
 * copied between addresses 4 KiB apart: the CPU then stalls loads on
 * earlier stores to the same page offset (4K aliasing), which made
 * copy-heavy reallocation ~25% slower (tools/bench workload E).
 */
export const SPAN_COLOR_MASK = 0xfc0;

/** The colour of a span at `base` that has `room` bytes to spare: a hash of the address, so no state is kept. */
export function spanColor(base: number, room: number): number {
  const color = (Math.imul(base >>> 12, 0x9e3779b1) >>> 26) << 6;
  return color <= room ? color : room & SPAN_COLOR_MASK;
}

/** Bytes of block-start bitmap for a span of `spanBytes` (1 bit per 8 bytes, rounded to 8). */
export function bitmapBytes(spanBytes: number): number {
  return (Math.ceil(spanBytes / 64) + 7) & -8;
}

/** Offset of the first payload from the span base. */
export function firstPayloadOffset(spanBytes: number, home: boolean): number {
  return SPAN_HEADER_BYTES + bitmapBytes(spanBytes) + (home ? CONTROL_BYTES : 0) + GRANULE;
}

/** Bytes of the single block a fresh span of `spanBytes` holds. */
export function spanArea(spanBytes: number, home: boolean): number {
  return spanBytes - firstPayloadOffset(spanBytes, home);
}

/** Bytes of the block that holds a request of `size` bytes: the 4-byte header added, rounded to 8, at least MIN_BLOCK. */
export function blockBytesFor(size: number): number {
  const s = (size + 11) & SIZE_MASK;
  return s < MIN_BLOCK ? MIN_BLOCK : s;
}

/** The bitmap bias of the span at `base`: the bitmap word of address x is bias + (x >>> 8). */
export function bitmapBias(base: number): number {
  return (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
}

// ---------------------------------------------------------- control block

/** The heap's control block: magic, version and the six sealed fixed words. */
export const HEAP_LAYOUT: ControlLayout = { kind: "HeapAllocator", magic: "HEAP", version: 2, fixedWords: 6 };
/**
 * The first word after core's control header (CONTROL_BLOCK_HEADER_WORDS, 4;
 * a test holds them equal), written as a number so that the build can put
 * every word index below into the hot paths as a literal.
 */
export const W_PAGES_CONTROL = 4;
export const W_OWNER = W_PAGES_CONTROL + 1;
export const W_PAGE_SHIFT = W_PAGES_CONTROL + 2;
export const W_SPAN_BYTES = W_PAGES_CONTROL + 3;
export const W_HOME = W_PAGES_CONTROL + 4;
export const W_HOME_BYTES = W_PAGES_CONTROL + 5;
export const W_FL_MAP = W_HOME_BYTES + 1;
export const W_FIRST_SPAN = W_FL_MAP + 1;
export const W_EMPTY_SPAN = W_FL_MAP + 2;
export const W_SPAN_COUNT = W_FL_MAP + 3;
export const W_RESERVED = W_FL_MAP + 4;
export const W_LIVE = W_FL_MAP + 5;
export const W_PEAK = W_FL_MAP + 6;
/** Head of the remote-free list: blocks freed by other threads, collected by the owner. */
export const W_REMOTE_HEAD = W_PEAK + 1;
/** f64 slot of allocCount: `f64[(controlPtr >>> 3) + D_ALLOC_COUNT]` (words 18, 19). */
export const D_ALLOC_COUNT = (W_PEAK + 2) / 2;
/** f64 slot of freeCount (words 20, 21). */
export const D_FREE_COUNT = D_ALLOC_COUNT + 1;
export const W_SL_MAP = (D_FREE_COUNT + 1) * 2;
export const W_HEADS = W_SL_MAP + FL_COUNT;
export const CONTROL_WORDS = W_HEADS + FL_COUNT * SL_COUNT;
/** Bytes of the control block (a multiple of 8). */
export const CONTROL_BYTES = (CONTROL_WORDS * 4 + 7) & -8;
