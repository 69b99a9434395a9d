import { CONTROL_BLOCK_HEADER_WORDS, type ControlLayout } from "@memkit/core";

/*
 * Slot allocator layout. Everything lives in linear memory; a handle holds
 * views, a size -> class lookup table and constants read from the sealed
 * words of the control block.
 *
 * Control block (one page span leased from the page allocator, tagged
 * ownerId << 24 | 0; u32/i32 words from its start):
 *
 *   word      field
 *   0..3      core's header: magic "SLOT", layout version, bytes, seal
 *   ---- fixed words (written once, covered by the seal) ----
 *   4         ownerId           page-map owner of the control block and every slab (1..255)
 *   5         pagesPtr          controlPtr of the page allocator slabs are leased from
 *   6         pageShift         that page allocator's log2(pageSize)
 *   7         slabBytes         bytes per slab (a power of two)
 *   8         slabAlign         alignment of every slab base: max(maxSlotSize, pageSize)
 *   9         maxSlotSize       largest slot
 *   10        classCount
 *   11        keepEmptySlabs    empty slabs kept for reuse before returning them
 *   12..263   class table: MAX_CLASSES entries of 3 words (size, count, linkAt);
 *             entries past classCount are 0
 *   ---- state words ----
 *   264       allHead           header word of the first slab in the all-slabs list (0 = none)
 *   265       slabCount         slabs leased and not returned (spares included)
 *   266       spareHead         first empty spare slab (singly linked through S_NEXT)
 *   267       spareCount
 *   268       parkedPtr         a freed slot kept for the next allocation of its class (0 = none)
 *   269       parkedClass       its class (-1 = none)
 *   270       remoteHead        first slot another thread freed, awaiting collection (0 = none;
 *                                 a lock-free stack: core's remote-free.ts)
 *   271       (0)
 *   272       f64 peakLiveBytes  sampled peak (see stats())             D_PEAK
 *   274       f64 slabsLeased    slabs ever leased from the page allocator   D_LEASED
 *   276       f64 slabsReturned  slabs ever returned                    D_RETURNED
 *   278, 279  (0)
 *   280       class records, CLASS_WORDS each (below)
 *
 * Class table entry (fixed): +0 size (slot bytes), +1 count (slots per
 * slab), +2 linkAt (a full slab rejoins the partial list when its used
 * count falls to this). A handle checks it against the classes derived
 * from maxSlotSize and slabBytes when it reads it.
 *
 * Class record (state, 8 words = 32 bytes, 32-byte aligned: one cache line):
 *
 *   +0  current       header word of the slab allocations come from (0 = none)
 *   +1  partialHead   first slab of the doubly linked partial list (0 = none)
 *   +2  partialCount  slabs on that list
 *   +3  slabs         slabs of this class (current, partial and full)
 *   +4  f64 allocs    successful allocations from this class, ever
 *   +6  f64 frees     frees into this class, ever
 *
 * The parked slot (parkedPtr, parkedClass) is a freed slot kept for the next
 * allocation of its class: still marked live in its slab's bitmap and used
 * count, but counted as freed by the class counters; deallocate compares
 * against it, so freeing it twice is still a double free.
 *
 * Slab (slabBytes, aligned to slabAlign):
 *
 *   base                                                      base + slabBytes
 *   |slot 0|slot 1|slot 2| ... |slot n-1| pad |bitmap ...|w1|w0| header (64 B) |
 *   ^ aligned, so a slot of size 2^k*m is 2^k-aligned        ^ s = (base + slabBytes - 64) >> 2
 *
 *   The live bitmap grows down from the header: slot i's bit is bit (i & 31)
 *   of word s - 1 - (i >> 5); set while the slot is allocated. A free slot's
 *   first word holds the index + 1 of the next free slot (0 ends the list).
 *
 * Slab header (16 i32 words at s):
 *
 *   +0  free      index + 1 of the first free slot (0 = none)
 *   +1  used      allocated slots
 *   +2  bump      slots carved so far; slots >= bump were never handed out
 *   +3  size      slot bytes        \
 *   +4  count     slots in the slab  | copied from the class table: the hot
 *   +5  linkAt                       | paths read one cache line
 *   +6  class     class index       /
 *   +7  state     CURRENT | PARTIAL | FULL | SPARE
 *   +8  next      partial list (or spare list) link: header word, 0 = none
 *   +9  prev      partial list back link
 *   +10 allNext   all-slabs list (check(), reports)
 *   +11 allPrev
 *   +12 base      slab address
 *   +13 magic     "SLAB"
 *   +14..15 (0)
 *
 * The page map tag of every page of a slab is ownerId << 24 | (base >> pageShift):
 * 8 + 24 = 32 bits. A slab's base is never page 0 (the null guard), so data 0
 * marks the control block. A pointer finds its slab in O(1): tag -> base ->
 * header at a fixed offset from the base.
 */

/** Largest number of classes (maxSlotSize 65536): the class table has room for this many. */
export const MAX_CLASSES = 84;
export const TABLE_WORDS = 3;

// Fixed words.
export const W_OWNER = CONTROL_BLOCK_HEADER_WORDS;
export const W_PAGES = W_OWNER + 1;
export const W_PAGE_SHIFT = W_OWNER + 2;
export const W_SLAB_BYTES = W_OWNER + 3;
export const W_SLAB_ALIGN = W_OWNER + 4;
export const W_MAX_SLOT = W_OWNER + 5;
export const W_CLASS_COUNT = W_OWNER + 6;
export const W_KEEP_EMPTY = W_OWNER + 7;
export const W_CLASS_TABLE = W_OWNER + 8;
export const FIXED_WORDS = 8 + MAX_CLASSES * TABLE_WORDS;
// Class table entry words.
export const T_SIZE = 0;
export const T_COUNT = 1;
export const T_LINK_AT = 2;

// State words.
export const W_ALL_HEAD = CONTROL_BLOCK_HEADER_WORDS + FIXED_WORDS;
export const W_SLAB_COUNT = W_ALL_HEAD + 1;
export const W_SPARE_HEAD = W_ALL_HEAD + 2;
export const W_SPARE_COUNT = W_ALL_HEAD + 3;
/** The parked slot (0 = none) and its class (-1 = none): see SlotAllocator.deallocate. */
export const W_PARKED_PTR = W_ALL_HEAD + 4;
export const W_PARKED_CLASS = W_ALL_HEAD + 5;
/** Head of the remote-free list: slots freed by other threads, collected by the owner (core's remote-free.ts). */
export const W_REMOTE_HEAD = W_ALL_HEAD + 6;
/** float64 slots, from the control block's float64 index. */
export const D_PEAK = (W_ALL_HEAD + 8) / 2;
export const D_LEASED = D_PEAK + 1;
export const D_RETURNED = D_PEAK + 2;
export const W_CLASSES = W_ALL_HEAD + 16;

/** Identifies a slot allocator's control block. Version 3: the class table's link marks are count - count/8 (were count - count/16). */
export const SLOT_LAYOUT: ControlLayout = { kind: "SlotAllocator", magic: "SLOT", version: 3, fixedWords: FIXED_WORDS };

// Class record words.
export const CLASS_WORDS = 8;
export const CLASS_SHIFT = 3;
export const C_CURRENT = 0;
export const C_PARTIAL = 1;
export const C_PARTIAL_COUNT = 2;
export const C_SLABS = 3;
/** The float64 counters of a record, as word offsets (8-aligned): the float64 index is `(rec + C_ALLOCS_F64) >>> 1`. */
export const C_ALLOCS_F64 = 4;
export const C_FREES_F64 = 6;

// Slab header words.
export const SLAB_MAGIC_TEXT = "SLAB";
export const SLAB_HEADER_BYTES = 64;
export const S_FREE = 0;
export const S_USED = 1;
export const S_BUMP = 2;
export const S_SIZE = 3;
export const S_COUNT = 4;
export const S_LINK_AT = 5;
export const S_CLASS = 6;
export const S_STATE = 7;
export const S_NEXT = 8;
export const S_PREV = 9;
export const S_ALL_NEXT = 10;
export const S_ALL_PREV = 11;
export const S_BASE = 12;
export const S_MAGIC = 13;

// Slab states.
/** The slab its class allocates from. */
export const CURRENT = 1;
/** On its class's partial list: has at least `count - linkAt` free slots. */
export const PARTIAL = 2;
/** Was exhausted as the current slab; rejoins the partial list once enough slots are freed. */
export const FULL = 3;
/** Empty, kept on the spare list for reuse by any class. */
export const SPARE = 4;

export const STATE_NAMES: readonly string[] = ["none", "current", "partial", "full", "spare"];

/** Tag data is 24 bits; `(d - 1) >>> 0 < DATA_MAX` accepts 1..2^24-1 in one compare. */
export const DATA_MAX = 0xff_ffff;

/** Bytes of control block for `classCount` classes. */
export function controlBytesFor(classCount: number): number {
  return (W_CLASSES + classCount * CLASS_WORDS) * 4;
}

/** Bitmap words for `count` slots. */
export function bitmapWords(count: number): number {
  return (count + 31) >>> 5;
}

/** Slots of `size` bytes that fit a slab of `slabBytes` next to their bitmap and the header. */
export function slotsPerSlab(size: number, slabBytes: number): number {
  const room = slabBytes - SLAB_HEADER_BYTES;
  let n = Math.floor(room / size);
  while (n > 0 && n * size + bitmapWords(n) * 4 > room) n--;
  return n;
}

/**
 * How far a full slab's used count must fall before it rejoins the partial
 * list: `count - threshold`, threshold = count/8 clamped to 1..64. Frees into
 * a full slab then never touch a list until a batch of slots is free, and each
 * rejoin serves at least `threshold` allocations. At most threshold - 1 slots
 * (1/8 of a slab) sit idle in a full slab. With 1/16, the 16 KiB slabs of
 * small slots changed lists so often that steady random churn was slower
 * for little footprint saved (docs/perf-log.md, round 4 of #15).
 */
export function linkAtFor(count: number): number {
  const threshold = Math.min(64, Math.max(1, count >>> 3));
  return count - threshold;
}
