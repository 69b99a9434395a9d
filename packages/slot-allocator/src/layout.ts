/*
 * Slot allocator layout. Everything lives in linear memory; the JS object only
 * holds views, a size -> class lookup table and constants derived from the
 * control block.
 *
 * Control block (one page span leased from the page allocator, i32 words):
 *
 *   word  field
 *   0     magic "SLOT"          \ core's control header
 *   1     layout version        /
 *   2     ownerId               page-map owner of every slab
 *   3     slabBytes
 *   4     maxSlotSize
 *   5     classCount
 *   6     pageShift
 *   7     keepEmptySlabs        empty slabs kept for reuse before returning them
 *   8     allHead               header word of the first slab in the all-slabs list (0 = none)
 *   9     slabCount             slabs leased and not returned (spares included)
 *   10    spareHead             first empty spare slab (singly linked through S_NEXT)
 *   11    spareCount
 *   12    cachePtr              a freed slot parked for the next allocation of its class (0 = none)
 *   13    cacheClass            its class (-1 = none)
 *   14..15 reserved
 *   16    f64 peakLiveBytes     sampled peak (see stats())
 *   18    f64 slabsLeased       slabs ever leased from the page allocator
 *   20    f64 slabsReturned     slabs ever returned
 *   22..31 reserved
 *   32    class records, CLASS_WORDS each (below)
 *
 * The parked slot (cachePtr, cacheClass) is a freed slot kept for the next
 * allocation of its class: still marked live in its slab's bitmap and used
 * count, but counted as freed by the class counters; deallocate compares
 * against it, so freeing it twice is still a double free.
 *
 * Class record (16 words = 64 bytes, one cache line):
 *
 *   +0  size          slot bytes
 *   +1  count         slots per slab
 *   +2  linkAt        a full slab rejoins the partial list when its used count falls to this
 *   +3  current       header word of the slab allocations come from (0 = none)
 *   +4  partialHead   first slab of the doubly linked partial list (0 = none)
 *   +5  partialCount  slabs on that list
 *   +6  slabs         slabs of this class (current, partial and full)
 *   +7  reserved
 *   +8  f64 allocs    successful allocations from this class, ever
 *   +10 f64 frees     frees into this class, ever
 *   +12..15 reserved
 *
 * Slab (slabBytes, aligned to min(maxSlotSize, 64 KiB) and at least a page):
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
 *   +4  count     slots in the slab  | copied from the class: the hot paths
 *   +5  linkAt                       | read one cache line
 *   +6  class     class index       /
 *   +7  state     CURRENT | PARTIAL | FULL | SPARE
 *   +8  next      partial list (or spare list) link: header word, 0 = none
 *   +9  prev      partial list back link
 *   +10 allNext   all-slabs list (check(), destroy())
 *   +11 allPrev
 *   +12 base      slab address
 *   +13 magic     "SLAB"
 *   +14..15 reserved
 *
 * The page map tag of every page of a slab is ownerId << 24 | (base >> pageShift):
 * 8 + 24 bits. A slab's base is never page 0 (the null guard), so data 0
 * marks the control block. A pointer finds its slab in O(1): tag -> base ->
 * header at a fixed offset from the base.
 */

export const MAGIC_TEXT = "SLOT";
export const SLAB_MAGIC_TEXT = "SLAB";
export const LAYOUT_VERSION = 1;

// Control block words.
export const W_OWNER = 2;
export const W_SLAB_BYTES = 3;
export const W_MAX_SLOT = 4;
export const W_CLASS_COUNT = 5;
export const W_PAGE_SHIFT = 6;
export const W_KEEP_EMPTY = 7;
export const W_ALL_HEAD = 8;
export const W_SLAB_COUNT = 9;
export const W_SPARE_HEAD = 10;
export const W_SPARE_COUNT = 11;
/** The parked slot (0 = none) and its class (-1 = none): see SlotAllocator.deallocate. */
export const W_CACHE_PTR = 12;
export const W_CACHE_CLASS = 13;
/** f64 fields, as word offsets (8-aligned). */
export const W_PEAK_F64 = 16;
export const W_LEASED_F64 = 18;
export const W_RETURNED_F64 = 20;
export const W_CLASSES = 32;

// Class record words.
export const CLASS_WORDS = 16;
export const CLASS_SHIFT = 4;
export const C_SIZE = 0;
export const C_COUNT = 1;
export const C_LINK_AT = 2;
export const C_CURRENT = 3;
export const C_PARTIAL = 4;
export const C_PARTIAL_COUNT = 5;
export const C_SLABS = 6;
/** f64 counters as word offsets inside the record. */
export const C_ALLOCS_F64 = 8;
export const C_FREES_F64 = 10;

// Slab header words.
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
 * list: `count - threshold`, threshold = count/16 clamped to 1..64. Frees into
 * a full slab then never touch a list until a batch of slots is free, and each
 * rejoin serves at least `threshold` allocations. At most threshold - 1 slots
 * (1/16 of a slab) sit idle in a full slab.
 */
export function linkAtFor(count: number): number {
  const threshold = Math.min(64, Math.max(1, count >>> 4));
  return count - threshold;
}
