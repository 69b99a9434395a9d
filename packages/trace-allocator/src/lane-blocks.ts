import type { Ptr } from "@memkit/core";
import { CHUNK_SHIFT, COUNTER_SHIFT, C_ALLOC_BYTES, C_ALLOC_COUNT, C_FREE_BYTES, C_FREE_COUNT, C_TEMP_BYTES, C_TEMP_COUNT, E_PTR, E_SIZE, E_WORD, L_CHUNKS, L_FREE, L_OPS, L_REMOTE, L_RING, L_RING_AT, L_USED, RING_MASK } from "./lane-layout.js";
import { HEADER_16, HEADER_BYTES, HEADER_SHIFT, NEVER_CURRENT, W_EPOCH, W_FRAME } from "./layout.js";
import { entryWord, growCounters, growEntries, openLane, type Lane } from "./lanes.js";
import type { TreeLock } from "./tree-lock.js";
import { UntrackedBlocks } from "./untracked-blocks.js";

/*
 * The lock-free block paths of a tree shared by threads (lane-layout.ts):
 * a thread whose tree lock has a seat records its common blocks ("counts",
 * no budget up the chain, not guarded, align <= 16, no label, its own
 * scope's) in its own lane, and frees them there. No atomics on allocate;
 * one compare-and-swap on free, which claims the block against an adoption
 * by another thread (lane-fold.ts). Anything else, including a free of
 * another thread's lane block, takes the locked paths (shared-blocks.ts),
 * which adopt the block first.
 */
export abstract class LaneBlocks extends UntrackedBlocks {
  /**
   * Records block `ptr` (the backing block is at ptr - 8 or ptr - 16: `code`
   * 0 or HEADER_16) in this thread's lane. False, with nothing written, when
   * the lane cannot take it now (no room, or what the handle caches moved).
   */
  protected laneRecord(lane: Lane, tree: TreeLock, ptr: Ptr, size: number, code: number): boolean {
    const i32 = this.i32;
    const cw = this.cw;
    const row = this.row;
    const h = (ptr - HEADER_BYTES) >> 2;
    if ((i32[cw + W_EPOCH]! | NEVER_CURRENT) !== this.allocEpoch || row >= lane.rowCap || h + 1 >= i32.length) return false;
    const e = lane.take(i32);
    if (e < 0) return false;
    const r = entryWord(i32, lane.lw, e);
    i32[r + E_SIZE] = size;
    i32[r + E_WORD] = row | code;
    i32[h] = (lane.tag << 24) | e;
    i32[h + 1] = i32[cw + W_FRAME]!;
    // In flight (odd) from the entry to the counters: a check that meets a mismatch waits for it.
    const ops = i32[lane.lw + L_OPS]!;
    i32[lane.lw + L_OPS] = (ops + 1) | 0;
    // Last: an entry holding a pointer has its header (what an adoption checks).
    i32[r + E_PTR] = ptr;
    const f64 = this.f64;
    const c = lane.cf + (row << COUNTER_SHIFT);
    f64[c + C_ALLOC_COUNT]!++;
    f64[c + C_ALLOC_BYTES]! += size;
    i32[lane.lw + L_OPS] = (ops + 2) | 0;
    tree.table!.recordAllocate(tree.seat!, size);
    return true;
  }

  /**
   * Under the tree lock: opens this thread's lane, or grows it, so that
   * laneRecord can take a block of this scope. False when it cannot (no
   * seat, or the lane's directory is full).
   */
  protected laneRoom(tree: TreeLock): boolean {
    if (tree.seat === undefined) return false;
    let lane = tree.lane;
    if (lane === undefined) tree.lane = lane = openLane(this, tree.seat, this.space.memory);
    if (this.row >= lane.rowCap) growCounters(this, lane, this.row);
    const lw = lane.lw;
    const i32 = this.i32;
    if (i32[lw + L_FREE] === 0 && i32[lw + L_REMOTE] === 0 && i32[lw + L_USED]! >= i32[lw + L_CHUNKS]! << CHUNK_SHIFT) return growEntries(this, lane);
    return true;
  }

  /**
   * Frees `ptr` when it is a block of this thread's lane owned by this
   * scope: true when it did (the block is back in the backing), false (nothing
   * done) when the locked path must judge it.
   */
  protected laneFree(lane: Lane, tree: TreeLock, ptr: Ptr): boolean {
    const i32 = this.i32;
    const h = (ptr - HEADER_BYTES) >> 2;
    if (h + 1 >= i32.length) return false;
    const code = i32[h]!;
    if (code >>> 24 !== lane.tag || (i32[this.cw + W_EPOCH]! | NEVER_CURRENT) !== this.freeEpoch) return false;
    const lw = lane.lw;
    const e = code & 0xffffff;
    if (e >= i32[lw + L_USED]!) return false;
    const r = entryWord(i32, lw, e);
    const word = i32[r + E_WORD]!;
    const row = this.row;
    if (i32[r + E_PTR] !== ptr || (word & ~HEADER_16) !== row) return false;
    const size = i32[r + E_SIZE]!;
    const allocFrame = i32[h + 1]!;
    // The ring first: a thread that loses the claim below to this free reads it.
    const at = i32[lw + L_RING_AT]!;
    i32[lw + L_RING + at] = ptr;
    i32[lw + L_RING + at + 1] = row;
    i32[lw + L_RING_AT] = (at + 2) & RING_MASK;
    // In flight (odd) from the claim to the counters, as in laneRecord.
    const ops = i32[lw + L_OPS]!;
    i32[lw + L_OPS] = (ops + 1) | 0;
    if (Atomics.compareExchange(i32, r + E_PTR, ptr, 0) !== ptr) {
      i32[lw + L_OPS] = ops;
      return false;
    }
    const f64 = this.f64;
    const c = lane.cf + (row << COUNTER_SHIFT);
    f64[c + C_FREE_COUNT]!++;
    f64[c + C_FREE_BYTES]! += size;
    if (allocFrame === i32[this.cw + W_FRAME]) {
      f64[c + C_TEMP_COUNT]!++;
      f64[c + C_TEMP_BYTES]! += size;
    }
    lane.give(i32, e, r);
    i32[lw + L_OPS] = (ops + 2) | 0;
    tree.table!.recordFree(tree.seat!, size);
    this.backing.deallocate(ptr - (HEADER_BYTES << (word >>> HEADER_SHIFT)));
    return true;
  }
}
