import { collectRemoteFrees, validatePointerShape, type Ptr } from "@memkit/core";
import type { CheckSubject } from "./check.js";
import { explainPointer } from "./diagnose.js";
import { DATA_MAX, S_BUMP, S_SIZE, W_PARKED_PTR, W_REMOTE_HEAD } from "./layout.js";
import { SlabStore } from "./slab-store.js";

/**
 * What a pointer given to the slot allocator is: the exact O(1) live-slot
 * check (page tag, carve mark, bitmap bit, not the parked slot), the errors
 * for pointers that fail it, and the slots other threads hand back through
 * the remote-free list. A layer of {@link SlotAllocator}, whose public paths
 * use these.
 */
export abstract class SlotPointers extends SlabStore {
  /** Frees the slot at `ptr` (SlotAllocator's O(1) path). */
  abstract deallocate(ptr: Ptr): void;

  // ------------------------------------------------------------- lookups

  /**
   * Header word of the slab holding the live slot that starts at `ptr`, or 0
   * when `ptr` is not one. O(1): page map, one division, one bitmap bit.
   */
  protected liveSlab(ptr: Ptr): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr >= this.addrLimit) return 0;
    const i32 = this.i32;
    const shift = this.pageShift;
    const d = i32[this.tagWordBase + (ptr >>> shift)]! ^ this.ownerTag;
    if ((d - 1) >>> 0 >= DATA_MAX) return 0;
    const base = d << shift;
    const s = (base + this.hdrOffset) >>> 2;
    const off = ptr - base;
    const size = i32[s + S_SIZE]!;
    const i = (off / size) | 0;
    if (i * size !== off || i >= i32[s + S_BUMP]!) return 0;
    if ((i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) === 0 || ptr === i32[this.cw + W_PARKED_PTR]) return 0;
    return s;
  }

  /** Throws the precise error for a pointer that is not a live slot start (deallocate's slow path). */
  protected rejectFree(ptr: Ptr): void {
    this.assertAlive("deallocate");
    if (ptr === 0) return;
    this.explain(ptr, "deallocate");
  }

  /** Throws the precise error for `ptr` (see explainPointer), or DestroyedError on an ended handle. */
  protected explain(ptr: Ptr, op: string): never {
    validatePointerShape(`${this.name}.${op}`, ptr);
    this.assertAlive(op);
    explainPointer(this.subject(), ptr, op);
  }

  /** What the check and report functions read (the views now, or `i32`/`f64` while constructing). */
  protected subject(i32 = this.i32, f64 = this.f64): CheckSubject {
    return { space: this.space, name: this.name, pages: this.pages, i32, f64, geo: this.geo };
  }

  // ------------------------------------------------------- other threads

  /**
   * Int32 word index of this allocator's remote-free list head: another
   * thread frees a live slot of this allocator with core's
   * `pushRemoteFree(i32, remoteFreeWord, ptr)`, lock-free, and the owning
   * thread frees it for real in {@link collectRemoteFrees}. Until then the
   * slot still counts as live in stats(). The pusher must own the right to
   * free the slot: two pushes of one slot make a cycle that the collection
   * reports as corruption (memkit's scopes claim every block atomically
   * before freeing it, so through them that cannot happen).
   */
  get remoteFreeWord(): number {
    return this.cw + W_REMOTE_HEAD;
  }

  /**
   * Frees, on this thread, the slots other threads put on the remote-free
   * list, and returns how many. The owning thread only (the one that
   * allocates through this allocator); `allocate` runs it when a class needs
   * a new slab, and `reclaim` runs it first. A list entry that is not a live
   * slot of this allocator ends the collection with a CorruptionError; what
   * came before it is freed.
   */
  collectRemoteFrees(): number {
    this.assertAlive("collectRemoteFrees");
    // Most calls find the list empty: they return before making the walk's closures.
    if (this.i32[this.cw + W_REMOTE_HEAD] === 0) return 0;
    // liveSlab is exact: a slot freed by this walk fails it, so a cycle ends the walk too.
    return collectRemoteFrees(
      () => this.i32,
      this.cw + W_REMOTE_HEAD,
      (ptr) => this.liveSlab(ptr) !== 0,
      (ptr) => this.deallocate(ptr),
      this.name,
    );
  }
}
