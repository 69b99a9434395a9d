import {
  BLOCK_HEADER,
  FL_COUNT,
  FOOTER_W,
  FREE,
  FREE_BIAS_W,
  FREE_NEXT_W,
  FREE_PREV_W,
  GRANULE,
  GRANULE_SHIFT,
  HEADER_W,
  MIN_BLOCK,
  PREV_FREE,
  SIZE_MASK,
  SL_BITS,
  SL_COUNT,
  SMALL_LIMIT,
  SMALL_SHIFT,
  W_FL_MAP,
  W_HEADS,
  W_SL_MAP,
} from "./layout.js";

/*
 * The heap's TLSF (two-level segregated fit), written once, in the shape of
 * AssemblyScript's rt/tlsf.ts: the size-class mapping, searchClass (its
 * searchBlock), insertBlock, removeBlock, prepareBlock (the split),
 * freeBlock (merges with free neighbours through boundary tags) and
 * allocateBlock. Each works on the memory's Int32Array `m` and the control
 * block's word index `r`; the block, span and control-block layouts are in
 * layout.ts. HeapAllocator's allocate, deallocate and slower paths are made
 * of these.
 *
 * Written for V8's inliner (docs/perf-log.md): TurboFan inlines at most 920
 * bytes of bytecode into one compiled function, counting every inlined
 * call, and a call costs the caller 10-20 bytes of bytecode. So the
 * operations read and write the layout's words directly (named offsets, no
 * accessor calls) and call few others: allocate's and deallocate's whole
 * trees then fit. They are `const` arrow functions: an inlined call of a
 * `function` declaration (a mutable binding) keeps a check that the binding
 * still holds its target.
 */

/** Math.clz32 as a module-local constant: a call of it still becomes one instruction, in fewer bytes of bytecode. */
const clz32 = Math.clz32;
const SL_MASK = SL_COUNT - 1;

// ------------------------------------------------------------- size classes

/*
 * A size class is one index `fl << SL_BITS | sl`; its list head is word
 * W_HEADS + class of the control block. Below SMALL_LIMIT the classes are
 * exact (one per GRANULE); above, each power of two has SL_COUNT classes.
 */

/** Block bytes for a request of `size` bytes: header and payload rounded to the granule, at least MIN_BLOCK. */
export const blockSizeFor = (size: number): number => {
  const s = (size + BLOCK_HEADER + GRANULE - 1) & SIZE_MASK;
  return s < MIN_BLOCK ? MIN_BLOCK : s;
};

/** The class of a size from SMALL_LIMIT on: its top SL_BITS + 1 bits, plus SL_COUNT per power of two above SMALL_LIMIT. */
const largeClassOf = (size: number): number => {
  const top = 31 - clz32(size);
  return ((top - SMALL_SHIFT) << SL_BITS) + (size >>> (top - SL_BITS));
};

/** The class a free block of `size` bytes is filed in (AS: mapping insert). */
export const classOf = (size: number): number => (size < SMALL_LIMIT ? size >>> GRANULE_SHIFT : largeClassOf(size));

/** The first class whose every block holds `size` bytes: `size` rounded up to the next class boundary, mapped (AS: mapping search). */
export const fitClassOf = (size: number): number => (size < SMALL_LIMIT ? size >>> GRANULE_SHIFT : largeClassOf(size + (1 << (31 - SL_BITS - clz32(size))) - 1));

/**
 * The first non-empty class at or above `cls` (whose first level is below
 * FL_COUNT), or -1: two bit scans, the rest of cls's first level, else the
 * next non-empty first level.
 */
export const searchClass = (m: Int32Array, r: number, cls: number): number => {
  let fl = cls >>> SL_BITS;
  let map = m[r + W_SL_MAP + fl]! & (-1 << (cls & SL_MASK));
  if (map === 0) {
    const flMap = m[r + W_FL_MAP]! & (-2 << fl);
    if (flMap === 0) return -1;
    fl = 31 - clz32(flMap & -flMap);
    map = m[r + W_SL_MAP + fl]!;
  }
  return (fl << SL_BITS) | (31 - clz32(map & -map));
};

// -------------------------------------------------------------- free lists

/** Marks class `cls`, whose list just became empty, empty in both bitmaps. */
const classEmptied = (m: Int32Array, r: number, cls: number): void => {
  const fl = cls >>> SL_BITS;
  const rest = m[r + W_SL_MAP + fl]! & ~(1 << (cls & SL_MASK));
  m[r + W_SL_MAP + fl] = rest;
  if (rest === 0) m[r + W_FL_MAP]! &= ~(1 << fl);
};

/**
 * Makes `p` a free block of `size` bytes (header, span bias, footer: the
 * boundary tag its right neighbour merges through) and files it at the head
 * of its class list (AS: insertBlock, once merged). Its left neighbour is
 * used (blocks coalesce at once), so its PREV_FREE bit is 0.
 */
export const insertBlock = (m: Int32Array, r: number, p: number, size: number, bias: number): void => {
  const pw = p >> 2;
  m[pw + HEADER_W] = size | FREE;
  m[pw + FREE_BIAS_W] = bias;
  m[((p + size) >> 2) + FOOTER_W] = p;
  const cls = classOf(size);
  const head = m[r + W_HEADS + cls]!;
  m[pw + FREE_PREV_W] = 0;
  m[pw + FREE_NEXT_W] = head;
  m[r + W_HEADS + cls] = p;
  if (head !== 0) {
    m[(head >> 2) + FREE_PREV_W] = p;
  } else {
    m[r + W_SL_MAP + (cls >>> SL_BITS)]! |= 1 << (cls & SL_MASK);
    m[r + W_FL_MAP]! |= 1 << (cls >>> SL_BITS);
  }
};

/** Takes the free block `p` of `size` bytes off its class list (AS: removeBlock). */
export const removeBlock = (m: Int32Array, r: number, p: number, size: number): void => {
  const prev = m[(p >> 2) + FREE_PREV_W]!;
  const next = m[(p >> 2) + FREE_NEXT_W]!;
  if (next !== 0) m[(next >> 2) + FREE_PREV_W] = prev;
  if (prev !== 0) {
    m[(prev >> 2) + FREE_NEXT_W] = next;
    return;
  }
  const cls = classOf(size);
  m[r + W_HEADS + cls] = next;
  if (next === 0) classEmptied(m, r, cls);
};

/** Takes the first block off the non-empty list of class `cls` and returns it. */
export const takeHead = (m: Int32Array, r: number, cls: number): number => {
  const p = m[r + W_HEADS + cls]!;
  const next = m[(p >> 2) + FREE_NEXT_W]!;
  m[r + W_HEADS + cls] = next;
  if (next !== 0) m[(next >> 2) + FREE_PREV_W] = 0;
  else classEmptied(m, r, cls);
  return p;
};

// ------------------------------------------------------------------ blocks

/** Sets the block-start bit of `p` in its span's bitmap (see layout.ts: word bias + (p >>> 8)). */
export const markStart = (m: Int32Array, bias: number, p: number): void => {
  m[bias + (p >>> 8)]! |= 1 << ((p >>> GRANULE_SHIFT) & 31);
};

/** True when a block starts at `p` (its bit in its span's bitmap is set). */
export const isStart = (m: Int32Array, bias: number, p: number): boolean => (m[bias + (p >>> 8)]! & (1 << ((p >>> GRANULE_SHIFT) & 31))) !== 0;

/** Clears the block-start bit of `p` (a block merged away). */
const clearStart = (m: Int32Array, bias: number, p: number): void => {
  m[bias + (p >>> 8)]! &= ~(1 << ((p >>> GRANULE_SHIFT) & 31));
};

/**
 * Split (AS: prepareBlock): marks the unlinked free block `p` of `b` bytes
 * used with size `s` and header flags `flags`. A tail of MIN_BLOCK or more
 * becomes a free block; a smaller one stays in the block. Returns the used
 * block's size.
 */
export const prepareBlock = (m: Int32Array, r: number, p: number, b: number, s: number, flags: number, bias: number): number => {
  const rest = b - s;
  if (rest < MIN_BLOCK) {
    m[(p >> 2) + HEADER_W] = b | flags;
    m[((p + b) >> 2) + HEADER_W]! &= ~PREV_FREE;
    return b;
  }
  m[(p >> 2) + HEADER_W] = s | flags;
  markStart(m, bias, p + s);
  insertBlock(m, r, p + s, rest, bias);
  return s;
};

/**
 * Takes a block of `s` bytes (a multiple of GRANULE, >= MIN_BLOCK) from the
 * head of the first class whose every block fits, splitting off the tail
 * (AS: allocateBlock, without growing). Returns it, or 0 when no such class
 * has a block.
 */
export const allocateBlock = (m: Int32Array, r: number, s: number): number => {
  const cls = searchClass(m, r, fitClassOf(s));
  if (cls < 0) return 0;
  const p = takeHead(m, r, cls);
  prepareBlock(m, r, p, m[(p >> 2) + HEADER_W]! & SIZE_MASK, s, 0, m[(p >> 2) + FREE_BIAS_W]!);
  return p;
};

/**
 * Frees the used block `p` with header `h` (AS: freeBlock): merges it with
 * a free right neighbour, then with a free left one (found through its
 * footer), and files the result. Returns the merged block's size.
 */
export const freeBlock = (m: Int32Array, r: number, p: number, h: number, bias: number): number => {
  let size = h & SIZE_MASK;
  const right = p + size;
  const rh = m[(right >> 2) + HEADER_W]!;
  if ((rh & FREE) !== 0) {
    removeBlock(m, r, right, rh & SIZE_MASK);
    clearStart(m, bias, right);
    size += rh & SIZE_MASK;
  } else {
    m[(right >> 2) + HEADER_W] = rh | PREV_FREE;
  }
  if ((h & PREV_FREE) !== 0) {
    const left = m[(p >> 2) + FOOTER_W]!;
    removeBlock(m, r, left, p - left);
    clearStart(m, bias, p);
    size += p - left;
    p = left;
  }
  insertBlock(m, r, p, size, bias);
  return size;
};

/**
 * Grows the used block `p` (header `h`) in place to `s` bytes by taking (a
 * front part of) its free right neighbour; false when that is not free or
 * too small.
 */
export const growBlock = (m: Int32Array, r: number, p: number, h: number, s: number, bias: number): boolean => {
  const cur = h & SIZE_MASK;
  const right = p + cur;
  const rh = m[(right >> 2) + HEADER_W]!;
  if ((rh & FREE) === 0 || cur + (rh & SIZE_MASK) < s) return false;
  removeBlock(m, r, right, rh & SIZE_MASK);
  clearStart(m, bias, right);
  prepareBlock(m, r, p, cur + (rh & SIZE_MASK), s, h & PREV_FREE, bias);
  return true;
};

/**
 * Shrinks the used block `p` (header `h`) in place to `s` bytes: the tail
 * joins a free right neighbour or becomes a free block; a tail under
 * MIN_BLOCK with a used right neighbour stays in the block.
 */
export const shrinkBlock = (m: Int32Array, r: number, p: number, h: number, s: number, bias: number): void => {
  const cur = h & SIZE_MASK;
  let rest = cur - s;
  if (rest === 0) return;
  const right = p + cur;
  const rh = m[(right >> 2) + HEADER_W]!;
  if ((rh & FREE) !== 0) {
    removeBlock(m, r, right, rh & SIZE_MASK);
    clearStart(m, bias, right);
    rest += rh & SIZE_MASK;
  } else if (rest >= MIN_BLOCK) {
    m[(right >> 2) + HEADER_W] = rh | PREV_FREE;
  } else {
    return; // too small to stand alone: it stays in the block
  }
  m[(p >> 2) + HEADER_W] = s | (h & PREV_FREE);
  markStart(m, bias, p + s);
  insertBlock(m, r, p + s, rest, bias);
};

/**
 * Aligned split: the free, unlinked block `p` of `b` bytes gives up a front
 * gap (a whole free block, at least MIN_BLOCK) so that the block after it
 * starts at a multiple of `align`; that block is carved to `s` bytes and
 * returned.
 */
export const prepareAligned = (m: Int32Array, r: number, p: number, b: number, s: number, align: number, bias: number): number => {
  if ((p & (align - 1)) === 0) {
    prepareBlock(m, r, p, b, s, 0, bias);
    return p;
  }
  const a = p + MIN_BLOCK + (-(p + MIN_BLOCK) & (align - 1));
  insertBlock(m, r, p, a - p, bias);
  markStart(m, bias, a);
  prepareBlock(m, r, a, b - (a - p), s, PREV_FREE, bias);
  return a;
};

/** The head of the first class whose every block holds `s` bytes, or 0. Does not unlink. */
export const findFit = (m: Int32Array, r: number, s: number): number => {
  const fit = fitClassOf(s);
  const cls = fit >>> SL_BITS < FL_COUNT ? searchClass(m, r, fit) : -1;
  return cls < 0 ? 0 : m[r + W_HEADS + cls]!;
};

/** The head of `s`'s own class when it happens to hold `s` bytes, or 0 (the O(1) fallback before leasing). */
export const headThatFits = (m: Int32Array, r: number, s: number): number => {
  const p = m[r + W_HEADS + classOf(s)]!;
  return p !== 0 && (m[(p >> 2) + HEADER_W]! & SIZE_MASK) >= s ? p : 0;
};
