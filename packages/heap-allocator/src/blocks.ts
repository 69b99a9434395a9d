import { validateAllocation } from "@memkit/core";
import {
  FL_CLZ,
  FREE,
  FREE_BIAS_W,
  FREE_NEXT_W,
  MAX_REQUEST,
  MIN_BLOCK,
  PREV_FREE,
  SIZE_MASK,
  SL_BITS,
  SL_CLZ,
  SL_MASK,
  SMALL_LIMIT,
  SPAN_AREA_W,
  W_FL_MAP,
  W_HEADS,
  W_LIVE,
  W_PEAK,
  W_REMOTE_HEAD,
  W_SL_MAP,
  blockBytesFor,
} from "./layout.js";
import { HeapSpans } from "./spans.js";

/**
 * Block operations off the hot path: taking a block of a size class (split
 * off the tail), aligned takes (the front gap stays a free block), freeing
 * with boundary-tag merges, and resizing in place. allocate() and
 * deallocate() in heap-allocator.ts write the common case of take and
 * release out in full.
 */
export abstract class HeapBlocks extends HeapSpans {
  /** Frees the blocks other threads put on the remote-free list; returns how many (see HeapAllocator). */
  abstract collectRemoteFrees(): number;

  /** Takes a free block of at least `s` bytes (a multiple of 8, >= MIN_BLOCK; `size` was asked for) and marks it used. */
  protected take(s: number, size: number): number {
    const m = this.i32;
    const r = this.r;
    let fl: number;
    let sl: number;
    if (s < SMALL_LIMIT) {
      fl = 0;
      sl = s >>> 3;
    } else {
      // Round up to the next class boundary so every block in the class found fits.
      const t = s + (1 << (SL_CLZ - Math.clz32(s))) - 1;
      const z = Math.clz32(t);
      fl = FL_CLZ - z;
      sl = (t >>> (SL_CLZ - z)) & SL_MASK;
    }
    let map = m[r + W_SL_MAP + fl]! & (-1 << sl);
    if (map === 0) {
      const flMap = m[r + W_FL_MAP]! & (-2 << fl);
      if (flMap === 0) return this.takeSlow(s, size);
      fl = 31 - Math.clz32(flMap & -flMap);
      map = m[r + W_SL_MAP + fl]!;
    }
    sl = 31 - Math.clz32(map & -map);
    const hi = r + W_HEADS + (fl << SL_BITS) + sl;
    const p = m[hi]!;
    const pw = p >> 2;
    const next = m[pw + FREE_NEXT_W]!;
    m[hi] = next;
    if (next !== 0) {
      m[next >> 2] = 0;
    } else {
      const rest = m[r + W_SL_MAP + fl]! & ~(1 << sl);
      m[r + W_SL_MAP + fl] = rest;
      if (rest === 0) m[r + W_FL_MAP]! &= ~(1 << fl);
    }
    return this.carve(p, m[pw - 1]! & SIZE_MASK, s, 0, m[pw + FREE_BIAS_W]!);
  }

  /**
   * Marks the unlinked free block `p` of `b` bytes used with size `s` and
   * header flags `flags`; a tail of MIN_BLOCK or more becomes a free block.
   */
  protected carve(p: number, b: number, s: number, flags: number, bias: number): number {
    const m = this.i32;
    const rest = b - s;
    if (rest >= MIN_BLOCK) {
      m[(p >> 2) - 1] = s | flags;
      const q = p + s;
      const qw = q >> 2;
      m[qw - 1] = rest | FREE;
      m[qw + FREE_BIAS_W] = bias;
      m[((q + rest) >> 2) - 2] = q;
      m[bias + (q >>> 8)]! |= 1 << ((q >>> 3) & 31);
      this.link(q, rest);
    } else {
      m[(p >> 2) - 1] = b | flags;
      m[((p + b) >> 2) - 1]! &= ~PREV_FREE;
    }
    return p;
  }

  /** Frees the used block `p` (header `h`) of the span at `base`: merges right, then left, and files the result. */
  protected release(p: number, h: number, base: number, bias: number): void {
    const m = this.i32;
    let size = h & SIZE_MASK;
    const q = p + size;
    const qh = m[(q >> 2) - 1]!;
    if ((qh & FREE) !== 0) {
      const qs = qh & SIZE_MASK;
      this.unlink(q, qs);
      m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31));
      size += qs;
    } else {
      m[(q >> 2) - 1] = qh | PREV_FREE;
    }
    if ((h & PREV_FREE) !== 0) {
      const left = m[(p >> 2) - 2]!;
      const ls = m[(left >> 2) - 1]! & SIZE_MASK;
      this.unlink(left, ls);
      m[bias + (p >>> 8)]! &= ~(1 << ((p >>> 3) & 31));
      p = left;
      size += ls;
    }
    const pw = p >> 2;
    m[pw - 1] = size | FREE;
    m[pw + FREE_BIAS_W] = bias;
    m[((p + size) >> 2) - 2] = p;
    this.link(p, size);
    if (size === m[(base >> 2) + SPAN_AREA_W]) this.spanEmptied(base);
  }

  /** allocate() with an unusual size or alignment: validates, then serves it (align <= 8 through take()). */
  protected allocateChecked(size: number, align: number): number {
    validateAllocation(this.name, size, align);
    this.assertAlive("allocate");
    if (size > MAX_REQUEST) throw this.outOfMemory(size, align, "larger than the largest block a heap makes");
    const s = blockBytesFor(size);
    return this.count(align <= 8 ? this.take(s, size) : this.takeAligned(s, align, size));
  }

  /** allocate() found no class at or above the rounded request. */
  protected allocateSlow(s: number, size: number): number {
    return this.count(this.takeSlow(s, size));
  }

  /** Counts a new block in allocCount, liveBytes and the peak. */
  protected count(p: number): number {
    this.addLive((this.i32[(p >> 2) - 1]! & SIZE_MASK) - 4);
    this.f64[this.fi]! += 1;
    return p;
  }

  /** take() found no class at or above the rounded request: try the request's own class, then lease. */
  protected takeSlow(s: number, size: number): number {
    let p = this.headThatFits(s);
    // Blocks other threads freed come back before a new span is leased.
    if (p === 0 && this.i32[this.r + W_REMOTE_HEAD] !== 0 && this.collectRemoteFrees() > 0) return this.take(s, size);
    if (p === 0) p = this.lease(s, size, 8);
    const m = this.i32;
    const b = m[(p >> 2) - 1]! & SIZE_MASK;
    this.unlink(p, b);
    return this.carve(p, b, s, 0, m[(p >> 2) + FREE_BIAS_W]!);
  }

  /**
   * Takes a block of `s` bytes whose payload is a multiple of `align` (> 8).
   * Searches for s + align + MIN_BLOCK - 8 bytes: room for the block after
   * a front gap that is either 0 or a whole free block.
   */
  protected takeAligned(s: number, align: number, size: number): number {
    const need = s + align + MIN_BLOCK - 8;
    let p = this.find(need);
    if (p === 0) p = this.headThatFits(need);
    if (p === 0 && this.i32[this.r + W_REMOTE_HEAD] !== 0 && this.collectRemoteFrees() > 0) return this.takeAligned(s, align, size);
    if (p === 0) p = this.lease(need, size, align);
    const m = this.i32;
    let b = m[(p >> 2) - 1]! & SIZE_MASK;
    const bias = m[(p >> 2) + FREE_BIAS_W]!;
    this.unlink(p, b);
    if ((p & (align - 1)) === 0) return this.carve(p, b, s, 0, bias);
    // The front gap must hold a free block: skip to the first aligned payload at least MIN_BLOCK in.
    const a = p + MIN_BLOCK + (-(p + MIN_BLOCK) & (align - 1));
    const gap = a - p;
    m[(p >> 2) - 1] = gap | FREE;
    m[(a >> 2) - 2] = p;
    this.link(p, gap);
    m[bias + (a >>> 8)]! |= 1 << ((a >>> 3) & 31);
    b -= gap;
    return this.carve(a, b, s, PREV_FREE, bias);
  }

  /** Shrinks the used block `p` (header `h`) to `s` bytes; the tail joins a free right neighbour or becomes a free block. */
  protected shrinkInPlace(p: number, h: number, s: number, bias: number): boolean {
    const m = this.i32;
    const cur = h & SIZE_MASK;
    const rest = cur - s;
    if (rest === 0) return true;
    const q = p + cur;
    const qh = m[(q >> 2) - 1]!;
    let size = rest;
    if ((qh & FREE) !== 0) {
      const qs = qh & SIZE_MASK;
      this.unlink(q, qs);
      m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31));
      size += qs;
    } else if (rest >= MIN_BLOCK) {
      m[(q >> 2) - 1] = qh | PREV_FREE;
    } else {
      return true; // too small to stand alone: keep it in the block
    }
    m[(p >> 2) - 1] = s | (h & PREV_FREE);
    const t = p + s;
    m[(t >> 2) - 1] = size | FREE;
    m[(t >> 2) + FREE_BIAS_W] = bias;
    m[((t + size) >> 2) - 2] = t;
    m[bias + (t >>> 8)]! |= 1 << ((t >>> 3) & 31);
    this.link(t, size);
    return true;
  }

  /** Adds `bytes` (negative to take away) to liveBytes, and raises the peak to it. */
  protected addLive(bytes: number): void {
    const m = this.i32;
    const r = this.r;
    const live = m[r + W_LIVE]! + bytes;
    m[r + W_LIVE] = live;
    if (live > m[r + W_PEAK]!) m[r + W_PEAK] = live;
  }

  /**
   * reallocate's and resizeInPlace's in-place step: the used block `ptr`
   * (bitmap bias `bias`) shrunk or grown to `s` block bytes where it is,
   * counted; false, nothing changed, when its right neighbour cannot give the room.
   */
  protected resizeAt(ptr: number, s: number, bias: number): boolean {
    const m = this.i32;
    const h = m[(ptr >> 2) - 1]!;
    const cur = h & SIZE_MASK;
    if (!(s <= cur ? this.shrinkInPlace(ptr, h, s, bias) : this.growInPlace(ptr, h, s, bias))) return false;
    this.addLive((m[(ptr >> 2) - 1]! & SIZE_MASK) - cur);
    return true;
  }

  /** Grows the used block `p` to `s` bytes into a free right neighbour; false when that is too small. */
  protected growInPlace(p: number, h: number, s: number, bias: number): boolean {
    const m = this.i32;
    const cur = h & SIZE_MASK;
    const q = p + cur;
    const qh = m[(q >> 2) - 1]!;
    if ((qh & FREE) === 0 || cur + (qh & SIZE_MASK) < s) return false;
    const qs = qh & SIZE_MASK;
    this.unlink(q, qs);
    m[bias + (q >>> 8)]! &= ~(1 << ((q >>> 3) & 31));
    this.carve(p, cur + qs, s, h & PREV_FREE, bias);
    return true;
  }
}
