import { validateAllocation } from "@memkit/core";
import { countLive } from "./counters.js";
import { BLOCK_HEADER, FREE_BIAS_W, HEADER_W, MAX_REQUEST, MIN_BLOCK, SIZE_MASK, SPAN_AREA_W, W_REMOTE_HEAD } from "./layout.js";
import { HeapSpans } from "./spans.js";
import { allocateBlock, blockSizeFor, findFit, freeBlock, headThatFits, prepareAligned, prepareBlock, removeBlock } from "./tlsf.js";

/**
 * The heap's block paths off the common case, made of the TLSF operations
 * in tlsf.ts: taking a block when no class fits (lease a span), aligned
 * takes (the front gap stays a free block) and freeing with the span check.
 */
export abstract class HeapBlocks extends HeapSpans {
  /** Frees the blocks other threads put on the remote-free list; returns how many (see HeapAllocator). */
  abstract collectRemoteFrees(): number;

  /** Takes a free block of at least `s` bytes (a multiple of 8, >= MIN_BLOCK; `size` was asked for) and marks it used. */
  protected take(s: number, size: number): number {
    const p = allocateBlock(this.i32, this.r, s);
    return p !== 0 ? p : this.takeSlow(s, size);
  }

  /** Frees the used block `p` (header `h`) of the span at `base`, merging it, and lets an emptied span go. */
  protected release(p: number, h: number, base: number, bias: number): void {
    const m = this.i32;
    if (freeBlock(m, this.r, p, h, bias) === m[(base >> 2) + SPAN_AREA_W]) this.spanEmptied(base);
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
    countLive(this.i32, this.r, (this.i32[(p >> 2) + HEADER_W]! & SIZE_MASK) - BLOCK_HEADER);
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
    const b = m[(p >> 2) + HEADER_W]! & SIZE_MASK;
    removeBlock(m, this.r, p, b);
    prepareBlock(m, this.r, p, b, s, 0, m[(p >> 2) + FREE_BIAS_W]!);
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
    const b = m[(p >> 2) + HEADER_W]! & SIZE_MASK;
    removeBlock(m, this.r, p, b);
    return prepareAligned(m, this.r, p, b, s, align, m[(p >> 2) + FREE_BIAS_W]!);
  }
}
