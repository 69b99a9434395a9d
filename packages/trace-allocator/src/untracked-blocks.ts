import { validateAllocation, validatePointerShape, type Ptr } from "@memkit/core";
import { W_EPOCH, W_FRAME, W_REC_COUNT } from "./layout.js";
import { findRecord } from "./records.js";
import { BlockQueries } from "./block-queries.js";
import { countResize } from "./resize-counts.js";

/**
 * The block paths of a scope at tracing "off": no records, so each call
 * forwards to the backing and counts the backing's usable size (a block with
 * a record, adopted from a child, goes the tracked way). The layer of
 * {@link ScopeBlocks} that its allocate, deallocate and reallocate hand "off"
 * to.
 */
export abstract class UntrackedBlocks extends BlockQueries {
  /** allocate at "off": forward, then count the backing's usable size. */
  protected allocateUntracked(size: number, align: number): Ptr {
    if (this.i32[this.cw + W_EPOCH] !== this.openEpoch) {
      this.sync();
      if (this.openEpoch < 0) throw this.disposedError("allocate");
    }
    validateAllocation(this.path, size, align);
    const backing = this.backing;
    const ptr = backing.allocate(size, align);
    let usable: number;
    try {
      usable = backing.allocatedSize(ptr);
    } catch (err) {
      backing.deallocate(ptr);
      throw err;
    }
    // Looked at after the backing call: code it ran (a grow listener) may have disposed this scope.
    if (this.i32[this.cw + W_EPOCH] !== this.openEpoch) {
      this.sync();
      if (this.openEpoch < 0) {
        backing.deallocate(ptr);
        throw this.disposedError("allocate");
      }
    }
    this.countAdded(this.row, usable, 0, this.i32[this.cw + W_FRAME]!);
    return ptr;
  }

  /** deallocate at "off": the backing's usable size leaves the counts. A block with a record (adopted from a child) goes the tracked way. */
  protected deallocateUntracked(ptr: Ptr): void {
    if (ptr === 0) return;
    if (typeof ptr !== "number" || this.i32[this.cw + W_EPOCH] !== this.freeEpoch) {
      this.sync();
      if (!this.alive || typeof ptr !== "number") throw this.refused(ptr, "deallocate");
    }
    if (this.i32[this.cw + W_REC_COUNT] !== 0) {
      const i = findRecord(this, ptr);
      if (i >= 0) {
        this.deallocateOther(ptr, i);
        return;
      }
    }
    const backing = this.backing;
    const usable = backing.allocatedSize(ptr);
    backing.deallocate(ptr);
    // A disposed "off" child's frees still reach the backing, uncounted (its row is gone).
    if (this.i32[this.cw + W_EPOCH] !== this.freeEpoch) this.sync();
    if (this.freeEpoch >= 0) this.uncount(this.row, usable, -1); // no header, no allocation frame
  }

  /** reallocate at "off": counts the change of usable size. */
  protected reallocateUntracked(ptr: Ptr, newSize: number, align: number): Ptr {
    if (ptr === 0) return this.allocateUntracked(newSize, align);
    if (this.openState() < 0) throw this.disposedError("reallocate");
    validateAllocation(this.path, newSize, align);
    validatePointerShape(this.path, ptr);
    const backing = this.backing;
    const before = backing.allocatedSize(ptr);
    const moved = backing.reallocate(ptr, newSize, align);
    const after = backing.allocatedSize(moved);
    if (this.here()) countResize(this, this.row, after - before, after);
    return moved;
  }
}
