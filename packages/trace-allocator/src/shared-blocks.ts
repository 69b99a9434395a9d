import { CorruptionError, MAX_SIZE, type Allocator, type AllocatorStats, type BlockOrigin, type Ptr } from "@memkit/core";
import { guardedHeaderError, guardedHeaderFor, writeHeaderGuard } from "./header-guard.js";
import { isLabelId } from "./labels.js";
import { BUDGETED, GUARDED, HEADER_16, HEADER_BYTES, HEADER_SHIFT, R_SIZE, R_WORD, SITE_LABEL, NEVER_CURRENT, T_SITES, W_EPOCH, W_REC_COUNT } from "./layout.js";
import { backingAlign, blockIn, findRecord, frameOf, headerCode, headerFor, headerOf, recordAt } from "./records.js";
import { countResized } from "./resize-counts.js";
import { siteOfRecord } from "./retained.js";
import { ALLOCATE, REALLOCATE } from "./scope-blocks.js";
import { LaneBlocks } from "./lane-blocks.js";
import { adoptOne, claimLaneBlock, claimed } from "./lane-fold.js";
import { backingFailed, badLabelError, crossScopeError, handedOutTwiceError, tooLargeError } from "./scope-errors.js";
import { entryWord } from "./tables.js";

/*
 * The block paths of a tree shared by threads (tree-lock.ts). The inline
 * paths never apply there (scope-state.ts's sync), so allocate, deallocate
 * and reallocate come here, and every query on a block holds the lock too.
 *
 * The backing is called outside the lock:
 *   allocate    backing.allocate -> lock: open? budget (exact: every thread's
 *               blocks are counted under this lock) -> record, counts -> unlock;
 *               on any refusal, unlock, give the block back, throw
 *   deallocate  lock: find the record, check the scope, drop the record,
 *               count -> unlock -> backing.deallocate; the record's removal
 *               under the lock is what makes two threads freeing one block
 *               one free and one DoubleFreeError
 *   reallocate  backing.allocate of the new block -> lock: check, copy, move
 *               the record -> unlock -> the old block goes back
 * With a ThreadSeat on the lock, every allocation counts in the allocating
 * thread's ThreadTable figures and every free in the figures of the thread the
 * block came from (the threadOf option; else the freeing thread), all under
 * the lock; a reallocate counts as a free and an allocation.
 *
 * The common case (what the private tree's inline paths take: "counts", no
 * budget, not guarded, align <= 16, no label, this scope's own block) takes
 * the same inline steps under the lock, which it enters without looking for
 * growth (enterBlocks): a pointer past this thread's views, or a moved table
 * (the epoch), sends the call the general way, which refreshes them.
 */
export abstract class SharedBlocks extends LaneBlocks {
  protected allocateShared(size: number, align: number, label: number): Ptr {
    if (!this.alive) throw this.endedError("allocate");
    const h = this.guarded ? guardedHeaderFor(align) : headerFor(align);
    if (size > MAX_SIZE - h) throw tooLargeError(this.path, size, align, h);
    const backing = this.backing;
    let base: Ptr;
    try {
      base = backing.allocate(size + h, backingAlign(h, align, this.guarded));
    } catch (err) {
      throw backingFailed(this.path, err, size, align, h);
    }
    const at = blockIn(base, h, this.guarded);
    const hb = at - base;
    if (h <= 16 && label === 0) {
      const tree = this.tree!;
      const code = hb === HEADER_BYTES ? 0 : HEADER_16;
      const lane = tree.lane;
      if (lane !== undefined && this.laneRecord(lane, tree, at, size, code)) return at;
      this.enterBlocks();
      try {
        // Under the lock: open or grow this thread's lane, else record the block as a private tree would.
        this.fresh();
        if (this.laneRoom(tree) && this.laneRecord(tree.lane!, tree, at, size, code)) return at;
        if (this.#recordInline(at, size, code)) {
          if (tree.seat !== undefined) tree.table!.recordAllocate(tree.seat, size);
          return at;
        }
      } catch (err) {
        backing.deallocate(base);
        throw err;
      } finally {
        this.leave();
      }
    }
    // A block the tree records already is someone else's (a backing that handed it out twice): kept.
    let theirs = false;
    let ptr: Ptr;
    this.enter();
    try {
      theirs = findRecord(this, at) >= 0;
      ptr = this.#add(at, size, hb, label);
      const tree = this.tree!;
      if (tree.seat !== undefined) tree.table!.recordAllocate(tree.seat, size);
    } catch (err) {
      this.leave();
      if (!theirs) backing.deallocate(base);
      throw err;
    }
    this.leave();
    return ptr;
  }

  /**
   * Under the lock: records block `ptr` (an 8- or 16-byte header: `code` 0 or
   * HEADER_16) as the private inline path does, when nothing cached moved (the
   * epoch, tagged as sync() tags a shared tree's), the records have room, and
   * the block is not recorded already. False (nothing written) otherwise: the
   * general way then decides.
   */
  #recordInline(ptr: Ptr, size: number, code: number): boolean {
    const i32 = this.i32;
    const cw = this.cw;
    if ((i32[cw + W_EPOCH]! | NEVER_CURRENT) !== this.allocEpoch) return false;
    const n = i32[cw + W_REC_COUNT]!;
    const h = (ptr - HEADER_BYTES) >> 2;
    if (n === this.recCap || h + 1 >= i32.length) return false;
    const recW = this.recW;
    const seen = i32[h]!;
    if (seen >>> 0 < n && i32[recW + (seen << 2)] === ptr) return false;
    this.appendRecord(ptr, size, code, n);
    return true;
  }

  /** The header bytes of the block #releaseInline last forgot (a field: no object per call). */
  #releasedHeader = HEADER_BYTES;

  /**
   * Under the lock: forgets this scope's own block `ptr` (an 8- or 16-byte
   * header, not retained) as the private inline path does, and returns its
   * size (its header size in #releasedHeader); -1 (nothing written) when that
   * path does not apply.
   */
  #releaseInline(ptr: Ptr): number {
    const i32 = this.i32;
    const cw = this.cw;
    if ((i32[cw + W_EPOCH]! | NEVER_CURRENT) !== this.freeEpoch) return -1;
    const h = (ptr - HEADER_BYTES) >> 2;
    if (h >= i32.length) return -1;
    const i = i32[h]!;
    const r = this.recW + (i << 2);
    const word = i32[r + R_WORD]!;
    const n = i32[cw + W_REC_COUNT]!;
    if (i >>> 0 >= n || i32[r] !== ptr || (word & ~HEADER_16) !== this.row) return -1;
    // The last record moves into the hole and its block's header is rewritten: that block may lie in
    // memory another thread grew, past these views, where a write would be lost. The general way refreshes.
    if ((i32[this.recW + ((n - 1) << 2)]! - HEADER_BYTES) >> 2 >= i32.length) return -1;
    const size = i32[r + R_SIZE]!;
    this.#releasedHeader = HEADER_BYTES << (word >>> HEADER_SHIFT);
    this.countReleased(i, ptr, i32[h + 1]!);
    return size;
  }

  /**
   * Under the lock, the cached positions current: frees a lane block of this
   * scope that this thread's lane path did not take (another thread's, or
   * this thread's through another handle) by claiming its entry, and counts
   * the free in the rows. Returns its size (its header bytes in
   * #releasedHeader); -1 (nothing done) when `ptr` is no such block.
   */
  #freeClaimed(ptr: Ptr): number {
    if (!claimLaneBlock(this, ptr, this.row)) return -1;
    this.#releasedHeader = HEADER_BYTES << (claimed.word >>> HEADER_SHIFT);
    this.noteFreed(ptr, this.row);
    this.uncount(this.row, claimed.size, claimed.frame);
    return claimed.size;
  }

  #add(ptr: Ptr, size: number, h: number, label: number): Ptr {
    const state = this.openState();
    if (state < 0) throw this.disposedError("allocate");
    if (label !== 0 && !isLabelId(this, label)) throw badLabelError(this.path, "allocate", label);
    if ((state & BUDGETED) !== 0) this.checkBudgets(size);
    const site = this.siteOf(ALLOCATE, label);
    return this.recordNew(ptr, size, h, site, this.guarded ? GUARDED : 0, false);
  }

  protected deallocateShared(ptr: Ptr): void {
    if (typeof ptr === "number" && (ptr & 7) === 0 && ptr >= HEADER_BYTES) {
      const tree = this.tree!;
      const lane = tree.lane;
      if (lane !== undefined && this.laneFree(lane, tree, ptr)) return;
      let freed: number;
      this.enterBlocks();
      try {
        freed = this.#releaseInline(ptr);
        if (freed < 0 && (this.i32[this.cw + W_EPOCH]! | NEVER_CURRENT) === this.openEpoch) freed = this.#freeClaimed(ptr);
        if (freed >= 0) this.#countFree(ptr - this.#releasedHeader, freed);
      } finally {
        this.leave();
      }
      if (freed >= 0) {
        this.backing.deallocate(ptr - this.#releasedHeader);
        return;
      }
    }
    let backing: Allocator;
    let base: number;
    let size: number;
    let damage: CorruptionError | undefined;
    this.enter();
    try {
      this.fresh();
      if (this.openState() >= 0 && (size = this.#freeClaimed(ptr)) >= 0) {
        base = ptr - this.#releasedHeader;
        backing = this.backing;
      } else {
        adoptOne(this, ptr);
        const i = findRecord(this, ptr);
        if (i < 0) throw this.refused(ptr, "deallocate");
        const r = recordAt(this, i);
        const word = this.i32[r + R_WORD]!;
        if (!this.mine(i, word)) throw crossScopeError(this, this.path, ptr, i, "deallocate");
        if ((word & GUARDED) !== 0) damage = guardedHeaderError(this, this.path, "deallocate", i);
        backing = this.backingOfRecord(i);
        base = ptr - headerOf(word);
        size = this.i32[r + R_SIZE]!;
        this.released(i, ptr, frameOf(this, ptr));
      }
      this.#countFree(base, size);
    } finally {
      this.leave();
    }
    let failure: CorruptionError | undefined;
    try {
      backing.deallocate(base);
    } catch (err) {
      // A debug allocator below frees a block whose canary broke, then throws.
      if (!(err instanceof CorruptionError)) throw err;
      failure = err;
    }
    if (damage !== undefined) throw damage;
    if (failure !== undefined) throw failure;
  }

  protected reallocateShared(ptr: Ptr, newSize: number, align: number, label: number): Ptr {
    if (!this.alive) throw this.endedError("reallocate");
    if (ptr === 0) return this.allocate(newSize, align, label);
    const nh = this.guarded ? guardedHeaderFor(align) : headerFor(align);
    if (newSize > MAX_SIZE - nh) throw tooLargeError(this.path, newSize, align, nh);
    const backing = this.backing;
    let newBase: Ptr;
    try {
      newBase = backing.allocate(newSize + nh, backingAlign(nh, align, this.guarded));
    } catch (err) {
      throw backingFailed(this.path, err, newSize, align, nh);
    }
    const moved = blockIn(newBase, nh, this.guarded);
    const hb = moved - newBase;
    let theirs = false;
    this.enter();
    try {
      adoptOne(this, ptr);
      theirs = findRecord(this, moved) >= 0;
      if (theirs) throw handedOutTwiceError(this.path, backing, moved, hb);
      this.#move(ptr, moved, newSize, hb, label);
      this.#countFree(this.#oldBase, this.#oldSize);
      const tree = this.tree!;
      if (tree.seat !== undefined) tree.table!.recordAllocate(tree.seat, newSize);
    } catch (err) {
      this.leave();
      if (!theirs) backing.deallocate(newBase);
      throw err;
    }
    this.leave();
    const oldBacking = this.#oldBacking!;
    this.#oldBacking = undefined;
    oldBacking.deallocate(this.#oldBase);
    return moved;
  }

  /**
   * Under the lock: counts a free of `size` bytes in the figures of the thread
   * the backing block at `base` came from (threadOf), else of this thread.
   * Every figure write of a shared tree holds the lock, so any thread may
   * write any thread's figures.
   */
  #countFree(base: number, size: number): void {
    const tree = this.tree!;
    if (tree.seat === undefined) return;
    const from = tree.threadOf === undefined ? -1 : tree.threadOf(base);
    tree.table!.recordFreeOf(from >= 0 ? from : tree.seat.slot, tree.seat.slot, size);
  }

  // The block #move replaced, for reallocateShared to give back after the lock (fields, not an object per call).
  #oldBacking: Allocator | undefined;
  #oldBase = 0;
  #oldSize = 0;

  /** Under the lock: checks, then moves live block `ptr` of this scope to `moved` (a new backing block); the old block goes to #old*. */
  #move(ptr: Ptr, moved: Ptr, newSize: number, nh: number, label: number): void {
    if (this.openState() < 0) throw this.disposedError("reallocate");
    if (label !== 0 && !isLabelId(this, label)) throw badLabelError(this.path, "reallocate", label);
    let i = this.ownLive(ptr, "reallocate");
    const damage = guardedHeaderError(this, this.path, "reallocate", i);
    if (damage !== undefined) throw damage;
    const oldSize = this.i32[recordAt(this, i) + R_SIZE]!;
    if (newSize > oldSize && (this.openState() & BUDGETED) !== 0) this.checkBudgets(newSize - oldSize);
    const oldSite = siteOfRecord(this, i);
    const keep = oldSite === 0 ? 0 : this.u32[entryWord(this, T_SITES, oldSite) + SITE_LABEL]!;
    const site = this.siteOf(REALLOCATE, label !== 0 ? label : keep);
    // A budget-warning hook (or a stack formatter) may have freed, moved or disposed things: look again.
    if (this.openState() < 0) throw this.disposedError("reallocate");
    i = this.ownLive(ptr, "reallocate");
    const word = this.i32[recordAt(this, i) + R_WORD]!;
    const size = this.i32[recordAt(this, i) + R_SIZE]!;
    this.#oldBacking = this.backingOfRecord(i);
    this.#oldBase = ptr - headerOf(word);
    this.#oldSize = size;
    this.copyUsable(this.#oldBacking, ptr, headerOf(word), moved, newSize);
    countResized(this, i, moved, newSize, headerCode(nh) | (word & GUARDED), site, frameOf(this, ptr));
    if ((word & GUARDED) !== 0) writeHeaderGuard(this, moved, nh);
  }

  // Queries on blocks read the records: under the lock on a shared tree.

  override allocatedSize(ptr: Ptr): number {
    if (this.tree === undefined) return super.allocatedSize(ptr);
    this.enter();
    try {
      adoptOne(this, ptr);
      return super.allocatedSize(ptr);
    } finally {
      this.leave();
    }
  }

  override owns(ptr: Ptr): boolean {
    if (this.tree === undefined) return super.owns(ptr);
    this.enter();
    try {
      adoptOne(this, ptr);
      return super.owns(ptr);
    } finally {
      this.leave();
    }
  }

  override stats(): AllocatorStats {
    if (this.tree === undefined) return super.stats();
    this.enterCounts();
    try {
      return super.stats();
    } finally {
      this.leave();
    }
  }

  /**
   * On a tree shared by threads whose lock has a seat: starts this thread's
   * high-water mark (its ThreadTable figures) over from its live bytes, under
   * the lock every writer of those figures holds. A no-op on other trees.
   */
  resetThreadPeak(): void {
    const tree = this.tree;
    if (tree?.seat === undefined) return;
    this.enter();
    try {
      tree.table!.resetPeak(tree.seat);
    } finally {
      this.leave();
    }
  }

  override originOf(ptr: Ptr): BlockOrigin | undefined {
    if (this.tree === undefined) return super.originOf(ptr);
    this.enter();
    try {
      // A debug allocator below asks with the backing block's address: the block starts 8 or 16 bytes on.
      if (typeof ptr === "number") for (let h = 0; h <= 16; h += 8) adoptOne(this, ptr + h);
      return super.originOf(ptr);
    } finally {
      this.leave();
    }
  }

  override forEachLiveBlock(visit: (ptr: Ptr, size: number, scope: string) => void): void {
    if (this.tree === undefined) return super.forEachLiveBlock(visit);
    this.enterAll();
    try {
      super.forEachLiveBlock(visit);
    } finally {
      this.leave();
    }
  }
}
