import { CorruptionError, hex } from "@memkit/core";

/*
 * The live blocks of one scope tree: a dense array of records (four int32
 * per live block, no holes) and, in front of every block, an 8-byte header
 * holding the index of its record.
 *
 *   backing block                                      what the caller gets
 *   base                                 ptr - 8       ptr = base + H
 *   +-------------------------------+--------+--------+-------------------------+
 *   | padding (H - 8; large aligns) | index  | frame  | size bytes ...          |
 *   +-------------------------------+--------+--------+-------------------------+
 *                                     i32      i32
 *   H = 8 for align <= 8, else H = align; the backing block is aligned to
 *   max(align, 8), so ptr keeps the caller's alignment. `frame` is the tree's
 *   frame number at allocation (read only by reports).
 *
 *   data: Int32Array, record i at data[4i .. 4i+3]:
 *     +0 ptr    the pointer handed out (the identity check)
 *     +1 size   bytes asked for (< 2^31: nothing larger fits in a 2 GiB space)
 *     +2 word   owner row (bits 0..23) | RETAINED (bit 24) | log2(H) - 3 (bits 25..28) | GUARDED (bit 29)
 *               24 + 1 + 4 + 1 = 30 bits; bits 30..31 are 0
 *     +3 site   call-stack site id (0: none)
 *
 *   A GUARDED block (a tree made with `guardHeaders`) has a 16-byte header
 *   whose every byte is known, so a write into it is found (header-guard.ts);
 *   its index and frame sit where they sit here.
 *
 * Why this layout: a lookup is one header read and one compare, and it is
 * exact: `ptr` is a live block of the tree iff `data[4 * header(ptr)] === ptr`
 * (pointers of live blocks are distinct, so an interior, foreign, forged or
 * freed pointer can never pass). A record is one 16-byte run, so a free
 * touches one line of records; allocation appends; a free moves the last
 * record into the hole and rewrites that block's header (the most recent
 * block, usually in cache). No probing, no hashing, 24 bytes per live block
 * (8 in front of it, 16 here), and a leak report walks one dense array. The
 * common block (H = 8, not retained) has `word === row`: the one compare the
 * hot path makes.
 */

/** Bytes of the header in front of every block (at the least). */
export const HEADER_BYTES = 8;
/** Bit of a record word marking a block kept on purpose. */
export const RETAINED = 1 << 24;
/** Mask of the owner row in a record word. */
export const ROW_MASK = RETAINED - 1;
/** Where log2(H) - 3 sits in a record word (4 bits: H is 8 to 64 KiB). */
export const HEADER_SHIFT = 25;
/** The header code once shifted down. */
export const HEADER_CODE_MASK = 15;
/** Row and retained bit: what a word holds once the header code is masked off. */
export const OWNER_MASK = (1 << HEADER_SHIFT) - 1;
/** Bit of a record word marking a block with a guarded header (see header-guard.ts). */
export const GUARDED = 1 << 29;

/** Header bytes in front of a block of alignment `align` (a power of two). */
export function headerFor(align: number): number {
  return align <= HEADER_BYTES ? HEADER_BYTES : align;
}

/** The header code of a record word for header size `h`. */
export function headerCode(h: number): number {
  return (28 - Math.clz32(h)) << HEADER_SHIFT; // log2(h) - 3
}

/** Header bytes in front of the block whose record word is `word`. */
export function headerOf(word: number): number {
  return HEADER_BYTES << ((word >>> HEADER_SHIFT) & HEADER_CODE_MASK);
}

/** Int32 fields of a record. */
export const R_PTR = 0;
export const R_SIZE = 1;
export const R_WORD = 2;
export const R_SITE = 3;

/** Dense records of every live block of a tree (see the layout above). */
export class BlockRecords {
  // Fields start with values of their final kind so V8 keeps them unboxed.
  /** Record i at data[4i .. 4i+3]: ptr, size, word, site. */
  data: Int32Array;
  /** Live records. */
  count = 0;
  /** Records the array holds before it must grow. */
  capacity = 0;

  constructor(capacity: number) {
    this.data = new Int32Array(capacity << 2);
    this.capacity = capacity;
  }

  /** Doubles the array when full. Call before handing memory out, so adding never fails after. */
  reserve(): void {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
  }

  private grow(capacity: number): void {
    const data = new Int32Array(capacity << 2);
    data.set(this.data);
    this.data = data;
    this.capacity = capacity;
  }

  /**
   * The record index of the live block at `ptr`, or -1. Any value is safe
   * (NaN, fractions, negatives, addresses past the view, and non-numbers such
   * as a BigInt, on which `&` would throw TypeError, all miss); `i32` is a
   * current Int32Array view of the space.
   */
  find(ptr: number, i32: Int32Array): number {
    if (typeof ptr !== "number" || (ptr & 7) !== 0 || ptr < HEADER_BYTES) return -1;
    const h = (ptr - HEADER_BYTES) >> 2;
    if (h >= i32.length) return -1;
    const i = i32[h]!;
    return i >>> 0 < this.count && this.data[i << 2] === ptr ? i : -1;
  }

  /** Appends a record and writes the block's header; `reserve()` must have run. Returns the index. */
  add(ptr: number, size: number, word: number, site: number, frame: number, i32: Int32Array): number {
    const i = this.count++;
    const r = i << 2;
    const data = this.data;
    data[r] = ptr;
    data[r + 1] = size;
    data[r + 2] = word;
    data[r + 3] = site;
    const h = (ptr - HEADER_BYTES) >> 2;
    i32[h] = i;
    i32[h + 1] = frame;
    return i;
  }

  /** Removes record `i`: the last record moves into its place and its block's header is rewritten. */
  removeAt(i: number, i32: Int32Array): void {
    const last = --this.count;
    if (i === last) return;
    const data = this.data;
    const r = i << 2;
    const l = last << 2;
    const ptr = data[l]!;
    data[r] = ptr;
    data[r + 1] = data[l + 1]!;
    data[r + 2] = data[l + 2]!;
    data[r + 3] = data[l + 3]!;
    i32[(ptr - HEADER_BYTES) >> 2] = i;
  }

  /** The frame number stored in the header of the block at `ptr` (a live block). */
  frameOf(ptr: number, i32: Int32Array): number {
    return i32[((ptr - HEADER_BYTES) >> 2) + 1]!;
  }

  /**
   * Verifies every record: an 8-aligned pointer inside the space whose header
   * holds its index, and no pointer twice. Throws CorruptionError.
   */
  check(who: string, i32: Int32Array): void {
    const seen = new Set<number>();
    const data = this.data;
    for (let i = 0; i < this.count; i++) {
      const ptr = data[i << 2]!;
      if ((ptr & 7) !== 0 || ptr < HEADER_BYTES || (ptr - HEADER_BYTES) >> 2 >= i32.length) {
        throw new CorruptionError(`${who}: record ${i} holds ${hex(ptr)}, which cannot be a block of this space.`);
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
      if (data[(i << 2) + 1]! < 0) throw new CorruptionError(`${who}: record ${i} (${hex(ptr)}) has a negative size.`);
    }
  }

  /** Index of the record of `ptr` by a linear search (cold: for diagnosing an overwritten header), or -1. */
  search(ptr: number): number {
    const data = this.data;
    for (let i = 0; i < this.count; i++) if (data[i << 2] === ptr) return i;
    return -1;
  }
}
