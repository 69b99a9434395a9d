import { CorruptionError, hex } from "@memkit/core";
import { HEADER_BYTES, HEADER_CODE_MASK, HEADER_SHIFT, R_SIZE, W_REC_CAP, W_REC_COUNT, W_REC_PTR } from "./layout.js";
import type { TreeView } from "./tree-view.js";

/*
 * The live blocks of one scope tree: the RECORDS table (four int32 per live
 * block, no holes; layout.ts) and, in front of every block, an 8-byte header
 * holding the index of its record.
 *
 *   backing block                                      what the caller gets
 *   base                                 ptr - 8       ptr = base + H
 *   +-------------------------------+--------+--------+-------------------------+
 *   | padding (H - 8; large aligns) | index  | frame  | size bytes ...          |
 *   +-------------------------------+--------+--------+-------------------------+
 *                                     i32      i32
 *   H = 8 for align <= 8, else H = align; the backing block is aligned to
 *   max(align, 8), so ptr keeps the caller's alignment. Align 16 without
 *   guarded headers (C's malloc; blockStart) asks for an 8-aligned block
 *   instead and H is 8 or 16, whichever lands ptr on 16. `frame` is the
 *   tree's frame number at allocation (read only by reports).
 *
 * Why this layout: a lookup is one header read and one compare, and it is
 * exact: `ptr` is a live block of the tree iff `record[header(ptr)].ptr === ptr`
 * (pointers of live blocks are distinct, so an interior, foreign, forged or
 * freed pointer can never pass). A record is one 16-byte run, so a free
 * touches one line of records; allocation appends; a free moves the last
 * record into the hole and rewrites that block's header (the most recent
 * block, usually in cache). 24 bytes per live block (8 in front of it, 16
 * here), and a leak report walks one dense array. The common block (H = 8,
 * not retained) has `word === row`: the one compare the hot path makes.
 *
 * The hot paths of TraceAllocator inline find/add/remove; these are the
 * same steps for everything else.
 */

/** Header bytes in front of a block of alignment `align` (a power of two). */
export function headerFor(align: number): number {
  return align <= HEADER_BYTES ? HEADER_BYTES : align;
}

/**
 * Where the block handed out starts in a backing block at `base` asked for
 * with header `h` (8, or 16 for align 16: C's malloc alignment) and align 8.
 * For h = 16 the backing block is only 8-aligned and `size + 16` long, and
 * the block starts at the first 16-aligned address at least 8 bytes in: its
 * header is 8 or 16 bytes by where the backing block landed (the record's
 * header code says which). Backings serve align 8 on their fast path; an
 * aligned request often takes a slower one.
 */
export function blockStart(base: number, h: number): number {
  return base + h - (base & (h - HEADER_BYTES));
}

/**
 * The alignment to ask the backing for, for a block of alignment `align`
 * with header `h` (headerFor, or guardedHeaderFor when `guarded`): 8 for an
 * unguarded 16-byte header (blockIn places the block), else `align`, at least 8.
 */
export function backingAlign(h: number, align: number, guarded: boolean): number {
  return (h === 16 && !guarded) || align < HEADER_BYTES ? HEADER_BYTES : align;
}

/** Where the block starts in a backing block at `base` asked for with {@link backingAlign}. */
export function blockIn(base: number, h: number, guarded: boolean): number {
  return h === 16 && !guarded ? blockStart(base, h) : base + h;
}

/** The header code of a record word for header size `h`. */
export function headerCode(h: number): number {
  return (28 - Math.clz32(h)) << HEADER_SHIFT; // log2(h) - 3
}

/** Header bytes in front of the block whose record word is `word`. */
export function headerOf(word: number): number {
  return HEADER_BYTES << ((word >>> HEADER_SHIFT) & HEADER_CODE_MASK);
}

/** Live records. */
export function recordCount(view: TreeView): number {
  return view.u32[view.cw + W_REC_COUNT]!;
}

/** Int32 index of record `i`'s first word. */
export function recordAt(view: TreeView, i: number): number {
  return (view.u32[view.cw + W_REC_PTR]! >>> 2) + (i << 2);
}

/**
 * The record index of the live block at `ptr`, or -1. Any value is safe
 * (NaN, fractions, negatives, addresses past the space, and non-numbers such
 * as a BigInt, on which `&` would throw TypeError, all miss).
 */
export function findRecord(view: TreeView, ptr: number): number {
  if (typeof ptr !== "number" || (ptr & 7) !== 0 || ptr < HEADER_BYTES) return -1;
  const i32 = view.i32;
  const h = (ptr - HEADER_BYTES) >> 2;
  if (h >= i32.length) return -1;
  const i = i32[h]!;
  return i >>> 0 < recordCount(view) && i32[recordAt(view, i)] === ptr ? i : -1;
}

/** True when a record can be added without growing the table. */
export function hasRecordRoom(view: TreeView): boolean {
  return view.u32[view.cw + W_REC_COUNT]! < view.u32[view.cw + W_REC_CAP]!;
}

/** Appends a record (room must be there) and writes the block's header. Returns the index. */
export function addRecord(view: TreeView, ptr: number, size: number, word: number, site: number, frame: number): number {
  const u32 = view.u32;
  const i = u32[view.cw + W_REC_COUNT]!;
  u32[view.cw + W_REC_COUNT] = i + 1;
  const i32 = view.i32;
  const r = recordAt(view, i);
  i32[r] = ptr;
  i32[r + 1] = size;
  i32[r + 2] = word;
  i32[r + 3] = site;
  const h = (ptr - HEADER_BYTES) >> 2;
  i32[h] = i;
  i32[h + 1] = frame;
  return i;
}

/** Removes record `i`: the last record moves into its place and its block's header is rewritten. */
export function removeRecord(view: TreeView, i: number): void {
  const u32 = view.u32;
  const last = u32[view.cw + W_REC_COUNT]! - 1;
  u32[view.cw + W_REC_COUNT] = last;
  if (i === last) return;
  const i32 = view.i32;
  const r = recordAt(view, i);
  const l = recordAt(view, last);
  const ptr = i32[l]!;
  i32[r] = ptr;
  i32[r + 1] = i32[l + 1]!;
  i32[r + 2] = i32[l + 2]!;
  i32[r + 3] = i32[l + 3]!;
  i32[(ptr - HEADER_BYTES) >> 2] = i;
}

/** The frame number stored in the header of the block at `ptr` (a live block). */
export function frameOf(view: TreeView, ptr: number): number {
  return view.i32[((ptr - HEADER_BYTES) >> 2) + 1]!;
}

/** Index of the record of `ptr` by a linear search (cold: for diagnosing an overwritten header), or -1. */
export function searchRecord(view: TreeView, ptr: number): number {
  const n = recordCount(view);
  const i32 = view.i32;
  const base = recordAt(view, 0);
  for (let i = 0; i < n; i++) if (i32[base + (i << 2)] === ptr) return i;
  return -1;
}

/**
 * Verifies every record: an 8-aligned pointer inside the space whose header
 * holds its index, a size that fits, and no pointer twice. Throws CorruptionError.
 */
export function checkRecords(view: TreeView, who: string): void {
  const seen = new Set<number>();
  const i32 = view.i32;
  const n = recordCount(view);
  for (let i = 0; i < n; i++) {
    const r = recordAt(view, i);
    const ptr = i32[r]!;
    if ((ptr & 7) !== 0 || ptr < HEADER_BYTES || (ptr - HEADER_BYTES) >> 2 >= i32.length) {
      throw new CorruptionError(`${who}: record ${i} holds ${hex(ptr >>> 0)}, which cannot be a block of this space.`);
    }
    if (seen.has(ptr)) throw new CorruptionError(`${who}: ${hex(ptr)} is recorded twice.`);
    seen.add(ptr);
    const header = i32[(ptr - HEADER_BYTES) >> 2]!;
    if (header !== i) {
      throw new CorruptionError(
        `${who}: the header in front of block ${hex(ptr)} holds ${header}, its record is ${i}: ` +
          `something wrote into the 8 bytes before the block (an underflow of it, or an overflow of its neighbour).`,
      );
    }
    const size = i32[r + R_SIZE]!;
    if (size < 0 || ptr + size > view.u8.length) throw new CorruptionError(`${who}: record ${i} (${hex(ptr)}) has a size of ${size}, which does not fit the space.`);
  }
}
