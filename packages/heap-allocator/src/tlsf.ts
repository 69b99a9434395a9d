import * as layout from "./layout.js";

/*
 * The heap's TLSF, written once: size-class mapping, the free lists of the
 * control block, and the block operations built on them (split, merge with
 * neighbours through boundary tags). Every function works on the memory's
 * Int32Array `m` and the control block's word index `r`; the layouts are in
 * layout.ts. allocate() and deallocate() in heap-allocator.ts, and the slow
 * and resizing paths in blocks.ts, are made of these operations.
 *
 * Why the module is written this way (docs/perf-log.md): V8 folds a module's
 * own non-exported `const`s into the code it compiles, but reads an imported
 * or exported binding from its module cell on every use. So the layout
 * constants are module-local copies of layout.ts's, and the operations are
 * non-exported `const` functions that reach other modules through the one
 * `tlsf` object below, which each user unpacks into its own module-local
 * consts: then an inlined call needs no check that the binding still holds
 * the function it was inlined from. Plain `function` declarations and
 * imported functions get that check (a load, compare and branch) at every
 * inlined call site, on every allocate and deallocate.
 */

const HEADER = layout.BLOCK_HEADER;
const GRANULE = layout.GRANULE;
const MIN_BLOCK = layout.MIN_BLOCK;
const SIZE_MASK = layout.SIZE_MASK;
const FREE = layout.FREE;
const PREV_FREE = layout.PREV_FREE;
const LINK_PREV = layout.FREE_PREV_W;
const LINK_NEXT = layout.FREE_NEXT_W;
const LINK_BIAS = layout.FREE_BIAS_W;
const SL_BITS = layout.SL_BITS;
const SL_MASK = layout.SL_COUNT - 1;
const FL_COUNT = layout.FL_COUNT;
const SMALL_LIMIT = layout.SMALL_LIMIT;
const W_FL_MAP = layout.W_FL_MAP;
const W_SL_MAP = layout.W_SL_MAP;
const W_HEADS = layout.W_HEADS;
const W_LIVE = layout.W_LIVE;
const W_PEAK = layout.W_PEAK;
const SPAN_BITMAP_W = layout.SPAN_BITMAP_W;
const SPAN_AREA_W = layout.SPAN_AREA_W;

/** log2(GRANULE): small sizes map to class size >>> GRANULE_SHIFT. */
const GRANULE_SHIFT = 31 - Math.clz32(GRANULE);
/** fl = FL_BIAS - clz(size) for sizes from SMALL_LIMIT on, which start at fl = 1. */
const FL_BIAS = 32 - (31 - Math.clz32(SMALL_LIMIT));
/** Shift that leaves a size's top SL_BITS + 1 bits: 31 - clz - SL_BITS. */
const SL_SHIFT_BIAS = 31 - SL_BITS;

// ------------------------------------------------------------ size classes

/**
 * The size class a free block of `size` bytes is filed in ("mapping insert"),
 * as one index `fl << SL_BITS | sl` (the list head is heads[class]):
 * exact GRANULE classes below SMALL_LIMIT, then 2^SL_BITS classes per power of two.
 */
const mappingInsert = (size: number): number => {
  if (size < SMALL_LIMIT) return size >>> GRANULE_SHIFT;
  const z = Math.clz32(size);
  return ((FL_BIAS - z) << SL_BITS) | ((size >>> (SL_SHIFT_BIAS - z)) & SL_MASK);
};

/**
 * The first size class whose every block holds `size` bytes ("mapping
 * search"): `size` rounded up to the next class boundary, then mapped.
 */
const mappingSearch = (size: number): number => {
  return size < SMALL_LIMIT ? size >>> GRANULE_SHIFT : mappingInsert(size + (1 << (SL_SHIFT_BIAS - Math.clz32(size))) - 1);
};

/** The first-level index of a class. */
const flOfClass = (cls: number): number => {
  return cls >>> SL_BITS;
};

/** The second-level index of a class. */
const slOfClass = (cls: number): number => {
  return cls & SL_MASK;
};

/** Index of the lowest set bit of a non-zero `x`. */
const lowestBit = (x: number): number => {
  return 31 - Math.clz32(x & -x);
};

/** The first non-empty class at or above `cls` (two bit scans), or -1 when there is none. */
const searchClass = (m: Int32Array, r: number, cls: number): number => {
  let fl = cls >>> SL_BITS;
  if (fl >= FL_COUNT) return -1;
  let map = m[r + W_SL_MAP + fl]! & (-1 << (cls & SL_MASK));
  if (map === 0) {
    const flMap = m[r + W_FL_MAP]! & (-2 << fl);
    if (flMap === 0) return -1;
    fl = lowestBit(flMap);
    map = m[r + W_SL_MAP + fl]!;
  }
  return (fl << SL_BITS) | lowestBit(map);
};

/** The head of the first non-empty class whose every block holds `s` bytes, or 0. Does not unlink. */
const findFit = (m: Int32Array, r: number, s: number): number => {
  const cls = searchClass(m, r, mappingSearch(s));
  return cls < 0 ? 0 : m[r + W_HEADS + cls]!;
};

/** The head of `s`'s own class when it happens to hold `s` bytes, or 0 (the O(1) fallback before leasing). */
const headThatFits = (m: Int32Array, r: number, s: number): number => {
  const p = m[r + W_HEADS + mappingInsert(s)]!;
  return p !== 0 && (m[(p >> 2) - 1]! & SIZE_MASK) >= s ? p : 0;
};

// -------------------------------------------------------------- free lists

/** Files the free block `p` of `size` bytes at the head of its class list and marks the class non-empty. */
const insertFree = (m: Int32Array, r: number, p: number, size: number): void => {
  const cls = mappingInsert(size);
  const hi = r + W_HEADS + cls;
  const head = m[hi]!;
  const pw = p >> 2;
  m[pw + LINK_PREV] = 0;
  m[pw + LINK_NEXT] = head;
  if (head !== 0) m[(head >> 2) + LINK_PREV] = p;
  m[hi] = p;
  const fl = cls >>> SL_BITS;
  m[r + W_SL_MAP + fl]! |= 1 << (cls & SL_MASK);
  m[r + W_FL_MAP]! |= 1 << fl;
};

/** Takes the free block `p` of `size` bytes off its class list. */
const removeFree = (m: Int32Array, r: number, p: number, size: number): void => {
  const pw = p >> 2;
  const prev = m[pw + LINK_PREV]!;
  const next = m[pw + LINK_NEXT]!;
  if (next !== 0) m[(next >> 2) + LINK_PREV] = prev;
  if (prev !== 0) {
    m[(prev >> 2) + LINK_NEXT] = next;
    return;
  }
  const cls = mappingInsert(size);
  m[r + W_HEADS + cls] = next;
  if (next === 0) classEmptied(m, r, cls);
};

/** Takes the first block off the non-empty list of class `cls` and returns it. */
const removeHead = (m: Int32Array, r: number, cls: number): number => {
  const hi = r + W_HEADS + cls;
  const p = m[hi]!;
  const next = m[(p >> 2) + LINK_NEXT]!;
  m[hi] = next;
  if (next !== 0) m[(next >> 2) + LINK_PREV] = 0;
  else classEmptied(m, r, cls);
  return p;
};

/** Clears the bitmap bits of class `cls`, whose list just became empty. */
const classEmptied = (m: Int32Array, r: number, cls: number): void => {
  const fl = cls >>> SL_BITS;
  const rest = m[r + W_SL_MAP + fl]! & ~(1 << (cls & SL_MASK));
  m[r + W_SL_MAP + fl] = rest;
  if (rest === 0) m[r + W_FL_MAP]! &= ~(1 << fl);
};

// ------------------------------------------------------------------ blocks

/** Block bytes for a request of `size` bytes: header and payload rounded to the granule, at least MIN_BLOCK. */
const blockSizeFor = (size: number): number => {
  const s = (size + HEADER + GRANULE - 1) & SIZE_MASK;
  return s < MIN_BLOCK ? MIN_BLOCK : s;
};

/** The size of the block at `p` (header included), from its header. */
const sizeOf = (m: Int32Array, p: number): number => {
  return m[(p >> 2) - 1]! & SIZE_MASK;
};

/** The bitmap bias of the span at `base`: the block-start bit of address x is in word bias + (x >>> 8). */
const bitmapBias = (base: number): number => {
  return (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
};

/** The bitmap bias a free block keeps (its span's), so splitting it needs no span lookup. */
const biasOf = (m: Int32Array, p: number): number => {
  return m[(p >> 2) + LINK_BIAS]!;
};

/** True when the block at `p` is free (its header's FREE bit). */
const isFree = (m: Int32Array, p: number): boolean => {
  return (m[(p >> 2) - 1]! & FREE) !== 0;
};

/** Sets the block-start bit of `p`. */
const markStart = (m: Int32Array, bias: number, p: number): void => {
  m[bias + (p >>> 8)]! |= 1 << ((p >>> 3) & 31);
};

/** Clears the block-start bit of `p` (a block merged away). */
const clearStart = (m: Int32Array, bias: number, p: number): void => {
  m[bias + (p >>> 8)]! &= ~(1 << ((p >>> 3) & 31));
};

/** True when the span at `base` is one free block of `size` bytes (its whole area). */
const spansWholeArea = (m: Int32Array, base: number, size: number): boolean => {
  return size === m[(base >> 2) + SPAN_AREA_W];
};

/**
 * Makes `p` a free block of `size` bytes — header, span bias, footer (the
 * boundary tag the right neighbour merges through) — and files it. Its left
 * neighbour is used (blocks coalesce at once), so its PREV_FREE bit is 0.
 */
const fileFree = (m: Int32Array, r: number, p: number, size: number, bias: number): void => {
  const pw = p >> 2;
  m[pw - 1] = size | FREE;
  m[pw + LINK_BIAS] = bias;
  m[((p + size) >> 2) - 2] = p;
  insertFree(m, r, p, size);
};

/** A new free block `p` of `size` bytes where none started: marks its start and files it. */
const addFree = (m: Int32Array, r: number, p: number, size: number, bias: number): void => {
  markStart(m, bias, p);
  fileFree(m, r, p, size, bias);
};

/**
 * Split ("carve"): marks the unlinked free block `p` of `b` bytes used with
 * size `s` and header flags `flags`; a tail of MIN_BLOCK or more becomes a
 * free block, a smaller one stays in the block. Returns the used block's size.
 */
const carve = (m: Int32Array, r: number, p: number, b: number, s: number, flags: number, bias: number): number => {
  const rest = b - s;
  if (rest >= MIN_BLOCK) {
    m[(p >> 2) - 1] = s | flags;
    addFree(m, r, p + s, rest, bias);
    return s;
  }
  m[(p >> 2) - 1] = b | flags;
  m[((p + b) >> 2) - 1]! &= ~PREV_FREE;
  return b;
};

/**
 * Takes a block of `s` bytes (a multiple of GRANULE, >= MIN_BLOCK) from the
 * head of the first class whose every block fits, splitting off the tail.
 * Returns it, or 0 when no such class is non-empty.
 */
const takeFit = (m: Int32Array, r: number, s: number): number => {
  const cls = searchClass(m, r, mappingSearch(s));
  if (cls < 0) return 0;
  const p = removeHead(m, r, cls);
  carve(m, r, p, sizeOf(m, p), s, 0, biasOf(m, p));
  return p;
};

/**
 * Frees the used block `p` with header `h`: merges it with a free right
 * neighbour, then with a free left one (found through its footer), and
 * files the result. Returns the merged block's size.
 */
const freeBlock = (m: Int32Array, r: number, p: number, h: number, bias: number): number => {
  let size = h & SIZE_MASK;
  const q = p + size;
  const qh = m[(q >> 2) - 1]!;
  if ((qh & FREE) !== 0) {
    const qs = qh & SIZE_MASK;
    removeFree(m, r, q, qs);
    clearStart(m, bias, q);
    size += qs;
  } else {
    m[(q >> 2) - 1] = qh | PREV_FREE;
  }
  if ((h & PREV_FREE) !== 0) {
    const left = m[(p >> 2) - 2]!;
    removeFree(m, r, left, m[(left >> 2) - 1]! & SIZE_MASK);
    clearStart(m, bias, p);
    size += p - left;
    p = left;
  }
  fileFree(m, r, p, size, bias);
  return size;
};

/**
 * Grows the used block `p` (header `h`) in place to `s` bytes by taking
 * (part of) its free right neighbour; false when that is not free or too small.
 */
const growInto = (m: Int32Array, r: number, p: number, h: number, s: number, bias: number): boolean => {
  const cur = h & SIZE_MASK;
  const q = p + cur;
  const qh = m[(q >> 2) - 1]!;
  if ((qh & FREE) === 0 || cur + (qh & SIZE_MASK) < s) return false;
  const qs = qh & SIZE_MASK;
  removeFree(m, r, q, qs);
  clearStart(m, bias, q);
  carve(m, r, p, cur + qs, s, h & PREV_FREE, bias);
  return true;
};

/**
 * Shrinks the used block `p` (header `h`) in place to `s` bytes: the tail
 * joins a free right neighbour or becomes a free block; a tail under
 * MIN_BLOCK with a used right neighbour stays in the block.
 */
const shrinkTo = (m: Int32Array, r: number, p: number, h: number, s: number, bias: number): void => {
  const cur = h & SIZE_MASK;
  let rest = cur - s;
  if (rest === 0) return;
  const q = p + cur;
  const qh = m[(q >> 2) - 1]!;
  if ((qh & FREE) !== 0) {
    const qs = qh & SIZE_MASK;
    removeFree(m, r, q, qs);
    clearStart(m, bias, q);
    rest += qs;
  } else if (rest >= MIN_BLOCK) {
    m[(q >> 2) - 1] = qh | PREV_FREE;
  } else {
    return; // too small to stand alone: it stays in the block
  }
  m[(p >> 2) - 1] = s | (h & PREV_FREE);
  addFree(m, r, p + s, rest, bias);
};

/**
 * Aligned split: the free, unlinked block `p` of `b` bytes gives up a front
 * gap (a whole free block, at least MIN_BLOCK) so that the block after it
 * starts at a multiple of `align`, which is carved to `s` bytes and returned.
 */
const carveAligned = (m: Int32Array, r: number, p: number, b: number, s: number, align: number, bias: number): number => {
  if ((p & (align - 1)) === 0) {
    carve(m, r, p, b, s, 0, bias);
    return p;
  }
  const a = p + MIN_BLOCK + (-(p + MIN_BLOCK) & (align - 1));
  const gap = a - p;
  fileFree(m, r, p, gap, bias);
  markStart(m, bias, a);
  carve(m, r, a, b - gap, s, PREV_FREE, bias);
  return a;
};

// ---------------------------------------------------------------- counters

/** Adds `delta` usable bytes to liveBytes and raises the peak when passed. */
const countLive = (m: Int32Array, r: number, delta: number): void => {
  const live = m[r + W_LIVE]! + delta;
  m[r + W_LIVE] = live;
  if (live > m[r + W_PEAK]!) m[r + W_PEAK] = live;
};

/** Usable bytes of a block of `size` bytes. */
const usableOf = (size: number): number => {
  return size - HEADER;
};

/** The heap's TLSF operations; unpack them into module-local consts (see the top of this file). */
export const tlsf = {
  mappingInsert,
  mappingSearch,
  flOfClass,
  slOfClass,
  searchClass,
  findFit,
  headThatFits,
  removeFree,
  removeHead,
  blockSizeFor,
  sizeOf,
  bitmapBias,
  biasOf,
  isFree,
  spansWholeArea,
  addFree,
  carve,
  takeFit,
  freeBlock,
  growInto,
  shrinkTo,
  carveAligned,
  countLive,
  usableOf,
} as const;
