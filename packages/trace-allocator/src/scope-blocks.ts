import {
  CorruptionError,
  MAX_SIZE,
  allocateZeroed,
  validateAllocation,
  validatePointerShape,
  type Allocator,
  type AllocatorStats,
  type Ptr,
} from "@memkit/core";
import { enforceBudgets, overAnyLimit } from "./budgets.js";
import { guardedHeaderError, guardedHeaderFor, writeHeaderGuard } from "./header-guard.js";
import { isLabelId } from "./labels.js";
import {
  BUDGETED,
  GUARDED,
  HEADER_16,
  HEADER_BYTES,
  HEADER_SHIFT,
  ROW_MASK,
  R_SIZE,
  R_WORD,
  SITE_LABEL,
  T_RECORDS,
  T_SITES,
  W_EPOCH,
  W_FRAME,
  W_REC_CAP,
  W_REC_COUNT,
} from "./layout.js";
import { backingAlign, blockIn, blockStart, findRecord, frameOf, headerCode, headerFor, headerOf, recordAt, recordCount, searchRecord } from "./records.js";
import { backingIdOf, cameFrom, siteOfRecord } from "./retained.js";
import { backingFailed, badLabelError, crossScopeError, handedOutTwiceError, notLiveError, tooLargeError } from "./scope-errors.js";
import { countResized } from "./resize-counts.js";
import { ScopeState } from "./scope-state.js";
import { entryWord, growTable } from "./tables.js";
import type { BudgetWarning } from "./types.js";

/**
 * The block half of a scope handle: allocate, deallocate and reallocate at
 * every tracing level, over the tree's state (scope-state.ts); the queries
 * on blocks are the next layer (block-queries.ts). The tree half
 * (trace-allocator.ts) extends them.
 *
 * The inline paths ("counts", no budget, not guarded, align <= 16, no label)
 * create no JS objects and compare one word (the tree's epoch) to know that
 * what the handle caches is current; everything else takes the general way.
 */
export abstract class ScopeBlocks extends ScopeState implements Allocator {
  /** The handle a budget warning names for the scope at `row` (the tree half knows how to make one). */
  protected abstract scopeAt(row: number): BudgetWarning["allocator"];
  /** allocate, deallocate and reallocate on a tree shared by threads (shared-blocks.ts): their slow paths go there. */
  protected abstract allocateShared(size: number, align: number, label: number): Ptr;
  // The "off" paths (untracked-blocks.ts): no records, counts of the backing's usable sizes.
  protected abstract allocateUntracked(size: number, align: number): Ptr;
  protected abstract deallocateUntracked(ptr: Ptr): void;
  protected abstract reallocateUntracked(ptr: Ptr, newSize: number, align: number): Ptr;
  protected abstract deallocateShared(ptr: Ptr): void;
  // The queries on one block (block-queries.ts).
  abstract allocatedSize(ptr: Ptr): number;
  abstract owns(ptr: Ptr): boolean;
  abstract stats(): AllocatorStats;
  protected abstract reallocateShared(ptr: Ptr, newSize: number, align: number, label: number): Ptr;


  /**
   * Allocates `size` bytes aligned to `align` from the backing allocator (an
   * 8-byte header in front of the block holds its record index) and counts
   * them here and in every enclosing scope, under block label `label` (a
   * {@link labelId}; 0, the default, for none; ignored at "off"). Throws InvalidArgumentError for a
   * bad size or align, OutOfMemoryError when a budget in the chain would be
   * exceeded (naming it) or the backing is exhausted, DestroyedError once the
   * scope is disposed.
   */
  allocate(size: number, align = 8, label = 0): Ptr {
    // The common case inline: "counts", no budget, not guarded, align <= 16, no label, and nothing
    // the handle caches changed since it last looked (the tree's epoch). Everything else goes the general way.
    if (this.i32[this.cw + W_EPOCH] !== this.allocEpoch || label !== 0) return this.off ? this.allocateUntracked(size, align) : this.#allocateOther(size, align, label);
    validateAllocation(this.path, size, align);
    if (align > 16) return this.#allocateOther(size, align, 0);
    // Room for a header: 8 bytes, or 16 for align 16, in an 8-aligned backing block (blockStart).
    const hb = align > HEADER_BYTES ? 16 : HEADER_BYTES;
    if (size > MAX_SIZE - hb) throw tooLargeError(this.path, size, align, hb);
    let base: Ptr;
    try {
      base = this.backing.allocate(size + hb, HEADER_BYTES);
    } catch (err) {
      throw backingFailed(this.path, err, size, align, hb);
    }
    const ptr = blockStart(base, hb);
    const code = ptr - base === HEADER_BYTES ? 0 : HEADER_16;
    const wasm = this.recordPaths;
    if (wasm !== null) {
      // The wasm step reads the epoch, the records' count and the header from memory after the backing call.
      if (wasm.recorded(this.cw, this.allocEpoch, this.recW, this.recCap, this.row, this.rowsD, ptr, size, code) !== 0) return ptr;
      return this.recordNew(ptr, size, ptr - base, 0, 0);
    }
    // Read again after the backing call: code it ran (a grow listener) may have grown the space,
    // disposed this scope, filled or moved the records (the epoch says the last two).
    const i32 = this.i32;
    const cw = this.cw;
    const n = i32[cw + W_REC_COUNT]!;
    const recW = this.recW;
    const h = (ptr - HEADER_BYTES) >> 2;
    const seen = i32[h]!;
    if (i32[cw + W_EPOCH] !== this.allocEpoch || n === this.recCap || (seen >>> 0 < n && i32[recW + (seen << 2)] === ptr)) {
      return this.recordNew(ptr, size, ptr - base, 0, 0);
    }
    this.appendRecord(ptr, size, code, n);
    return ptr;
  }

  /**
   * The inline paths' record (private, and shared under the lock): block
   * `ptr` appended as record `n` with header code `code` (room checked, the
   * cached positions current), its header written, and counted.
   */
  protected appendRecord(ptr: Ptr, size: number, code: number, n: number): void {
    const i32 = this.i32;
    const cw = this.cw;
    const r = this.recW + (n << 2);
    i32[r] = ptr;
    i32[r + 1] = size;
    i32[r + 2] = this.row | code;
    i32[r + 3] = 0;
    i32[cw + W_REC_COUNT] = n + 1;
    const frame = i32[cw + W_FRAME]!;
    const h = (ptr - HEADER_BYTES) >> 2;
    i32[h] = n;
    i32[h + 1] = frame;
    this.countAdded(this.row, size, 0, frame);
  }

  /**
   * `allocate` with every byte of the block set to 0 (C's `calloc`): a block
   * that is reused holds what its last owner wrote. Errors as {@link allocate}.
   */
  allocateZeroed(size: number, align = 8): Ptr {
    return allocateZeroed(this, size, align);
  }

  /** "off", disposed, "callstacks", budgets, guarded headers, labels, and alignments above 8 (a header as large as the alignment). */
  #allocateOther(size: number, align: number, label: number): Ptr {
    // "off" keeps no records, so no labels: the label is ignored.
    if (this.off) return this.allocateUntracked(size, align);
    validateAllocation(this.path, size, align);
    if (this.tree !== undefined) return this.allocateShared(size, align, label);
    const state = this.openState(); // re-reads the cached fields when they moved: the next call may take the inline path
    if (state < 0) throw this.disposedError("allocate");
    if (label !== 0 && !isLabelId(this, label)) throw badLabelError(this.path, "allocate", label);
    const h = this.guarded ? guardedHeaderFor(align) : headerFor(align);
    if (size > MAX_SIZE - h) throw tooLargeError(this.path, size, align, h);
    if ((state & BUDGETED) !== 0) this.checkBudgets(size);
    const site = this.siteOf(ALLOCATE, label);
    // The budget hook and the site's tables may have run code that disposed this scope.
    if (this.i32[this.cw + W_EPOCH] !== this.openEpoch && this.openState() < 0) throw this.disposedError("allocate");
    let base: Ptr;
    try {
      base = this.backing.allocate(size + h, backingAlign(h, align, this.guarded));
    } catch (err) {
      throw backingFailed(this.path, err, size, align, h);
    }
    const ptr = blockIn(base, h, this.guarded);
    return this.recordNew(ptr, size, ptr - base, site, this.guarded ? GUARDED : 0);
  }

  /**
   * Records the block the backing just handed out at `ptr - h`, refusing
   * (and giving the block back) when this scope was disposed meanwhile, and
   * growing the records when they are full (nested allocations by code the
   * backing ran may have used the room). `giveBack` false: the caller gives
   * the block back when this throws (after leaving the tree lock).
   */
  protected recordNew(ptr: Ptr, size: number, h: number, site: number, flags: number, giveBack = true): Ptr {
    if (findRecord(this, ptr) >= 0) throw handedOutTwiceError(this.path, this.backing, ptr, h);
    for (;;) {
      // Code the backing ran may have disposed this scope, or moved or filled the records.
      if (this.i32[this.cw + W_EPOCH] !== this.openEpoch && this.openState() < 0) {
        if (giveBack) this.backing.deallocate(ptr - h);
        throw this.disposedError("allocate");
      }
      if (this.i32[this.cw + W_REC_COUNT]! < this.recCap) break;
      try {
        growTable(this, T_RECORDS, this.u32[this.cw + W_REC_CAP]! * 2);
      } catch (err) {
        if (giveBack) this.backing.deallocate(ptr - h);
        throw err;
      }
    }
    // The cached positions are current here (the epoch was checked, or openState() re-read them).
    const i32 = this.i32;
    const n = i32[this.cw + W_REC_COUNT]!;
    const r = this.recW + (n << 2);
    const frame = i32[this.cw + W_FRAME]!;
    i32[r] = ptr;
    i32[r + 1] = size;
    i32[r + 2] = this.row | headerCode(h) | flags;
    i32[r + 3] = site;
    i32[this.cw + W_REC_COUNT] = n + 1;
    i32[(ptr - HEADER_BYTES) >> 2] = n;
    i32[((ptr - HEADER_BYTES) >> 2) + 1] = frame;
    if ((flags & GUARDED) !== 0) writeHeaderGuard(this, ptr, h);
    this.countAdded(this.row, size, site, frame);
    return ptr;
  }

  /**
   * Frees a block this scope allocated (0 is a no-op). A block of another
   * scope throws InvalidPointerError naming both; a block freed already
   * throws DoubleFreeError; interior and foreign pointers throw
   * InvalidPointerError. Nothing changes on error, but for a CorruptionError
   * found with `guardHeaders` (or by a debug allocator below): the block is
   * freed all the same, then the error is thrown.
   */
  deallocate(ptr: Ptr): void {
    if (this.off) {
      this.deallocateUntracked(ptr);
      return;
    }
    if (ptr === 0) return;
    const wasm = this.recordPaths;
    if (wasm !== null) {
      // freeing() checks what the JS below checks (a live block of this row, its record word the row) and writes nothing.
      const x = typeof ptr === "number" && ptr >>> 0 === ptr ? wasm.freeing(this.cw, this.freeEpoch, this.recW, this.row, ptr) : -1;
      if (x < 0) {
        this.#deallocateSlow(ptr);
        return;
      }
      const i = x >>> 2;
      // The allocation frame, before the backing may reuse the header's bytes for its free lists.
      const allocFrame = this.i32[((ptr - HEADER_BYTES) >> 2) + 1]!;
      this.backing.deallocate(ptr - (HEADER_BYTES << (x & 1)));
      // A record that names a site (a label) is released by JS, which knows the sites.
      if ((x & 2) === 0) wasm.freed(this.cw, this.recW, this.rowsD, this.ringMask, i, ptr, allocFrame);
      else this.countReleased(i, ptr, allocFrame);
      return;
    }
    const i32 = this.i32;
    const cw = this.cw;
    // The inline path: nothing cached changed (the epoch), a live block of the tree, this scope's own
    // (the record word is the row, with at most the 16-byte header's code: not retained, not guarded).
    if (i32[cw + W_EPOCH] !== this.freeEpoch || typeof ptr !== "number" || (ptr & 7) !== 0 || ptr < HEADER_BYTES) {
      this.#deallocateSlow(ptr);
      return;
    }
    const h = (ptr - HEADER_BYTES) >> 2;
    const i = i32[h]!;
    const recW = this.recW;
    const r = recW + (i << 2);
    const word = i32[r + R_WORD]!;
    if (h >= i32.length || i >>> 0 >= i32[cw + W_REC_COUNT]! || i32[r] !== ptr || (word & ~HEADER_16) !== this.row) {
      this.#deallocateSlow(ptr);
      return;
    }
    // The allocation frame, before the backing may reuse the header's bytes for its free lists.
    const allocFrame = i32[h + 1]!;
    // (A backing whose deallocate calls back into this tree is not supported on this path, as before.)
    this.backing.deallocate(ptr - (HEADER_BYTES << (word >>> HEADER_SHIFT)));
    this.countReleased(i, ptr, allocFrame);
  }

  /** deallocate once the inline path does not apply. */
  #deallocateSlow(ptr: Ptr): void {
    if (this.tree !== undefined) return this.deallocateShared(ptr);
    this.sync();
    const i = findRecord(this, ptr);
    if (i < 0) throw this.refused(ptr, "deallocate");
    this.deallocateOther(ptr, i);
  }

  /** Retained blocks, larger or guarded headers, blocks kept by a disposed scope, and everything else (which throws). */
  protected deallocateOther(ptr: Ptr, i: number): void {
    const word = this.i32[recordAt(this, i) + R_WORD]!;
    if (!this.mine(i, word)) throw crossScopeError(this, this.path, ptr, i, "deallocate");
    const damage = guardedHeaderError(this, this.path, "deallocate", i);
    const allocFrame = frameOf(this, ptr);
    let failure: CorruptionError | undefined;
    try {
      this.backingOfRecord(i).deallocate(ptr - headerOf(word));
    } catch (err) {
      // A debug allocator below frees a block whose canary broke, then throws: forget it here too.
      if (!(err instanceof CorruptionError)) throw err;
      failure = err;
    }
    this.released(this.recordOf(ptr, i), ptr, allocFrame);
    if (damage !== undefined) throw damage;
    if (failure !== undefined) throw failure;
  }

  /** True when this scope may free record `i`: its own block, or a retained block it allocated (adopted by an ancestor since). */
  protected mine(i: number, word: number): boolean {
    return ((word & ROW_MASK) === this.row && this.here()) || cameFrom(this, i, this.row, this.gen);
  }

  /** Index of the record of live block `ptr`, last seen at `i` (code run meanwhile may have moved it). */
  protected recordOf(ptr: Ptr, i: number): number {
    return i < recordCount(this) && this.i32[recordAt(this, i)] === ptr ? i : searchRecord(this, ptr);
  }

  /**
   * The error for a pointer the records do not find. With guarded headers a
   * deallocate of a live block whose index word was overwritten still frees
   * the block (as a debug allocator frees a block whose canary broke).
   */
  protected refused(ptr: Ptr, op: string): Error {
    if (!this.alive) {
      validatePointerShape(this.path, ptr);
      return this.endedError(op);
    }
    const error = notLiveError(this, this.path, this.backing, ptr, op);
    if (op !== "deallocate" || !this.guarded || !(error instanceof CorruptionError)) return error;
    const i = searchRecord(this, ptr);
    const word = this.i32[recordAt(this, i) + R_WORD]!;
    if (!this.mine(i, word)) return error;
    const allocFrame = frameOf(this, ptr);
    try {
      this.backingOfRecord(i).deallocate(ptr - headerOf(word));
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
    }
    this.released(this.recordOf(ptr, i), ptr, allocFrame);
    return error;
  }

  /**
   * Resizes a block this scope allocated, keeping min(old, new) bytes (ptr 0
   * allocates). `label` (a {@link labelId}) relabels the block; 0, the
   * default, keeps its label. Errors as {@link allocate} and
   * {@link deallocate}; on any error the old block stays live and unchanged.
   */
  reallocate(ptr: Ptr, newSize: number, align = 8, label = 0): Ptr {
    if (this.off) return this.reallocateUntracked(ptr, newSize, align);
    if (!this.alive) throw this.endedError("reallocate");
    validateAllocation(this.path, newSize, align);
    if (this.tree !== undefined) return this.reallocateShared(ptr, newSize, align, label);
    if (label !== 0 && !isLabelId(this, label)) throw badLabelError(this.path, "reallocate", label);
    if (ptr === 0) return this.allocate(newSize, align, label);
    const state = this.openState();
    if (state < 0) throw this.disposedError("reallocate");
    let i = this.ownLive(ptr, "reallocate");
    const damage = guardedHeaderError(this, this.path, "reallocate", i);
    if (damage !== undefined) throw damage;
    const oldSize = this.i32[recordAt(this, i) + R_SIZE]!;
    const nh = this.guarded ? guardedHeaderFor(align) : headerFor(align);
    if (newSize > MAX_SIZE - nh) throw tooLargeError(this.path, newSize, align, nh);
    if (newSize > oldSize && (state & BUDGETED) !== 0) this.checkBudgets(newSize - oldSize);
    const oldSite = siteOfRecord(this, i);
    const keep = oldSite === 0 ? 0 : this.u32[entryWord(this, T_SITES, oldSite) + SITE_LABEL]!;
    const site = this.siteOf(REALLOCATE, label !== 0 ? label : keep);
    // A budget-warning hook (or a stack formatter) may have freed, moved or disposed things: look again.
    if (this.openState() < 0) throw this.disposedError("reallocate");
    i = this.ownLive(ptr, "reallocate");
    const word = this.i32[recordAt(this, i) + R_WORD]!;
    const h = headerOf(word);
    const backing = this.backingOfRecord(i);
    const allocFrame = frameOf(this, ptr);
    const blockAlign = backingAlign(nh, align, this.guarded);
    // Align 16 without guards: an 8-aligned backing block, as allocate (blockStart).
    const lean = nh === 16 && !this.guarded;
    let moved: Ptr;
    let mh = nh; // the header the moved block has
    try {
      if (lean && h <= 16) {
        // The backing moves the header along with the bytes; the block then starts 8 or 16 bytes
        // into the new backing block, and slides there when that changed.
        const usable = backing.allocatedSize(ptr - h) - h;
        const base = backing.reallocate(ptr - h, newSize + nh, HEADER_BYTES);
        moved = blockStart(base, nh);
        mh = moved - base;
        if (mh !== h) this.space.bytes.copy(moved, base + h, Math.min(usable, newSize));
      } else if (nh === h) {
        // The backing moves the header along with the bytes.
        moved = backing.reallocate(ptr - h, newSize + h, blockAlign) + h;
      } else {
        // The header size changes with the alignment: a new block, a copy, then the old one goes.
        const base = backing.allocate(newSize + nh, blockAlign);
        moved = blockIn(base, nh, this.guarded);
        mh = moved - base;
        this.copyUsable(backing, ptr, h, moved, newSize);
        backing.deallocate(ptr - h);
      }
    } catch (err) {
      throw backingFailed(this.path, err, newSize, align, nh);
    }
    i = this.recordOf(ptr, i);
    if (moved !== ptr && findRecord(this, moved) >= 0) throw handedOutTwiceError(this.path, backing, moved, mh);
    countResized(this, i, moved, newSize, headerCode(mh) | (word & GUARDED), site, allocFrame);
    if ((word & GUARDED) !== 0) writeHeaderGuard(this, moved, nh);
    return moved;
  }

  /**
   * Copies the block at `ptr` (header `h` bytes, in `backing`) to `moved`: every usable byte up to
   * `newSize`, not only the size asked for — allocatedSize() reports the usable size, and containers
   * fill it — as the backing's own reallocate would.
   */
  protected copyUsable(backing: Allocator, ptr: Ptr, h: number, moved: Ptr, newSize: number): void {
    const usable = backing.allocatedSize(ptr - h) - h;
    this.space.bytes.copy(moved, ptr, Math.min(usable, newSize));
  }

  /** Index of the record of `ptr`, a live block of this scope; throws the error for anything else. */
  protected ownLive(ptr: Ptr, op: string): number {
    const i = findRecord(this, ptr);
    if (i < 0) throw this.refused(ptr, op);
    if ((this.i32[recordAt(this, i) + R_WORD]! & ROW_MASK) !== this.row || !this.here()) throw crossScopeError(this, this.path, ptr, i, op);
    return i;
  }

  /** The allocator record `i`'s block goes back to: its scope's backing (for an adopted block, the one it came from). */
  protected backingOfRecord(i: number): Allocator {
    return this.backingOf(backingIdOf(this, i));
  }

  /** Budget gate: walks the chain once; the slow path decides (and may run the warning hook). */
  protected checkBudgets(bytes: number): void {
    if (!overAnyLimit(this, this.row, bytes)) return;
    enforceBudgets(this, this.path, this.row, bytes, this.link.onBudgetWarning, (row) => this.scopeAt(row));
  }
}

/* eslint-disable @typescript-eslint/unbound-method -- identities for Error.captureStackTrace, never called */
/** Entry points a call-stack capture starts below (see CallStacks.capture). */
export const ALLOCATE = ScopeBlocks.prototype.allocate;
export const REALLOCATE = ScopeBlocks.prototype.reallocate;
/* eslint-enable @typescript-eslint/unbound-method */
