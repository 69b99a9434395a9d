import { validatePointerShape, type AllocatorStats, type BlockOrigin, type Ptr } from "@memkit/core";
import { D_ALLOC_COUNT, D_FREE_COUNT, D_LIVE_BYTES, D_LIVE_COUNT, D_PEAK_BYTES, D_RETAINED_BYTES, HEADER_BYTES, RETAINED, ROW_MASK, R_SIZE, R_WORD } from "./layout.js";
import { reservedBytesOf, walkLiveBlocks } from "./leaks.js";
import { findRecord, headerOf, recordAt } from "./records.js";
import { retainedInfo, siteOfRecord } from "./retained.js";
import { ScopeBlocks } from "./scope-blocks.js";
import { stackOf } from "./sites.js";
import { pathOf, rowF64 } from "./tree-view.js";

/** The largest header: alignments go up to 64 KiB. */
const MAX_HEADER = 65536;

/**
 * What a scope answers about blocks without changing any: the usable size
 * and owner of one block, its origin (scope, size, call stack), the scope's
 * own counters, and a walk over its subtree's live blocks. The layer of
 * {@link ScopeBlocks} that its allocate, deallocate and reallocate stand on.
 */
export abstract class BlockQueries extends ScopeBlocks {
  /** Usable bytes of a live block of this scope (what the backing gives, less the header). */
  allocatedSize(ptr: Ptr): number {
    if (this.off) {
      if (!this.alive) throw this.endedError("allocatedSize");
      validatePointerShape(this.path, ptr);
      return this.backing.allocatedSize(ptr);
    }
    const i = this.ownLive(ptr, "allocatedSize");
    const h = headerOf(this.i32[recordAt(this, i) + R_WORD]!);
    return this.backingOfRecord(i).allocatedSize(ptr - h) - h;
  }

  /** True when `ptr` is a live block owned by this scope (not by a parent, child or sibling). */
  owns(ptr: Ptr): boolean {
    if (this.off) return this.alive && typeof ptr === "number" && this.backing.owns(ptr);
    const i = findRecord(this, ptr);
    return i >= 0 && (this.i32[recordAt(this, i) + R_WORD]! & ROW_MASK) === this.row && this.here();
  }

  /**
   * This scope's own counters (not its children's): `liveBytes` counts the
   * sizes asked for; `reservedBytes` is what its live blocks take from the
   * backing (usable sizes, headers included; a walk over the tree's records).
   * At `"off"` there are no records: every figure counts the backing's
   * usable sizes (`backing.allocatedSize(ptr)`), so liveBytes = reservedBytes.
   */
  stats(): AllocatorStats {
    if (!this.alive || !this.here()) return { liveBytes: 0, liveCount: 0, peakLiveBytes: 0, allocCount: 0, freeCount: 0, reservedBytes: 0 };
    const f64 = this.f64;
    const o = rowF64(this, this.row);
    const untracked = this.off ? f64[o + D_LIVE_BYTES]! - f64[o + D_RETAINED_BYTES]! : 0;
    return {
      liveBytes: f64[o + D_LIVE_BYTES]!,
      liveCount: f64[o + D_LIVE_COUNT]!,
      peakLiveBytes: f64[o + D_PEAK_BYTES]!,
      allocCount: f64[o + D_ALLOC_COUNT]!,
      freeCount: f64[o + D_FREE_COUNT]!,
      reservedBytes: untracked + reservedBytesOf(this, this.row),
    };
  }

  /**
   * Where the live block at `ptr` (anywhere in this tree) came from: the path
   * of the scope that allocated it, the size asked for, and its call stack
   * when one was captured. `ptr` may also be the start of the block's backing
   * block (its header), which is what a debug allocator below the scopes
   * sees: the origin then also holds `ptr`, the pointer handed out, so the
   * debug allocator can name the block the user holds. Undefined when the
   * tree holds no such block.
   */
  originOf(ptr: Ptr): BlockOrigin | undefined {
    if (typeof ptr !== "number" || !this.alive) return undefined;
    const asked = ptr;
    let i = findRecord(this, ptr);
    // A backing block starts H bytes before the pointer handed out (H = 8 or 16, or the alignment).
    for (let h = HEADER_BYTES; i < 0 && h <= MAX_HEADER; h *= 2) {
      const j = findRecord(this, ptr + h);
      if (j >= 0 && headerOf(this.i32[recordAt(this, j) + R_WORD]!) === h) {
        i = j;
        ptr += h;
      }
    }
    if (i < 0) return undefined;
    const r = recordAt(this, i);
    const word = this.i32[r + R_WORD]!;
    const origin: BlockOrigin = {
      scope: (word & RETAINED) !== 0 ? retainedInfo(this, i).origin : pathOf(this, word & ROW_MASK),
      size: this.i32[r + R_SIZE]!,
    };
    const stack = stackOf(this, siteOfRecord(this, i));
    if (stack !== undefined) origin.stack = stack;
    if (ptr !== asked) origin.ptr = ptr;
    return origin;
  }

  /**
   * Calls `visit(ptr, size, scopePath)` for every live block of this scope's
   * subtree (size asked for; the path of the scope that owns it now). Walks
   * the blocks live when it starts; the visitor may allocate, free, create
   * and dispose scopes: a block is visited only if it is still live in the
   * subtree when its turn comes (blocks allocated meanwhile are not). Cold
   * path: memory maps and tools.
   */
  forEachLiveBlock(visit: (ptr: Ptr, size: number, scope: string) => void): void {
    if (!this.alive) throw this.endedError("forEachLiveBlock");
    walkLiveBlocks(this, this.row, this.gen, visit);
  }
}
