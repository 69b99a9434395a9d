import {
  Attachment,
  CorruptionError,
  InvalidArgumentError,
  LeakError,
  MAX_SIZE,
  allocateZeroed,
  describe,
  destroyedError,
  markEntryPoints,
  validateAllocation,
  validatePointerShape,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type BlockLabels,
  type BlockOrigin,
  type Checkable,
  type DestroyedError,
  type OriginTracking,
  type Ptr,
} from "@memkit/core";
import { budgetOf, enforceBudgets, overAnyLimit, writeBudget } from "./budgets.js";
import { MEMKIT_FRAME_PATTERN } from "./call-stacks.js";
import { checkTree } from "./check.js";
import { foldStacks } from "./folded-stacks.js";
import { guardedHeaderError, guardedHeaderFor, writeHeaderGuard } from "./header-guard.js";
import { internLabel, isLabelId } from "./labels.js";
import {
  BUDGETED,
  CALLSTACKS,
  DISPOSED,
  D_ALLOC_COUNT,
  D_FREE_COUNT,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_RETAINED_BYTES,
  FLAG_GUARDED,
  GUARDED,
  HEADER_BYTES,
  LEVEL_MASK,
  MAX_LABELS,
  OFF,
  RETAINED,
  ROW_GUARDED,
  ROW_MASK,
  R_SIZE,
  R_WORD,
  SITE_LABEL,
  S_BACKING,
  S_COUNTDOWN,
  S_SAMPLE,
  S_STAGE,
  T_SITES,
  W_BACKING,
  W_EPOCH,
  GEN_LIVE,
  W_FLAGS,
  W_FRAME,
  W_META_BLOCKS,
  W_META_BYTES,
  W_NEXT_STACK,
  W_REC_CAP,
  W_REC_COUNT,
  W_REC_PTR,
  W_ROWS_PTR,
  TRACE_LAYOUT,
} from "./layout.js";
import { collectLeaks, formatLeakMessage, reservedBytesOf, walkLiveBlocks } from "./leaks.js";
import { LEVELS, checkBacking, checkLevel, checkName, checkOptions, checkSampleEvery, defaultBudgetWarning, parseBudget, rootSettings, withoutBacking } from "./options.js";
import { findRecord, frameOf, headerCode, headerFor, headerOf, recordAt, recordCount } from "./records.js";
import { buildReport, formatReport } from "./report.js";
import { backingIdOf, cameFrom, retainedInfo, siteOfRecord } from "./retained.js";
import { retainBlock, resetPeaks, unretainBlock } from "./scope-changes.js";
import { backingFailed, badLabelError, crossScopeError, disposedError, handedOutTwiceError, notLiveError, tooLargeError } from "./scope-errors.js";
import { findChildRow, openRow, setLevel } from "./scope-rows.js";
import { ScopeState } from "./scope-state.js";
import { siteFor, siteMatches, stackOf } from "./sites.js";
import { newString, releaseString, readString } from "./strings.js";
import { growTable, reserveEntries, tableRoom, entryWord } from "./tables.js";
import { closeScopes } from "./teardown.js";
import { T_RECORDS, T_ROWS } from "./layout.js";
import { createTree, freeTree, openTree } from "./tree-control.js";
import { ScopeRef, TreeLink, checkAttachBacking } from "./tree-link.js";
import { childRows, isScope, levelOf, nameOfPath, parentOf, pathOf, rowF64, rowWord, stateOf } from "./tree-view.js";
import { resizedUntracked } from "./untracked-counts.js";
import type {
  BudgetOptions,
  FoldedStacksOptions,
  OpenScopeOptions,
  RetainedBlock,
  ScopeReport,
  TraceAllocatorOptions,
  TraceAttachOptions,
  TraceLeakReport,
  TraceScopeOptions,
  TracingLevel,
} from "./types.js";

/** The largest header: alignments go up to 64 KiB. */
const MAX_HEADER = 65536;

type Link = TreeLink<TraceAllocator>;

/**
 * A named scope over a backing allocator: it counts what it hands out (bytes
 * asked for, blocks, a resettable peak, for itself and its subtree), enforces
 * an optional budget, answers which scope owns a pointer, and on `dispose()`
 * throws LeakError naming every block still live (with its call stack at
 * `"callstacks"` level). Scopes form a tree: `root.child("physics")`.
 *
 * The tree's state is in linear memory (layout.ts): a TraceAllocator is a
 * handle on one scope of it. `TraceAllocator.attach(space, controlPtr)` is a
 * second handle on the root of an existing tree (another thread, a restored
 * save), `openScope(path)` a handle on one of its scopes; handles on the
 * same scope share every count, budget and block.
 *
 * Every block of the tree has a record and an 8-byte header in front of it
 * holding the record's index (records.ts), so `deallocate` through the wrong
 * scope, a double free, an interior or a foreign pointer are caught exactly,
 * in O(1), and change nothing. At `"counts"` level allocate and deallocate
 * create no JS objects.
 *
 * ```ts
 * const root = new TraceAllocator(pages);
 * {
 *   using physics = root.child("physics", { budget: 32 << 20 });
 *   const p = physics.allocate(256);
 *   physics.deallocate(p);
 * } // dispose: throws LeakError if physics still held anything
 * ```
 */
export class TraceAllocator extends ScopeState implements Allocator, BlockLabels, OriginTracking, Checkable, Disposable {
  /** The scope's own name (`physics`). */
  readonly name: string;
  /** Names from the root down, joined by `/` (`root/physics`). */
  readonly path: string;
  /** The allocator this scope takes its blocks from. */
  readonly backing: Allocator;
  /** An "off" scope stays "off" for its whole life: its frees never look for records first. */
  readonly #off: boolean;
  readonly #guarded: boolean;
  readonly #parent: TraceAllocator | undefined;
  /** The level last seen (reports of a disposed scope say it). */
  #tracing: TracingLevel;
  /** Site ids by (stack, label) key: a cache, checked against memory before use. */
  readonly #sites = new Map<number, number>();

  /**
   * Creates the root scope of a new tree over `backing` (its state is leased
   * from `backing` too), or, given an {@link Attachment}, a second handle on
   * the root of the tree whose control block that is (see {@link attach}).
   * Child scopes come from {@link child}. Throws InvalidArgumentError naming a
   * bad option, CorruptionError for a damaged tree.
   */
  constructor(source: Allocator | Attachment | ScopeRef<TraceAllocator>, options: TraceAllocatorOptions | TraceAttachOptions = {}) {
    const ref = source instanceof ScopeRef ? source : source instanceof Attachment ? attachRoot(source, options) : createRoot(source, options);
    super(ref.link, ref.row);
    const path = pathOf(this, ref.row);
    this.path = path;
    this.name = nameOfPath(path);
    this.backing = ref.link.backingOf(this, this.u32[rowWord(this, ref.row) + S_BACKING]!);
    const level = levelOf(this, ref.row);
    this.#off = level === OFF;
    this.#tracing = LEVELS[level]!;
    this.#guarded = (this.u32[this.cw + W_FLAGS]! & FLAG_GUARDED) !== 0;
    this.#parent = ref.parent ?? (ref.row === 0 ? undefined : handleOf(ref.link, this, parentOf(this, ref.row)));
    ref.link.root ??= this;
    ref.link.handles.set(ref.row, this);
    this.followViews();
    if (ref.budget !== undefined) writeBudget(this, ref.row, ref.budget);
  }

  /**
   * A second handle on the root scope of the tree whose control block is at
   * `controlPtr` (see {@link controlPtr}), in the same space. Every state
   * word, table and row is checked first: a wrong pointer or a damaged tree
   * is a CorruptionError. `options.backing` is the tree's backing allocator
   * in this thread; call stacks captured elsewhere print as
   * "(stack not captured in this thread)".
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: TraceAttachOptions = {}): TraceAllocator {
    return new TraceAllocator(Attachment.open(space, controlPtr, TRACE_LAYOUT, "TraceAllocator.attach"), options);
  }

  get #link(): Link {
    return this.link as Link;
  }

  // ------------------------------------------------------------ the tree

  /**
   * Creates a child scope named `name` (unique among live siblings; no `/`,
   * `;` or line breaks). It inherits the tracing level and sampling unless
   * `options` says otherwise, and allocates from this scope's backing.
   */
  child(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    if (!this.#isOpen()) throw this.#disposedError("child");
    checkName(name, this.path);
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError(`${this.path}: child options must be an object, received ${describe(options)}.`);
    }
    checkOptions(withoutBacking(options), false);
    const backing = options.backing ?? this.backing;
    checkBacking(backing, this);
    const path = `${this.path}/${name}`;
    const budget = options.budget === undefined ? undefined : parseBudget(path, options.budget);
    const level = options.tracing === undefined ? levelOf(this, this.row) : LEVELS.indexOf(options.tracing);
    const sampleEvery = options.sampleEvery ?? this.u32[rowWord(this, this.row) + S_SAMPLE]!;
    const link = this.#link;
    for (;;) {
      this.#assertUnique(path);
      const backingId = options.backing === undefined ? this.u32[rowWord(this, this.row) + S_BACKING]! : link.idOfBacking(this, options.backing);
      reserveEntries(this, T_ROWS, 1);
      const pathOff = newString(this, path);
      // The backing ran code meanwhile: this scope may be gone, the name taken, the room used.
      if (!this.#isOpen() || findChildRow(this, this.row, path) >= 0 || tableRoom(this, T_ROWS) < 1) {
        releaseString(this, pathOff);
        if (!this.#isOpen()) throw this.#disposedError("child");
        continue;
      }
      const flags = stateOf(this, this.row) & (BUDGETED | ROW_GUARDED);
      const row = openRow(this, { parent: this.row, path: pathOff, level, sampleEvery, backing: backingId, flags });
      return new TraceAllocator(new ScopeRef(link, row, this, budget));
    }
  }

  #assertUnique(path: string): void {
    if (findChildRow(this, this.row, path) < 0) return;
    throw new InvalidArgumentError(
      `${this.path}: a child scope named ${JSON.stringify(nameOfPath(path))} is already live (${path}).\n` +
        `  Sibling names must be unique: dispose the old one first or pick another name.`,
    );
  }

  /** Same as {@link child} (The Machinery's name). */
  createChild(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    return this.child(name, options);
  }

  /**
   * A handle on the live scope at `path` below this one ("physics/broadphase"),
   * created by any handle on the tree (found through memory). Pass
   * `options.backing` when that scope was created with its own backing.
   * Throws InvalidArgumentError when there is no such scope.
   */
  openScope(path: string, options: OpenScopeOptions = {}): TraceAllocator {
    if (!this.alive) throw this.#endedError("openScope");
    if (typeof path !== "string" || path.length === 0) throw new InvalidArgumentError(`${this.path}: openScope expects a relative path such as "physics/broadphase", received ${describe(path)}.`);
    let row = this.row;
    let at = this.path;
    if (!isScope(this, row, this.gen)) throw this.#disposedError("openScope");
    for (const name of path.split("/")) {
      checkName(name, at);
      at = `${at}/${name}`;
      row = findChildRow(this, row, at);
      if (row < 0) throw new InvalidArgumentError(`${this.path}: openScope(${JSON.stringify(path)}): there is no live scope ${at}.`);
    }
    const backingId = this.u32[rowWord(this, row) + S_BACKING]!;
    if (options.backing !== undefined && backingId !== 0) this.#link.bindBacking(backingId, options.backing);
    return handleOf(this.#link, this, row);
  }

  /** Live child scopes, in creation order. */
  get children(): readonly TraceAllocator[] {
    if (!this.alive || !this.#here()) return [];
    return childRows(this, this.row).map((r) => handleOf(this.#link, this, r));
  }

  /** The live child named `name`, if any. */
  getChild(name: string): TraceAllocator | undefined {
    if (!this.alive || !this.#here() || typeof name !== "string") return undefined;
    const row = findChildRow(this, this.row, `${this.path}/${name}`);
    return row < 0 ? undefined : handleOf(this.#link, this, row);
  }

  /** The enclosing scope; undefined for a root. */
  get parent(): TraceAllocator | undefined {
    return this.#parent;
  }

  /** The root of this scope's tree (the handle this scope's link began with). */
  get root(): TraceAllocator {
    return this.#link.root ?? this;
  }

  /** The tracing level this scope was created with (or set to). */
  get tracing(): TracingLevel {
    if (this.alive && this.#here()) this.#tracing = LEVELS[levelOf(this, this.row)]!;
    return this.#tracing;
  }

  /** True once {@link dispose} (or `disposeAllowingLeaks`) succeeded, through any handle; also once this handle ended. */
  get disposed(): boolean {
    return !this.alive || !this.#isOpen();
  }

  /**
   * The id of block label `label` (the same in every scope of the tree, and
   * through every handle) for allocate/reallocate: reports, leak reports and
   * folded stacks then show those blocks under it. Cold: call once, keep the
   * id. Throws InvalidArgumentError for a text that is not a non-empty string.
   */
  labelId(label: string): number {
    if (!this.alive) throw this.#endedError("labelId");
    const cached = typeof label === "string" ? this.#link.labelIds.get(label) : undefined;
    if (cached !== undefined) return cached;
    const id = internLabel(this, this.path, label);
    this.#link.labelIds.set(label, id);
    return id;
  }

  /** Call stacks the tree has interned (a million allocations from fifty sites keep fifty). */
  get uniqueStacks(): number {
    return this.alive ? this.u32[this.cw + W_NEXT_STACK]! - 1 : 0;
  }

  /** Blocks and bytes the tree's own state takes from its backing (control block, records, rows, strings, ...). */
  get overhead(): { blocks: number; bytes: number } {
    if (!this.alive) return { blocks: 0, bytes: 0 };
    return { blocks: this.u32[this.cw + W_META_BLOCKS]!, bytes: this.u32[this.cw + W_META_BYTES]! };
  }

  /**
   * Switches between `"counts"` and `"callstacks"` (with an optional new
   * sampling rate) for every handle on this scope. `"off"` is fixed at
   * creation: an untracked scope cannot start tracking blocks it already
   * handed out, nor stop. Throws InvalidArgumentError.
   */
  setTracing(level: TracingLevel, sampleEvery?: number): void {
    if (!this.#isOpen()) throw this.#disposedError("setTracing");
    const rw = rowWord(this, this.row);
    const every = sampleEvery ?? this.u32[rw + S_SAMPLE]!;
    checkLevel(this.path, level);
    checkSampleEvery(this.path, every);
    const current = LEVELS[levelOf(this, this.row)]!;
    if ((level === "off") !== (current === "off")) {
      throw new InvalidArgumentError(
        `${this.path}: cannot switch tracing from ${JSON.stringify(current)} to ${JSON.stringify(level)}: "off" is chosen when a scope is created.\n` +
          `  Create the scope with the level it needs (child(name, { tracing })).`,
      );
    }
    setLevel(this, this.row, LEVELS.indexOf(level));
    this.u32[rw + S_SAMPLE] = every;
    this.u32[rw + S_COUNTDOWN] = 1;
    this.#tracing = level;
  }

  /** Sets the tree's frame number; each new peak and each block records the frame it happened in. */
  markFrame(frame: number): void {
    if (!this.alive) throw this.#endedError("markFrame");
    if (!Number.isSafeInteger(frame) || frame < 0 || frame > 0x7fffffff) {
      throw new InvalidArgumentError(`${this.path}: markFrame expects an integer frame number from 0 to 2^31-1, received ${describe(frame)}.`);
    }
    this.u32[this.cw + W_FRAME] = frame;
  }

  /** The tree's current frame number (see {@link markFrame}). */
  get frame(): number {
    return this.alive ? this.u32[this.cw + W_FRAME]! : 0;
  }

  // ------------------------------------------------------------ Allocator

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
    // The common case inline: "counts", no budget, not guarded, align <= 8, no label, and nothing
    // the handle caches changed since it last looked (the tree's epoch). Everything else goes the general way.
    if (this.i32[this.cw + W_EPOCH] !== this.allocEpoch || label !== 0) return this.#allocateOther(size, align, label);
    validateAllocation(this.path, size, align);
    if (align > HEADER_BYTES) return this.#allocateOther(size, align, 0);
    if (size > MAX_SIZE - HEADER_BYTES) throw tooLargeError(this.path, size, align, HEADER_BYTES);
    let base: Ptr;
    try {
      base = this.backing.allocate(size + HEADER_BYTES, HEADER_BYTES);
    } catch (err) {
      throw backingFailed(this.path, err, size, align, HEADER_BYTES);
    }
    const ptr = base + HEADER_BYTES;
    // Read again after the backing call: code it ran (a grow listener) may have grown the space,
    // disposed this scope, filled or moved the records (the epoch says the last two).
    const i32 = this.i32;
    const cw = this.cw;
    const n = i32[cw + W_REC_COUNT]!;
    const recW = this.recW;
    const h = (ptr - HEADER_BYTES) >> 2;
    const seen = i32[h]!;
    if (i32[cw + W_EPOCH] !== this.allocEpoch || n === this.recCap || (seen >>> 0 < n && i32[recW + (seen << 2)] === ptr)) {
      return this.#addSlow(ptr, size, HEADER_BYTES, 0, 0);
    }
    const r = recW + (n << 2);
    i32[r] = ptr;
    i32[r + 1] = size;
    i32[r + 2] = this.row;
    i32[r + 3] = 0;
    i32[cw + W_REC_COUNT] = n + 1;
    const frame = i32[cw + W_FRAME]!;
    i32[h] = n;
    i32[h + 1] = frame;
    this.countAdded(this.row, size, 0, frame);
    return ptr;
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
    if (this.#off) return this.#allocateUntracked(size, align);
    this.sync(); // so the next call takes the inline path if it can
    validateAllocation(this.path, size, align);
    const state = this.#openState();
    if (state < 0) throw this.#disposedError("allocate");
    if (label !== 0 && !isLabelId(this, label)) throw badLabelError(this.path, "allocate", label);
    const h = this.#guarded ? guardedHeaderFor(align) : headerFor(align);
    if (size > MAX_SIZE - h) throw tooLargeError(this.path, size, align, h);
    if ((state & BUDGETED) !== 0) this.#checkBudgets(size);
    const site = this.#siteOf(ALLOCATE, label);
    // The budget hook and the site's tables may have run code that disposed this scope.
    if (this.#openState() < 0) throw this.#disposedError("allocate");
    let base: Ptr;
    try {
      base = this.backing.allocate(size + h, align < HEADER_BYTES ? HEADER_BYTES : align);
    } catch (err) {
      throw backingFailed(this.path, err, size, align, h);
    }
    return this.#addSlow(base + h, size, h, site, this.#guarded ? GUARDED : 0);
  }

  /**
   * Records the block the backing just handed out at `ptr - h`, refusing
   * (and giving the block back) when this scope was disposed meanwhile, and
   * growing the records when they are full (nested allocations by code the
   * backing ran may have used the room).
   */
  #addSlow(ptr: Ptr, size: number, h: number, site: number, flags: number): Ptr {
    if (findRecord(this, ptr) >= 0) throw handedOutTwiceError(this.path, this.backing, ptr, h);
    for (;;) {
      if (this.#openState() < 0) {
        this.backing.deallocate(ptr - h);
        throw this.#disposedError("allocate");
      }
      if (this.u32[this.cw + W_REC_COUNT]! < this.u32[this.cw + W_REC_CAP]!) break;
      try {
        growTable(this, T_RECORDS, this.u32[this.cw + W_REC_CAP]! * 2);
      } catch (err) {
        this.backing.deallocate(ptr - h);
        throw err;
      }
    }
    const u32 = this.u32;
    const i32 = this.i32;
    const n = u32[this.cw + W_REC_COUNT]!;
    const r = (u32[this.cw + W_REC_PTR]! >>> 2) + (n << 2);
    i32[r] = ptr;
    i32[r + 1] = size;
    i32[r + 2] = this.row | headerCode(h) | flags;
    i32[r + 3] = site;
    u32[this.cw + W_REC_COUNT] = n + 1;
    i32[(ptr - HEADER_BYTES) >> 2] = n;
    i32[((ptr - HEADER_BYTES) >> 2) + 1] = u32[this.cw + W_FRAME]!;
    if ((flags & GUARDED) !== 0) writeHeaderGuard(this, ptr, h);
    this.added(this.row, size, site);
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
    if (this.#off) {
      this.#deallocateUntracked(ptr);
      return;
    }
    if (ptr === 0) return;
    const i32 = this.i32;
    const cw = this.cw;
    // The inline path: nothing cached changed (the epoch), a live block of the tree, this scope's own
    // (the record word is exactly the row: not retained, 8-byte header, not guarded).
    if (i32[cw + W_EPOCH] !== this.freeEpoch || typeof ptr !== "number" || (ptr & 7) !== 0 || ptr < HEADER_BYTES) {
      this.#deallocateSlow(ptr);
      return;
    }
    const h = (ptr - HEADER_BYTES) >> 2;
    const i = i32[h]!;
    const recW = this.recW;
    const r = recW + (i << 2);
    if (h >= i32.length || i >>> 0 >= i32[cw + W_REC_COUNT]! || i32[r] !== ptr || i32[r + R_WORD] !== this.row) {
      this.#deallocateSlow(ptr);
      return;
    }
    // (A backing whose deallocate calls back into this tree is not supported on this path, as before.)
    this.backing.deallocate(ptr - HEADER_BYTES);
    this.countReleased(i, ptr);
  }

  /** deallocate once the inline path does not apply. */
  #deallocateSlow(ptr: Ptr): void {
    this.sync();
    const i = findRecord(this, ptr);
    if (i < 0) throw this.#refused(ptr, "deallocate");
    this.#deallocateOther(ptr, i);
  }

  /** Retained blocks, larger or guarded headers, blocks kept by a disposed scope, and everything else (which throws). */
  #deallocateOther(ptr: Ptr, i: number): void {
    const word = this.i32[recordAt(this, i) + R_WORD]!;
    if (!this.#mine(i, word)) throw crossScopeError(this, this.path, ptr, i, "deallocate");
    const damage = guardedHeaderError(this, `${this.path}.deallocate`, i);
    let failure: CorruptionError | undefined;
    try {
      this.#backingOfRecord(i).deallocate(ptr - headerOf(word));
    } catch (err) {
      // A debug allocator below frees a block whose canary broke, then throws: forget it here too.
      if (!(err instanceof CorruptionError)) throw err;
      failure = err;
    }
    this.released(this.#recordOf(ptr, i), ptr);
    if (damage !== undefined) throw damage;
    if (failure !== undefined) throw failure;
  }

  /** True when this scope may free record `i`: its own block, or a retained block it allocated (adopted by an ancestor since). */
  #mine(i: number, word: number): boolean {
    return ((word & ROW_MASK) === this.row && this.#here()) || cameFrom(this, i, this.row, this.gen);
  }

  /** Index of the record of live block `ptr`, last seen at `i` (code run meanwhile may have moved it). */
  #recordOf(ptr: Ptr, i: number): number {
    return i < recordCount(this) && this.i32[recordAt(this, i)] === ptr ? i : findRecordBySearch(this, ptr);
  }

  /**
   * The error for a pointer the records do not find. With guarded headers a
   * deallocate of a live block whose index word was overwritten still frees
   * the block (as a debug allocator frees a block whose canary broke).
   */
  #refused(ptr: Ptr, op: string): Error {
    if (!this.alive) {
      validatePointerShape(this.path, ptr);
      return this.#endedError(op);
    }
    const error = notLiveError(this, this.path, this.backing, ptr, op);
    if (op !== "deallocate" || !this.#guarded || !(error instanceof CorruptionError)) return error;
    const i = findRecordBySearch(this, ptr);
    const word = this.i32[recordAt(this, i) + R_WORD]!;
    if (!this.#mine(i, word)) return error;
    try {
      this.#backingOfRecord(i).deallocate(ptr - headerOf(word));
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
    }
    this.released(this.#recordOf(ptr, i), ptr);
    return error;
  }

  /**
   * Resizes a block this scope allocated, keeping min(old, new) bytes (ptr 0
   * allocates). `label` (a {@link labelId}) relabels the block; 0, the
   * default, keeps its label. Errors as {@link allocate} and
   * {@link deallocate}; on any error the old block stays live and unchanged.
   */
  reallocate(ptr: Ptr, newSize: number, align = 8, label = 0): Ptr {
    if (this.#off) return this.#reallocateUntracked(ptr, newSize, align);
    if (!this.alive) throw this.#endedError("reallocate");
    validateAllocation(this.path, newSize, align);
    if (label !== 0 && !isLabelId(this, label)) throw badLabelError(this.path, "reallocate", label);
    if (ptr === 0) return this.allocate(newSize, align, label);
    const state = this.#openState();
    if (state < 0) throw this.#disposedError("reallocate");
    let i = this.#ownLive(ptr, "reallocate");
    const damage = guardedHeaderError(this, `${this.path}.reallocate`, i);
    if (damage !== undefined) throw damage;
    const oldSize = this.i32[recordAt(this, i) + R_SIZE]!;
    const nh = this.#guarded ? guardedHeaderFor(align) : headerFor(align);
    if (newSize > MAX_SIZE - nh) throw tooLargeError(this.path, newSize, align, nh);
    if (newSize > oldSize && (state & BUDGETED) !== 0) this.#checkBudgets(newSize - oldSize);
    const oldSite = siteOfRecord(this, i);
    const keep = oldSite === 0 ? 0 : this.u32[entryWord(this, T_SITES, oldSite) + SITE_LABEL]!;
    const site = this.#siteOf(REALLOCATE, label !== 0 ? label : keep);
    // A budget-warning hook (or a stack formatter) may have freed, moved or disposed things: look again.
    if (this.#openState() < 0) throw this.#disposedError("reallocate");
    i = this.#ownLive(ptr, "reallocate");
    const word = this.i32[recordAt(this, i) + R_WORD]!;
    const h = headerOf(word);
    const backing = this.#backingOfRecord(i);
    const allocFrame = frameOf(this, ptr);
    const blockAlign = align < HEADER_BYTES ? HEADER_BYTES : align;
    let moved: Ptr;
    try {
      if (nh === h) {
        // The backing moves the header along with the bytes.
        moved = backing.reallocate(ptr - h, newSize + h, blockAlign) + h;
      } else {
        // The header size changes with the alignment: a new block, a copy, then the old one goes.
        moved = backing.allocate(newSize + nh, blockAlign) + nh;
        this.u8.copyWithin(moved, ptr, ptr + Math.min(oldSize, newSize));
        backing.deallocate(ptr - h);
      }
    } catch (err) {
      throw backingFailed(this.path, err, newSize, align, nh);
    }
    i = this.#recordOf(ptr, i);
    if (moved !== ptr && findRecord(this, moved) >= 0) throw handedOutTwiceError(this.path, backing, moved, nh);
    this.resized(i, ptr, moved, newSize, headerCode(nh) | (word & GUARDED), site, allocFrame);
    if ((word & GUARDED) !== 0) writeHeaderGuard(this, moved, nh);
    return moved;
  }

  /** Index of the record of `ptr`, a live block of this scope; throws the error for anything else. */
  #ownLive(ptr: Ptr, op: string): number {
    const i = findRecord(this, ptr);
    if (i < 0) throw this.#refused(ptr, op);
    if ((this.i32[recordAt(this, i) + R_WORD]! & ROW_MASK) !== this.row || !this.#here()) throw crossScopeError(this, this.path, ptr, i, op);
    return i;
  }

  /** Usable bytes of a live block of this scope (what the backing gives, less the header). */
  allocatedSize(ptr: Ptr): number {
    if (this.#off) {
      if (!this.alive) throw this.#endedError("allocatedSize");
      validatePointerShape(this.path, ptr);
      return this.backing.allocatedSize(ptr);
    }
    const i = this.#ownLive(ptr, "allocatedSize");
    const h = headerOf(this.i32[recordAt(this, i) + R_WORD]!);
    return this.#backingOfRecord(i).allocatedSize(ptr - h) - h;
  }

  /** True when `ptr` is a live block owned by this scope (not by a parent, child or sibling). */
  owns(ptr: Ptr): boolean {
    if (this.#off) return this.alive && typeof ptr === "number" && this.backing.owns(ptr);
    const i = findRecord(this, ptr);
    return i >= 0 && (this.i32[recordAt(this, i) + R_WORD]! & ROW_MASK) === this.row && this.#here();
  }

  /**
   * This scope's own counters (not its children's): `liveBytes` counts the
   * sizes asked for; `reservedBytes` is what its live blocks take from the
   * backing (usable sizes, headers included; a walk over the tree's records).
   * At `"off"` there are no records: every figure counts the backing's
   * usable sizes (`backing.allocatedSize(ptr)`), so liveBytes = reservedBytes.
   */
  stats(): AllocatorStats {
    if (!this.alive || !this.#here()) return { liveBytes: 0, liveCount: 0, peakLiveBytes: 0, allocCount: 0, freeCount: 0, reservedBytes: 0 };
    const f64 = this.f64;
    const o = rowF64(this, this.row);
    const untracked = this.#off ? f64[o + D_LIVE_BYTES]! - f64[o + D_RETAINED_BYTES]! : 0;
    return {
      liveBytes: f64[o + D_LIVE_BYTES]!,
      liveCount: f64[o + D_LIVE_COUNT]!,
      peakLiveBytes: f64[o + D_PEAK_BYTES]!,
      allocCount: f64[o + D_ALLOC_COUNT]!,
      freeCount: f64[o + D_FREE_COUNT]!,
      reservedBytes: untracked + reservedBytesOf(this, this.row),
    };
  }

  // ------------------------------------------------- "off": no records, counts

  /** allocate at "off": forward, then count the backing's usable size. */
  #allocateUntracked(size: number, align: number): Ptr {
    if (this.i32[this.cw + W_EPOCH] !== this.openEpoch) {
      this.sync();
      if (this.openEpoch < 0) throw this.#disposedError("allocate");
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
        throw this.#disposedError("allocate");
      }
    }
    this.countAdded(this.row, usable, 0, this.i32[this.cw + W_FRAME]!);
    return ptr;
  }

  /** deallocate at "off": the backing's usable size leaves the counts. A block with a record (adopted from a child) goes the tracked way. */
  #deallocateUntracked(ptr: Ptr): void {
    if (ptr === 0) return;
    if (typeof ptr !== "number" || this.i32[this.cw + W_EPOCH] !== this.freeEpoch) {
      this.sync();
      if (!this.alive || typeof ptr !== "number") throw this.#refused(ptr, "deallocate");
    }
    if (this.i32[this.cw + W_REC_COUNT] !== 0) {
      const i = findRecord(this, ptr);
      if (i >= 0) {
        this.#deallocateOther(ptr, i);
        return;
      }
    }
    const backing = this.backing;
    const usable = backing.allocatedSize(ptr);
    backing.deallocate(ptr);
    // A disposed "off" child's frees still reach the backing, uncounted (its row is gone).
    if (this.i32[this.cw + W_EPOCH] !== this.freeEpoch) this.sync();
    if (this.freeEpoch >= 0) this.uncount(this.row, usable);
  }

  /** reallocate at "off": counts the change of usable size. */
  #reallocateUntracked(ptr: Ptr, newSize: number, align: number): Ptr {
    if (ptr === 0) return this.#allocateUntracked(newSize, align);
    if (this.#openState() < 0) throw this.#disposedError("reallocate");
    validateAllocation(this.path, newSize, align);
    validatePointerShape(this.path, ptr);
    const backing = this.backing;
    const before = backing.allocatedSize(ptr);
    const moved = backing.reallocate(ptr, newSize, align);
    const after = backing.allocatedSize(moved);
    if (this.#here()) resizedUntracked(this, this.row, before, after);
    return moved;
  }

  /** The allocator record `i`'s block goes back to: its scope's backing (for an adopted block, the one it came from). */
  #backingOfRecord(i: number): Allocator {
    return this.backingOf(backingIdOf(this, i));
  }

  // --------------------------------------------------------------- queries

  /** The scope that owns the live block at `ptr` anywhere in this tree, in O(1); undefined when none does. */
  scopeOf(ptr: Ptr): TraceAllocator | undefined {
    if (typeof ptr !== "number" || !this.alive) return undefined;
    const i = findRecord(this, ptr);
    return i < 0 ? undefined : handleOf(this.#link, this, this.i32[recordAt(this, i) + R_WORD]! & ROW_MASK);
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
    if (!this.alive) throw this.#endedError("forEachLiveBlock");
    walkLiveBlocks(this, this.row, this.gen, visit);
  }

  // ---------------------------------------------------------------- budgets

  /**
   * Sets (or with `undefined` removes) the byte budget of this scope's
   * subtree. A budget below the current use is allowed: the next allocation
   * that grows the subtree fails (or warns). Re-arms a `"warn"` budget.
   */
  setBudget(budget: number | BudgetOptions | undefined): void {
    if (!this.#isOpen()) throw this.#disposedError("setBudget");
    writeBudget(this, this.row, budget === undefined ? undefined : parseBudget(this.path, budget));
  }

  /** The subtree budget in bytes, if any. */
  get budgetBytes(): number | undefined {
    return this.alive && this.#here() ? budgetOf(this, this.row)?.bytes : undefined;
  }

  /** Budget gate: walks the chain once; the slow path decides (and may run the warning hook). */
  #checkBudgets(bytes: number): void {
    if (!overAnyLimit(this, this.row, bytes)) return;
    enforceBudgets(this, this.path, this.row, bytes, this.#link.onBudgetWarning, (row) => handleOf(this.#link, this, row));
  }

  // ------------------------------------------------------------------ peaks

  /**
   * Starts a new stage for this scope and its whole subtree: every peak
   * becomes the current use (so the next `report()` shows the heaviest moment
   * of this stage), "warn" budgets are re-armed, and `stage` labels it.
   */
  resetPeak(stage?: string): void {
    if (stage !== undefined && typeof stage !== "string") {
      throw new InvalidArgumentError(`${this.path}: resetPeak(stage) expects a string label, received ${describe(stage)}.`);
    }
    if (!this.alive) throw this.#endedError("resetPeak");
    if (!this.#here()) return;
    resetPeaks(this, this.row, this.gen, stage);
  }

  /** Label of the current stage (the last `resetPeak(stage)`), if any. */
  get stage(): string | undefined {
    if (!this.alive || !this.#here()) return undefined;
    const off = this.u32[rowWord(this, this.row) + S_STAGE]!;
    return off === 0 ? undefined : readString(this, off);
  }

  // ---------------------------------------------------------- retained blocks

  /**
   * Marks a live block of this scope as kept on purpose (a global cache, a
   * singleton): it stays counted in `liveBytes` but is listed apart and never
   * reported as a leak. When this scope is disposed the block is adopted by
   * the parent scope; it can still be freed through this scope or the owner.
   */
  retain(ptr: Ptr, reason?: string): void {
    this.#ownRecord(ptr, "retain");
    retainBlock(this, this.row, ptr, reason, (p) => this.#ownRecord(p, "retain"));
  }

  /** Undoes {@link retain}: the block counts as a leak again if still live at dispose. */
  unretain(ptr: Ptr): void {
    unretainBlock(this, this.row, this.#ownRecord(ptr, "unretain"));
  }

  /** Retained blocks owned by this scope's subtree (including those adopted from disposed children). */
  retainedBlocks(): RetainedBlock[] {
    if (!this.alive) throw this.#endedError("retainedBlocks");
    return collectLeaks(this, this.row, this.gen, this.path).retained;
  }

  #ownRecord(ptr: Ptr, op: string): number {
    if (this.#off) throw new InvalidArgumentError(`${this.path}: ${op} needs tracing "counts" or "callstacks"; this scope is "off".`);
    if (!this.#isOpen()) throw this.#disposedError(op);
    return this.#ownLive(ptr, op);
  }

  // ---------------------------------------------------------------- teardown

  /**
   * Ends the scope, for every handle on it. Throws LeakError (nothing
   * changes; fix and call again) when it still holds blocks not retained, or
   * has live child scopes; the message names the scope path, the count and
   * bytes, and up to 20 blocks with their call stacks; `error.report` holds
   * the full list. On success, retained blocks are adopted by the parent and
   * the name is free again. Calling it again is a no-op.
   */
  dispose(): void {
    if (!this.alive || !this.#isOpen()) return;
    const report = collectLeaks(this, this.row, this.gen, this.path);
    if (report.count > 0 || report.liveScopes.length > 0) {
      throw new LeakError(formatLeakMessage(report), report);
    }
    this.#close(undefined);
  }

  /**
   * On the root: ends the whole tree. Its state goes back to the backing, its
   * control block is retired (an attach to it is refused), and every handle
   * this thread holds on it throws DestroyedError from then on. Call once
   * after the last use of the tree, e.g. after `dispose()` at shutdown.
   * Blocks still live stay with the backing. Throws InvalidArgumentError on a child.
   */
  destroy(): void {
    if (this.row !== 0) {
      throw new InvalidArgumentError(`${this.path}: destroy() is for the root of a tree (${this.root.path}); dispose() ends a child scope.`);
    }
    if (!this.alive) return;
    freeTree(this, this.controlPtr);
    this.end("destroyed");
  }

  /**
   * Ends this handle only; the tree and its blocks live on. On the handle a
   * link began with (`new TraceAllocator` or `attach`), every scope handle
   * reached from it ends too. Calls after it throw DestroyedError.
   */
  detach(): void {
    if (!this.alive) return;
    if (this.#link.root === this) for (const handle of this.#link.handles.values()) if (handle !== this) handle.end("detached");
    this.end("detached");
  }

  /** `using scope = root.child("level")` disposes (and leak-checks) at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The escape hatch for code you cannot fix (third-party libraries): ends
   * the scope and its live children, tolerating up to `maxBytes` of leaked
   * blocks, which the parent adopts as retained ("allowed leak"). Returns the
   * report of what was tolerated. More than `maxBytes` throws LeakError and
   * changes nothing.
   */
  disposeAllowingLeaks(maxBytes: number): TraceLeakReport {
    if (typeof maxBytes !== "number" || Number.isNaN(maxBytes) || maxBytes < 0) {
      throw new InvalidArgumentError(`${this.path}: disposeAllowingLeaks(maxBytes) expects a byte count >= 0 (Infinity for any), received ${describe(maxBytes)}.`);
    }
    if (!this.alive) throw this.#endedError("disposeAllowingLeaks");
    const report = collectLeaks(this, this.row, this.gen, this.path);
    if (!this.#isOpen()) return report;
    if (report.bytes > maxBytes) {
      throw new LeakError(formatLeakMessage(report, maxBytes), report);
    }
    this.#close("allowed leak");
    return report;
  }

  /** Disposes this scope and every live descendant: their blocks go to the parent (the root keeps its own). */
  #close(reason: string | undefined): void {
    const heir = this.row === 0 ? 0 : parentOf(this, this.row);
    closeScopes(this, this.row, heir, reason);
  }

  // ---------------------------------------------------------------- reports

  /** The scope tree from here down as plain JSON (see {@link ScopeReport}). */
  report(): ScopeReport {
    if (!this.alive) throw this.#endedError("report");
    return buildReport(this, this.row, this.gen, { name: this.name, path: this.path, tracing: this.#tracing });
  }

  /** The scope tree as aligned text: live, peak, blocks, allocations and budget use per scope. */
  formatReport(): string {
    return formatReport(this.report());
  }

  /**
   * Folded stacks (`root;physics;step (physics.ts:12) 4096` lines) for
   * flame-graph tools (speedscope, inferno, flamegraph.pl): scope path first,
   * then call frames outermost first. Values sum to the selection's total;
   * blocks without a stack end at their scope's frame.
   */
  foldedStacks(options: FoldedStacksOptions = {}): string {
    if (!this.alive) throw this.#endedError("foldedStacks");
    return foldStacks(this, { row: this.row, gen: this.gen, path: this.path }, options);
  }

  /**
   * Verifies the whole tree: its control block and tables, every record,
   * block header (every byte of a guarded one), string, site and counter
   * against a recount. Throws CorruptionError.
   */
  check(): void {
    if (!this.alive) throw this.#endedError("check");
    checkTree(this, this.root.path);
  }

  // ------------------------------------------------------------- internals

  /** True while the row holds this scope (disposed or not: a disposed root keeps its row). */
  #here(): boolean {
    return (this.i32[(this.u32[this.cw + W_ROWS_PTR]! >>> 2) + this.rowW]! & GEN_LIVE) === this.genLive;
  }

  /** The row's STATE while this scope is open (not disposed), else -1 (also once the handle ended). */
  #openState(): number {
    const u32 = this.u32;
    const state = u32[(u32[this.cw + W_ROWS_PTR]! >>> 2) + this.rowW];
    if (state === undefined || (state & GEN_LIVE) !== this.genLive || (state & DISPOSED) !== 0) return -1;
    return state;
  }

  #isOpen(): boolean {
    return this.alive && this.#openState() >= 0;
  }

  /**
   * The site of an allocation with label `label` (0: none): at "callstacks"
   * the sampled call stack's, else the label's (0 for no label). `entry` is
   * the public method the caller called (its frame and those above are
   * skipped). 0 also when the scope went away meanwhile (the caller looks).
   */
  #siteOf(entry: (...args: never[]) => unknown, label: number): number {
    const rw = rowWord(this, this.row);
    if ((this.u32[rw]! & LEVEL_MASK) !== CALLSTACKS) return label === 0 ? 0 : this.#site(0, label);
    let stack = 0;
    const countdown = this.u32[rw + S_COUNTDOWN]! - 1;
    if (countdown <= 0) {
      this.u32[rw + S_COUNTDOWN] = this.u32[rw + S_SAMPLE]!;
      stack = this.#link.stacks.capture(entry);
    } else {
      this.u32[rw + S_COUNTDOWN] = countdown;
    }
    return this.#site(stack, label);
  }

  /** The site of (`stack`, `label`) in this scope, through the cache. */
  #site(stack: number, label: number): number {
    const key = stack * MAX_LABELS + label;
    const cached = this.#sites.get(key);
    if (cached !== undefined && siteMatches(this, cached, this.row, this.gen, stack, label)) return cached;
    const id = siteFor(this, this.row, this.gen, stack, label);
    if (id !== 0) this.#sites.set(key, id);
    return id;
  }

  #disposedError(op: string): DestroyedError {
    return this.alive ? disposedError(this.path, op, false) : this.#endedError(op);
  }

  #endedError(op: string): DestroyedError {
    if (this.ended === "destroyed") return disposedError(this.path, op, true);
    return destroyedError(`${this.path}.${op}`, "this handle was detached", "attach a new handle (TraceAllocator.attach) to use the tree");
  }
}

/** The record of `ptr` by a linear search (a block whose header was overwritten), or -1. */
function findRecordBySearch(view: TraceAllocator, ptr: Ptr): number {
  const n = recordCount(view);
  for (let i = 0; i < n; i++) if (view.i32[recordAt(view, i)] === ptr) return i;
  return -1;
}

/** This link's handle on the live scope at `row` (the cached one while it is still that scope). */
function handleOf(link: Link, view: TraceAllocator, row: number): TraceAllocator {
  const cached = link.handles.get(row);
  if (cached !== undefined && cached.alive && isScope(view, row, cached.gen)) return cached;
  return new TraceAllocator(new ScopeRef(link, row, undefined));
}

/** A new tree over `backing` (options checked first): the reference to its root. */
function createRoot(backing: Allocator, options: TraceAllocatorOptions): ScopeRef<TraceAllocator> {
  checkOptions(options, true);
  checkBacking(backing, undefined);
  const name = options.name ?? "root";
  checkName(name, undefined);
  const budget = options.budget === undefined ? undefined : parseBudget(name, options.budget);
  const level = LEVELS.indexOf(options.tracing ?? "counts");
  const ptr = createTree(backing, rootSettings(options), { name, level, sampleEvery: options.sampleEvery ?? 1 });
  const link: Link = new TreeLink(backing.space, ptr, backing, options.internalFrames ?? MEMKIT_FRAME_PATTERN, options.onBudgetWarning ?? defaultBudgetWarning);
  return new ScopeRef(link, 0, undefined, budget);
}

/** A second handle's link to the verified tree at `attachment`: the reference to its root. */
function attachRoot(attachment: Attachment, options: TraceAttachOptions): ScopeRef<TraceAllocator> {
  const who = attachment.who;
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`${who}: options must be an object, received ${describe(options)}.`);
  if (options.internalFrames !== undefined && !(options.internalFrames instanceof RegExp)) {
    throw new InvalidArgumentError(`${who}: internalFrames must be a RegExp, received ${describe(options.internalFrames)}.`);
  }
  if (options.onBudgetWarning !== undefined && typeof options.onBudgetWarning !== "function") {
    throw new InvalidArgumentError(`${who}: onBudgetWarning must be a function, received ${describe(options.onBudgetWarning)}.`);
  }
  const space = attachment.space;
  const backing = checkAttachBacking(who, space, options.backing, space.u32[(attachment.controlPtr >>> 2) + W_BACKING]!);
  openTree(attachment, backing);
  const link: Link = new TreeLink(space, attachment.controlPtr, backing, options.internalFrames ?? MEMKIT_FRAME_PATTERN, options.onBudgetWarning ?? defaultBudgetWarning);
  return new ScopeRef(link, 0, undefined);
}

// Stacks captured below a scope (a debug wrapper's free stacks, another tree's) start at the scope's caller.
markEntryPoints(TraceAllocator);

/* eslint-disable @typescript-eslint/unbound-method -- identities for Error.captureStackTrace, never called */
/** Entry points a call-stack capture starts below (see CallStacks.capture). */
const ALLOCATE = TraceAllocator.prototype.allocate;
const REALLOCATE = TraceAllocator.prototype.reallocate;
/* eslint-enable @typescript-eslint/unbound-method */
