import { collectRemoteFrees, validatePointerShape, type AllocatorError, type Ptr } from "@memkit/core";
import { HeapBlocks } from "./blocks.js";
import { explainPointer } from "./diagnosis.js";
import { FREE, SPAN_BITMAP_W, W_REMOTE_HEAD } from "./layout.js";

/**
 * What a pointer given to the heap is: the exact O(1) live-block check
 * (page tag, block-start bitmap, header), the errors for pointers that fail
 * it, and the blocks other threads hand back through the remote-free list.
 * A layer of {@link HeapAllocator}, whose public paths use these.
 */
export abstract class HeapPointers extends HeapBlocks {
  /** Frees the block at `ptr` (HeapAllocator's O(1) path). */
  abstract deallocate(ptr: Ptr): void;

  // --------------------------------------------------------- other threads

  /**
   * Int32 word index of this heap's remote-free list head: another thread
   * frees a live block of this heap with core's `pushRemoteFree(i32,
   * remoteFreeWord, ptr)`, lock-free, and the owning thread frees it for
   * real in {@link collectRemoteFrees} (merging needs the neighbours, which
   * only the owner touches). Until then the block counts as live. The pusher
   * must own the right to free the block: two pushes of one block make a
   * cycle that the collection reports as corruption (memkit's scopes claim
   * every block atomically before freeing it, so through them that cannot
   * happen).
   */
  get remoteFreeWord(): number {
    return this.r + W_REMOTE_HEAD;
  }

  /**
   * Frees, on this thread, the blocks other threads put on the remote-free
   * list, and returns how many. The owning thread only (the one that
   * allocates through this heap); `allocate` runs it before it leases a new
   * span, and `reclaim` runs it first. A list entry that is not a live block
   * of this heap ends the collection with a CorruptionError; what came before
   * it is freed.
   */
  collectRemoteFrees(): number {
    this.assertAlive("collectRemoteFrees");
    // Most calls find the list empty: they return before making the walk's closures.
    if (this.i32[this.r + W_REMOTE_HEAD] === 0) return 0;
    // spanOfLive is exact: a block freed by this walk fails it, so a cycle ends the walk too.
    return collectRemoteFrees(
      () => this.i32,
      this.r + W_REMOTE_HEAD,
      (ptr) => this.spanOfLive(ptr) >= 0,
      (ptr) => this.deallocate(ptr),
      this.name,
    );
  }

  // -------------------------------------------------------------- pointers

  /** The span base of the live block at `ptr`, or -1. Exact, O(1), never throws. */
  protected spanOfLive(ptr: Ptr): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr >= this.limit) return -1;
    const m = this.i32;
    const tag = m[this.tagW + (ptr >>> this.pageShift)]!;
    if (tag >>> 24 !== this.ownerId) return -1;
    const base = (tag & 0xff_ffff) << this.pageShift;
    const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
    if ((m[bias + (ptr >>> 8)]! & (1 << ((ptr >>> 3) & 31))) === 0) return -1;
    return (m[(ptr >> 2) - 1]! & FREE) === 0 ? base : -1;
  }

  /** The span base of the live block at `ptr`; throws InvalidPointerError / DoubleFreeError otherwise. */
  protected liveSpan(ptr: Ptr, op: string): number {
    const base = this.spanOfLive(ptr);
    if (base < 0) throw this.rejected(ptr, op);
    return base;
  }

  /** Builds the error for a pointer that failed the O(1) check, explaining why (cold path). */
  protected rejected(ptr: Ptr, op: string): AllocatorError {
    const who = `${this.name}.${op}`;
    validatePointerShape(who, ptr);
    if (!this.alive) return this.endedError(op);
    return explainPointer(who, ptr, { i32: this.i32, pages: this.pages, ownerId: this.ownerId, pageShift: this.pageShift, limit: this.limit });
  }
}
