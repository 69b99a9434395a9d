import { OutOfMemoryError, formatBytes, magic, type Ptr } from "@memkit/core";
import {
  FREE,
  FREE_BIAS_W,
  PREV_FREE,
  SIZE_MASK,
  SPAN_AREA_W,
  SPAN_BITMAP_W,
  SPAN_BYTES_W,
  SPAN_COLOR_MASK,
  SPAN_CONTROL_W,
  SPAN_FIRST_W,
  SPAN_FLAGS_W,
  SPAN_HOME,
  SPAN_MAGIC_TEXT,
  SPAN_MAGIC_W,
  SPAN_NEXT_W,
  SPAN_PREV_W,
  W_EMPTY_SPAN,
  W_FIRST_SPAN,
  W_RESERVED,
  W_SPAN_COUNT,
  bitmapBytes,
  firstPayloadOffset,
  spanColor,
} from "./layout.js";
import { outOfMemoryError } from "./diagnosis.js";
import { HeapFreeLists } from "./free-lists.js";

const SPAN_MAGIC = magic(SPAN_MAGIC_TEXT) | 0;

/**
 * The heap's spans: leased from the page allocator (and tagged there so any
 * address finds its span in O(1)), kept on a list in the control block,
 * and given back when they empty, with one empty span kept as a cache (the
 * hysteresis). See "Span" in layout.ts.
 */
export abstract class HeapSpans extends HeapFreeLists {
  /**
   * Leases a span whose single free block holds `need` bytes, files that
   * block and returns it. Views are replaced when the memory grows: callers
   * re-read them. Throws OutOfMemoryError naming `size` and `align`, or
   * DestroyedError once the handle ended (its empty views lead every
   * allocation here).
   */
  protected lease(need: number, size: number, align: number): number {
    this.assertAlive("allocate");
    const pageSize = this.pageSize;
    let bytes = this.spanBytes;
    if (bytes - firstPayloadOffset(bytes, false) < need) {
      bytes = Math.ceil((need + firstPayloadOffset(need, false)) / pageSize) * pageSize;
      while (bytes - firstPayloadOffset(bytes, false) < need) bytes += pageSize;
    }
    let base: Ptr;
    try {
      base = this.pages.allocate(bytes);
    } catch (cause) {
      if (cause instanceof OutOfMemoryError) throw this.outOfMemory(size, align, `leasing a ${formatBytes(bytes)} span failed`, cause);
      throw cause;
    }
    this.pages.setTag(base, this.ownerId, base >>> this.pageShift);
    return this.initSpan(base, bytes, spanColor(base, bytes - firstPayloadOffset(bytes, false) - need));
  }

  /**
   * Writes the span header, clears the bitmap, links the span and files its
   * one free block (returned), which starts `flags & SPAN_COLOR_MASK` bytes
   * after the span's metadata (see SPAN_COLOR_MASK).
   */
  protected initSpan(base: number, bytes: number, flags: number): number {
    const m = this.i32;
    const r = this.r;
    const bw = base >> 2;
    m.fill(0, bw, bw + SPAN_BITMAP_W + bitmapBytes(bytes) / 4);
    const p = base + firstPayloadOffset(bytes, (flags & SPAN_HOME) !== 0) + (flags & SPAN_COLOR_MASK);
    const area = base + bytes - p;
    const first = m[r + W_FIRST_SPAN]!;
    m[bw + SPAN_MAGIC_W] = SPAN_MAGIC;
    m[bw + SPAN_BYTES_W] = bytes;
    m[bw + SPAN_PREV_W] = 0;
    m[bw + SPAN_NEXT_W] = first;
    m[bw + SPAN_AREA_W] = area;
    m[bw + SPAN_FIRST_W] = p;
    m[bw + SPAN_CONTROL_W] = this.controlPtr;
    m[bw + SPAN_FLAGS_W] = flags;
    if (first !== 0) m[(first >> 2) + SPAN_PREV_W] = base;
    m[r + W_FIRST_SPAN] = base;
    m[r + W_SPAN_COUNT]!++;
    m[r + W_RESERVED]! += bytes;
    const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
    const pw = p >> 2;
    m[pw - 2] = 0;
    m[pw - 1] = area | FREE;
    m[pw + FREE_BIAS_W] = bias;
    m[((p + area) >> 2) - 2] = p;
    m[((base + bytes) >> 2) - 1] = PREV_FREE; // sentinel: size 0, used
    m[bias + (p >>> 8)]! |= 1 << ((p >>> 3) & 31);
    this.link(p, area);
    return p;
  }

  /**
   * The span at `base` just became one free block. Hysteresis: the home span
   * stays, one empty span of the usual size stays cached, oversized spans and
   * any further empty span go back to the page allocator.
   */
  protected spanEmptied(base: number): void {
    const m = this.i32;
    const bw = base >> 2;
    if ((m[bw + SPAN_FLAGS_W]! & SPAN_HOME) !== 0) return;
    const cached = m[this.r + W_EMPTY_SPAN]!;
    if (m[bw + SPAN_BYTES_W]! > this.spanBytes || (cached !== 0 && cached !== base && this.isEmpty(cached))) {
      this.returnSpan(base);
    } else {
      m[this.r + W_EMPTY_SPAN] = base;
    }
  }

  protected isEmpty(base: number): boolean {
    const m = this.i32;
    const bw = base >> 2;
    const h = m[(m[bw + SPAN_FIRST_W]! >> 2) - 1]!;
    return (h & FREE) !== 0 && (h & SIZE_MASK) === m[bw + SPAN_AREA_W];
  }

  /** Unfiles the span's one free block, unlinks the span and gives it back to the page allocator. */
  protected returnSpan(base: number): void {
    const m = this.i32;
    const r = this.r;
    const bw = base >> 2;
    this.unlink(m[bw + SPAN_FIRST_W]!, m[bw + SPAN_AREA_W]!);
    const prev = m[bw + SPAN_PREV_W]!;
    const next = m[bw + SPAN_NEXT_W]!;
    if (prev !== 0) m[(prev >> 2) + SPAN_NEXT_W] = next;
    else m[r + W_FIRST_SPAN] = next;
    if (next !== 0) m[(next >> 2) + SPAN_PREV_W] = prev;
    if (m[r + W_EMPTY_SPAN] === base) m[r + W_EMPTY_SPAN] = 0;
    m[r + W_SPAN_COUNT]!--;
    m[r + W_RESERVED]! -= m[bw + SPAN_BYTES_W]!;
    m[bw + SPAN_MAGIC_W] = 0;
    this.pages.deallocate(base);
  }

  /** The span list, at most span-count long (a damaged list cannot run on forever). */
  protected spanBases(): Ptr[] {
    const m = this.i32;
    const spans: Ptr[] = [];
    const limit = m[this.r + W_SPAN_COUNT]!;
    for (let s = m[this.r + W_FIRST_SPAN]!; s !== 0 && spans.length < limit; s = m[(s >> 2) + SPAN_NEXT_W]!) spans.push(s);
    return spans;
  }

  protected outOfMemory(size: number, align: number, why: string, cause?: unknown): OutOfMemoryError {
    return outOfMemoryError(this.name, this.stats(), size, align, why, cause);
  }
}
