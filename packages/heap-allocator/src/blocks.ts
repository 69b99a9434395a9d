import { validateAllocation } from "@memkit/core";
import { MAX_REQUEST, MIN_BLOCK, W_REMOTE_HEAD } from "./layout.js";
import { HeapSpans } from "./spans.js";
import { tlsf } from "./tlsf.js";

const { biasOf, bitmapBias, blockSizeFor, carve, carveAligned, countLive, findFit, freeBlock, growInto, headThatFits, removeFree, shrinkTo, sizeOf, spansWholeArea, takeFit, usableOf } = tlsf;

/**
 * The heap's paths off allocate()/deallocate()'s common case, made of the
 * TLSF operations in tlsf.ts: unusual sizes and alignments, the fallback
 * before leasing a span, freeing from reallocate, and resizing in place.
 */
export abstract class HeapBlocks extends HeapSpans {
  /** Frees the blocks other threads put on the remote-free list; returns how many (see HeapAllocator). */
  abstract collectRemoteFrees(): number;

  /** Takes a free block of at least `s` bytes (a multiple of 8, >= MIN_BLOCK; `size` was asked for) and marks it used. */
  protected take(s: number, size: number): number {
    const p = takeFit(this.i32, this.r, s);
    return p !== 0 ? p : this.takeSlow(s, size);
  }

  /** Frees the used block `p` (header `h`) of the span at `base`, merging it with free neighbours. */
  protected release(p: number, h: number, base: number, bias: number): void {
    const m = this.i32;
    if (spansWholeArea(m, base, freeBlock(m, this.r, p, h, bias))) this.spanEmptied(base);
  }

  /** allocate() with an unusual size or alignment: validates, then serves it (align <= 8 through take()). */
  protected allocateChecked(size: number, align: number): number {
    validateAllocation(this.name, size, align);
    this.assertAlive("allocate");
    if (size > MAX_REQUEST) throw this.outOfMemory(size, align, "larger than the largest block a heap makes");
    const s = blockSizeFor(size);
    return this.count(align <= 8 ? this.take(s, size) : this.takeAligned(s, align, size));
  }

  /** allocate() found no class at or above the rounded request. */
  protected allocateSlow(s: number, size: number): number {
    return this.count(this.takeSlow(s, size));
  }

  /** Counts a new block in allocCount, liveBytes and the peak. */
  protected count(p: number): number {
    const m = this.i32;
    countLive(m, this.r, usableOf(sizeOf(m, p)));
    this.f64[this.fi]! += 1;
    return p;
  }

  /** take() found no class at or above the rounded request: try the request's own class, then lease. */
  protected takeSlow(s: number, size: number): number {
    let p = headThatFits(this.i32, this.r, s);
    // Blocks other threads freed come back before a new span is leased.
    if (p === 0 && this.i32[this.r + W_REMOTE_HEAD] !== 0 && this.collectRemoteFrees() > 0) return this.take(s, size);
    if (p === 0) p = this.lease(s, size, 8);
    const m = this.i32;
    const b = sizeOf(m, p);
    removeFree(m, this.r, p, b);
    carve(m, this.r, p, b, s, 0, biasOf(m, p));
    return p;
  }

  /**
   * Takes a block of `s` bytes whose payload is a multiple of `align` (> 8).
   * Searches for s + align + MIN_BLOCK - 8 bytes: room for the block after
   * a front gap that is either 0 or a whole free block.
   */
  protected takeAligned(s: number, align: number, size: number): number {
    const need = s + align + MIN_BLOCK - 8;
    let p = findFit(this.i32, this.r, need);
    if (p === 0) p = headThatFits(this.i32, this.r, need);
    if (p === 0 && this.i32[this.r + W_REMOTE_HEAD] !== 0 && this.collectRemoteFrees() > 0) return this.takeAligned(s, align, size);
    if (p === 0) p = this.lease(need, size, align);
    const m = this.i32;
    const b = sizeOf(m, p);
    removeFree(m, this.r, p, b);
    return carveAligned(m, this.r, p, b, s, align, biasOf(m, p));
  }

  /** Shrinks (in place, always) or grows in place into a free right neighbour the used block `p` (header `h`) to `s` bytes; false when it cannot grow. */
  protected resizeInPlace(p: number, h: number, s: number, base: number): boolean {
    const m = this.i32;
    const bias = bitmapBias(base);
    if (s <= sizeOf(m, p)) {
      shrinkTo(m, this.r, p, h, s, bias);
      return true;
    }
    return growInto(m, this.r, p, h, s, bias);
  }
}
