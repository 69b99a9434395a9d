import { recordPathsFor, type RecordPaths } from "./record-paths.js";
import { SpaceHandle, SpaceViews, destroyedError, type Allocator, type DestroyedError, type ViewSet } from "@memkit/core";
import {
  D_ALLOC_BYTES,
  D_ALLOC_COUNT,
  D_EPOCH,
  D_FREE_COUNT,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_PEAK_FRAME,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_COUNT,
  D_TOTAL_PEAK,
  D_TOTAL_PEAK_FRAME,
  D_TEMP_BYTES,
  D_TEMP_COUNT,
  COUNTS,
  DISPOSED,
  GEN_LIVE,
  GEN_MASK,
  GEN_SHIFT,
  HEADER_BYTES,
  LIVE,
  RETAINED,
  RET_SITE,
  ROW_F64_SHIFT,
  ROW_MASK,
  ROW_WORD_SHIFT,
  S_PARENT,
  S_STATE,
  T_RETAINED,
  W_EPOCH,
  W_FRAME,
  W_REC_CAP,
  W_REC_COUNT,
  W_REC_PTR,
  W_RING,
  W_RING_AT,
  W_RING_SLOTS,
  W_ROWS_PTR,
  stateWord,
  S_BACKING,
  OFF,
  W_FLAGS,
  FLAG_GUARDED,
  LEVEL_MASK,
  CALLSTACKS,
  S_COUNTDOWN,
  S_SAMPLE,
  MAX_LABELS,
  NEVER_CURRENT,
} from "./layout.js";
import { adoptAll, foldCounters } from "./lane-fold.js";
import { closeRetained } from "./retained.js";
import { siteAdd, siteFor, siteMatches, siteRemove } from "./sites.js";
import { disposedError } from "./scope-errors.js";
import { entryWord } from "./tables.js";
import type { TreeLink } from "./tree-link.js";
import { enterTree, leaveTree, type TreeLock } from "./tree-lock.js";
import { levelOf, nameOfPath, pathOf, rowF64, rowWord, type TreeMemory } from "./tree-view.js";


/*
 * The state half of a scope handle: the views it reads the tree through and
 * the counting steps every allocate and free takes (records, counters,
 * sites, the recent-free ring; a resize's are in resize-counts.ts), all in
 * linear memory. The API half
 * (trace-allocator.ts) extends it. A handle holds only what never changes
 * while its row is this scope (row, generation, the tree's fixed words) and
 * its views; every call reads the rest from memory, so handles on the same
 * scope (another attach, another thread) see the same counts.
 */
export abstract class ScopeState extends SpaceHandle implements TreeMemory {
  /** @internal Views of the space, refreshed when it grows; empty once the handle ended. */
  u8: Uint8Array;
  /** @internal */
  u16: Uint16Array;
  /** @internal */
  i32: Int32Array;
  /** @internal */
  u32: Uint32Array;
  /** @internal */
  f64: Float64Array;
  /** @internal Word index of the tree's control block. */
  readonly cw: number;
  /** @internal This handle's link: the backing objects, hooks and caches of the attach it came from. */
  readonly link: TreeLink;
  /** @internal The scope's row. */
  readonly row: number;
  /** @internal The row's generation while it is this scope. */
  readonly gen: number;
  /** Row offsets in words and float64 slots from the rows table's start. */
  protected readonly rowW: number;
  protected readonly rowD: number;
  /** The scope's own name (`physics`). */
  readonly name: string;
  /** Names from the root down, joined by `/` (`root/physics`). */
  readonly path: string;
  /** The allocator this scope takes its blocks from. */
  readonly backing: Allocator;
  /** An "off" scope stays "off" for its whole life: its frees never look for records first. */
  protected readonly off: boolean;
  /** Blocks of this tree have guarded headers (a sealed word of the tree). */
  protected readonly guarded: boolean;
  /** Site ids by (stack, label) key: a cache, checked against memory before use. */
  readonly #sites = new Map<number, number>();

  /** This scope's (no stack, no label) site, and the epoch it was looked up in (-1: look again). */
  #unsampled = 0;
  #unsampledEpoch = -1;
  /** Mask of the ring's word index (2 * slots - 1). */
  protected readonly ringMask: number;
  /** The inline record steps as wasm (record-paths.ts), or null where wasm cannot be compiled: ScopeBlocks then runs them in JS. */
  protected readonly recordPaths: RecordPaths | null;
  /** @internal The STATE word of this row while allocate may take its inline path ("counts", no budget up the chain, not guarded, not disposed). */
  readonly key: number;
  /** @internal The row's generation and LIVE bit, as STATE holds them while the row is this scope. */
  readonly genLive: number;
  // What the inline paths use without reading it from memory, valid while the tree's W_EPOCH
  // is the one seen when it was read (sync()): table positions, and this row's state.
  /** The epoch when the fields below were read (sync()). */
  protected epoch = -1;
  /** This row's STATE when they were read. */
  protected state = 0;
  /** The epoch while allocate's inline path applies (the row's STATE is `key`), else -1. */
  protected allocEpoch = -1;
  /** The epoch while the row holds this scope (frees of its own blocks take the inline path), else -1. */
  protected freeEpoch = -1;
  /** The epoch while the row holds this scope and it is not disposed (an "off" scope's inline paths), else -1. */
  protected openEpoch = -1;
  /** Int32 index of the records table, and its capacity. */
  protected recW = 0;
  protected recCap = 0;
  /** Int32 and float64 index of the rows table. */
  protected rowsW = 0;
  protected rowsD = 0;
  /** @internal The tree lock, on a tree shared by threads (tree-lock.ts): every path is then a slow path that holds it. */
  readonly tree: TreeLock | undefined;

  protected constructor(link: TreeLink, row: number) {
    super(link.space, link.controlPtr);
    this.link = link;
    this.tree = link.tree;
    this.cw = link.controlPtr >>> 2;
    this.row = row;
    this.rowW = (row << ROW_WORD_SHIFT);
    this.rowD = (row << ROW_F64_SHIFT);
    const views = SpaceViews.of(link.space);
    this.gen = (views.u32[(views.u32[this.cw + W_ROWS_PTR]! >>> 2) + this.rowW + S_STATE]! >>> GEN_SHIFT) & GEN_MASK;
    this.u8 = views.u8;
    this.u16 = views.u16;
    this.i32 = views.i32;
    this.u32 = views.u32;
    this.f64 = views.f64;
    this.ringMask = views.u32[this.cw + W_RING_SLOTS]! * 2 - 1;
    this.recordPaths = recordPathsFor(link.space.memory, link.space.shared);
    this.key = stateWord(this.gen, COUNTS, 0);
    this.genLive = (this.gen << GEN_SHIFT) | LIVE;
    const path = pathOf(this, row);
    this.path = path;
    this.name = nameOfPath(path);
    this.backing = link.backingOf(this, this.u32[rowWord(this, row) + S_BACKING]!);
    this.off = levelOf(this, row) === OFF;
    this.guarded = (this.u32[this.cw + W_FLAGS]! & FLAG_GUARDED) !== 0;
  }

  /** Takes the tree lock (a tree shared by threads; re-entrant per thread). Pair with {@link leave} in a finally. */
  protected enter(): void {
    if (this.tree !== undefined) enterTree(this.tree, this, true);
  }

  /**
   * {@link enter}, then the lanes' blocks adopted into the records and their
   * counts folded (lane-fold.ts): for whatever walks the records.
   */
  protected enterAll(): void {
    if (this.tree === undefined) return;
    enterTree(this.tree, this, true);
    try {
      if (this.alive) adoptAll(this, this.tree.table);
    } catch (err) {
      leaveTree(this.tree);
      throw err;
    }
  }

  /** {@link enter}, then the lanes' counts folded into the rows: for whatever reads counters. */
  protected enterCounts(): void {
    if (this.tree === undefined) return;
    enterTree(this.tree, this, true);
    if (this.alive) foldCounters(this, this.tree.table);
  }

  /**
   * {@link enter} for the block paths of a shared tree, without looking for
   * growth: what they read past this thread's views (a pointer from another
   * thread, a table another thread moved, which moves the epoch) sends them
   * to a path that refreshes the views (sync()).
   */
  protected enterBlocks(): void {
    enterTree(this.tree!, this, false);
  }

  /** Gives the tree lock back (see {@link enter}). */
  protected leave(): void {
    if (this.tree !== undefined) leaveTree(this.tree);
  }

  /** Re-reads the cached fields when the tree's epoch moved since they were read. */
  protected fresh(): void {
    if (this.i32[this.cw + W_EPOCH] !== this.epoch) this.sync();
  }

  /** Re-reads what the inline paths cache (see allocEpoch). Cheap; every slow path calls it. */
  protected sync(): void {
    // Another thread may have moved a table into memory it grew: look before reading positions.
    if (this.tree !== undefined && this.alive) this.space.refresh();
    const u32 = this.u32;
    const cw = this.cw;
    if (u32.length === 0) {
      // Ended: the inline paths must miss, and the slow paths throw.
      this.epoch = -1;
      this.allocEpoch = -1;
      this.freeEpoch = -1;
      this.openEpoch = -1;
      return;
    }
    const epoch = u32[cw + W_EPOCH]! | 0;
    this.epoch = epoch;
    // On a tree shared by threads the private inline paths must never apply (they do not take the
    // lock): their epochs get a bit no tree epoch has, so they are never equal to it, and the shared
    // block paths (shared-blocks.ts) compare with the bit set, under the lock.
    const tag = this.tree === undefined ? epoch : epoch | NEVER_CURRENT;
    this.recW = u32[cw + W_REC_PTR]! >>> 2;
    this.recCap = u32[cw + W_REC_CAP]!;
    this.rowsW = u32[cw + W_ROWS_PTR]! >>> 2;
    this.rowsD = this.rowsW >>> 1;
    const state = u32[this.rowsW + this.rowW]!;
    this.state = state;
    this.allocEpoch = state === this.key ? tag : -1;
    this.freeEpoch = (state & GEN_LIVE) === this.genLive ? tag : -1;
    this.openEpoch = this.freeEpoch >= 0 && (state & DISPOSED) === 0 ? tag : -1;
  }

  /** @internal */
  refreshViews(views: ViewSet): void {
    this.u8 = views.u8;
    this.u16 = views.u16;
    this.i32 = views.i32;
    this.u32 = views.u32;
    this.f64 = views.f64;
    // Ended: the wasm record steps read the tree's memory, which may live on (another handle's), so
    // the epochs they compare with must miss now, as the JS steps' reads of the empty views do.
    if (views === SpaceViews.dead) this.sync();
  }

  /** @internal The allocator the tree's own state is leased from. */
  get metaBacking(): Allocator {
    return this.link.backing;
  }

  /** @internal */
  stackText(id: number): string | undefined {
    return this.link.stacks.get(id);
  }

  /** @internal */
  backingOf(id: number): Allocator {
    return this.link.backingOf(this, id);
  }

  /** @internal Counts a new block of `size` in `row` (and `site`); its record is already in. */
  added(row: number, size: number, site: number): void {
    this.fresh();
    this.countAdded(row, size, site, this.i32[this.cw + W_FRAME]!);
  }

  /** {@link added} for the inline path, whose caller checked the epoch: the cached positions are current. */
  protected countAdded(row: number, size: number, site: number, frame: number): void {
    const f64 = this.f64;
    const i32 = this.i32;
    if (site !== 0) siteAdd(this, site, size, frame);
    const rowsD = this.rowsD;
    const o = rowsD + (row << ROW_F64_SHIFT);
    const live = f64[o + D_LIVE_BYTES]! + size;
    f64[o + D_LIVE_BYTES] = live;
    if (live > f64[o + D_PEAK_BYTES]!) {
      f64[o + D_PEAK_BYTES] = live;
      f64[o + D_PEAK_FRAME] = frame;
    }
    f64[o + D_LIVE_COUNT]!++;
    f64[o + D_ALLOC_COUNT]!++;
    f64[o + D_ALLOC_BYTES]! += size;
    // Up the chain: a row's PARENT is int32 word 1 of its first float64 slot.
    for (let p = o; ; ) {
      const total = f64[p + D_TOTAL_BYTES]! + size;
      f64[p + D_TOTAL_BYTES] = total;
      f64[p + D_TOTAL_COUNT]!++;
      if (total > f64[p + D_TOTAL_PEAK]!) {
        f64[p + D_TOTAL_PEAK] = total;
        f64[p + D_TOTAL_PEAK_FRAME] = frame;
        f64[p + D_EPOCH]!++;
      }
      const parent = i32[(p << 1) + S_PARENT]!;
      if (parent < 0) break;
      p = rowsD + (parent << ROW_F64_SHIFT);
    }
  }

  /**
   * @internal Forgets record `i` (block `ptr`, whose backing block is already
   * freed): counters of its owner and the owner's ancestors, its site, its
   * retained entry, and the ring of recent frees. Small steps, so the whole
   * of it inlines into deallocate.
   */
  released(i: number, ptr: number, allocFrame: number): void {
    this.fresh();
    this.countReleased(i, ptr, allocFrame);
  }

  /**
   * {@link released} for the inline path, whose caller checked the epoch.
   * `allocFrame` is the frame the block was allocated in (its header's,
   * read before the backing could reuse those bytes).
   */
  protected countReleased(i: number, ptr: number, allocFrame: number): void {
    const i32 = this.i32;
    const r = this.recW + (i << 2);
    const size = i32[r + 1]!;
    const word = i32[r + 2]!;
    const site = i32[r + 3]!;
    const row = word & ROW_MASK;
    this.dropRecord(i, r);
    if ((word & RETAINED) !== 0 || site !== 0) this.releasedSite(row, size, word, site);
    this.uncount(row, size, allocFrame);
    this.noteFreed(ptr, row);
  }

  /**
   * Swap-remove of record `i` (at int32 index `r`): the last record moves into
   * the hole, its block's header follows, then the count drops. In that order
   * a thread that dies in between leaves the moved record twice, which the
   * repair after its death drops (tree-repair.ts), never a block without one.
   */
  private dropRecord(i: number, r: number): void {
    const i32 = this.i32;
    const last = i32[this.cw + W_REC_COUNT]! - 1;
    if (i !== last) {
      const l = this.recW + (last << 2);
      const moved = i32[l]!;
      i32[r] = moved;
      i32[r + 1] = i32[l + 1]!;
      i32[r + 2] = i32[l + 2]!;
      i32[r + 3] = i32[l + 3]!;
      i32[(moved - HEADER_BYTES) >> 2] = i;
    }
    i32[this.cw + W_REC_COUNT] = last;
  }

  /** Remembers a free in the ring (for telling a double free from a foreign pointer). */
  protected noteFreed(ptr: number, row: number): void {
    const i32 = this.i32;
    const cw = this.cw;
    const at = i32[cw + W_RING_AT]!;
    i32[cw + W_RING + at] = ptr;
    i32[cw + W_RING + at + 1] = row;
    i32[cw + W_RING_AT] = (at + 2) & this.ringMask;
  }

  /** A freed block's site and retained entry (`site` is the record's site word). */
  private releasedSite(row: number, size: number, word: number, site: number): void {
    if ((word & RETAINED) !== 0) {
      const entry = site;
      site = this.u32[entryWord(this, T_RETAINED, entry) + RET_SITE]!;
      closeRetained(this, entry);
      const o = rowF64(this, row);
      this.f64[o + D_RETAINED_BYTES] = this.f64[o + D_RETAINED_BYTES]! - size;
      this.f64[o + D_RETAINED_COUNT]!--;
    }
    if (site !== 0) siteRemove(this, site, size, row);
  }

  /**
   * A block of `size` leaves `row` (a free) and the subtree totals of its
   * ancestors (the cached positions must be current). A block allocated in
   * this frame (`allocFrame`, -1 for none) counts as a temporary one: the
   * frame or scratch allocator would have served it without a free.
   */
  protected uncount(row: number, size: number, allocFrame: number): void {
    const f64 = this.f64;
    const i32 = this.i32;
    const rowsD = this.rowsD;
    const o = rowsD + (row << ROW_F64_SHIFT);
    f64[o + D_LIVE_BYTES] = f64[o + D_LIVE_BYTES]! - size;
    f64[o + D_LIVE_COUNT]!--;
    f64[o + D_FREE_COUNT]!++;
    if (allocFrame === i32[this.cw + W_FRAME]) {
      f64[o + D_TEMP_COUNT]!++;
      f64[o + D_TEMP_BYTES]! += size;
    }
    for (let p = o; ; ) {
      f64[p + D_TOTAL_BYTES] = f64[p + D_TOTAL_BYTES]! - size;
      f64[p + D_TOTAL_COUNT]!--;
      const parent = i32[(p << 1) + S_PARENT]!;
      if (parent < 0) break;
      p = rowsD + (parent << ROW_F64_SHIFT);
    }
  }

  // ------------------------------------------------------------- internals

  /** True while the row holds this scope (disposed or not: a disposed root keeps its row). */
  protected here(): boolean {
    return (this.i32[(this.u32[this.cw + W_ROWS_PTR]! >>> 2) + this.rowW]! & GEN_LIVE) === this.genLive;
  }

  /** The row's STATE while this scope is open (not disposed), else -1 (also once the handle ended). */
  protected openState(): number {
    this.fresh();
    return this.openEpoch >= 0 ? this.state : -1;
  }

  protected isOpen(): boolean {
    return this.alive && this.openState() >= 0;
  }

  /**
   * The site of an allocation with label `label` (0: none): at "callstacks"
   * the sampled call stack's, else the label's (0 for no label). `entry` is
   * the public method the caller called (its frame and those above are
   * skipped). 0 also when the scope went away meanwhile (the caller looks).
   */
  protected siteOf(entry: (...args: never[]) => unknown, label: number): number {
    if ((this.state & LEVEL_MASK) !== CALLSTACKS) return label === 0 ? 0 : this.#site(0, label);
    const rw = this.rowsW + this.rowW;
    let stack = 0;
    const countdown = this.u32[rw + S_COUNTDOWN]! - 1;
    if (countdown <= 0) {
      this.u32[rw + S_COUNTDOWN] = this.u32[rw + S_SAMPLE]!;
      stack = this.link.stacks.capture(entry);
    } else {
      this.u32[rw + S_COUNTDOWN] = countdown;
    }
    return this.#site(stack, label);
  }

  /** The site of (`stack`, `label`) in this scope, through the cache. */
  #site(stack: number, label: number): number {
    if (stack === 0 && label === 0) {
      // The unsampled site: most allocations at "callstacks" with sampling. Its id holds while
      // the scope lives, and the scope cannot end without the epoch moving.
      if (this.i32[this.cw + W_EPOCH] === this.#unsampledEpoch) return this.#unsampled;
      const id = siteFor(this, this.row, this.gen, 0, 0);
      this.#unsampled = id;
      this.#unsampledEpoch = id === 0 ? -1 : this.i32[this.cw + W_EPOCH]! | 0;
      return id;
    }
    const key = stack * MAX_LABELS + label;
    const cached = this.#sites.get(key);
    if (cached !== undefined && siteMatches(this, cached, this.row, this.gen, stack, label)) return cached;
    const id = siteFor(this, this.row, this.gen, stack, label);
    if (id !== 0) this.#sites.set(key, id);
    return id;
  }

  protected disposedError(op: string): DestroyedError {
    return this.alive ? disposedError(this.path, op, false) : this.endedError(op);
  }

  /** DestroyedError for `op` on this ended handle: "the scope tree was destroyed" or "this handle was detached". */
  protected override endedError(op: string): DestroyedError {
    if (this.ended === "destroyed") return disposedError(this.path, op, true);
    return destroyedError(`${this.path}.${op}`, "this handle was detached", "attach a new handle (TraceAllocator.attach) to use the tree");
  }
}
