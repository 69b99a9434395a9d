import {
  CorruptionError,
  InvalidArgumentError,
  LeakError,
  MAX_SIZE,
  allocateZeroed,
  describe,
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
import { GUARDED, HEADER_BYTES, RETAINED, ROW_MASK, R_SITE, R_SIZE, R_WORD, headerCode, headerFor, headerOf } from "./block-records.js";
import { checkTree } from "./check.js";
import { foldStacks } from "./folded-stacks.js";
import { guardedHeaderError, guardedHeaderFor, writeHeaderGuard } from "./header-guard.js";
import { collectLeaks, formatLeakMessage, reservedBytesOf, stackOf, walkLiveBlocks } from "./leaks.js";
import { ScopeSites } from "./scope-sites.js";
import { dropUntracked, releasedUntracked, resizedUntracked } from "./untracked-counts.js";
import { LEVELS, checkBacking, checkLevel, checkName, checkOptions, checkSampleEvery, parseBudget, rootSettings, withoutBacking } from "./options.js";
import {
  C_ALLOC_COUNT,
  C_EPOCH,
  C_FREE_COUNT,
  C_LIMIT,
  C_LIVE_BYTES,
  C_LIVE_COUNT,
  C_PEAK_BYTES,
  C_PEAK_FRAME,
  C_RETAINED_BYTES,
  C_RETAINED_COUNT,
  C_TOTAL_BYTES,
  C_TOTAL_PEAK,
  C_TOTAL_PEAK_FRAME,
  ROW_SHIFT,
  Registry,
} from "./registry.js";
import { buildReport, formatReport } from "./report.js";
import { backingFailed, badLabelError, budgetWarning, crossScopeError, disposedError, handedOutTwiceError, notLiveError, overBudgetError, tooLargeError } from "./scope-errors.js";
import type {
  BudgetAction,
  BudgetOptions,
  FoldedStacksOptions,
  RetainedBlock,
  ScopeReport,
  TraceAllocatorOptions,
  TraceLeakReport,
  TraceScopeOptions,
  TracingLevel,
} from "./types.js";

// Level numbers: OFF, COUNTS and CALLSTACKS are indexes into LEVELS.
const OFF = 0;
const COUNTS = 1;
const CALLSTACKS = 2;
/** A disposed scope: allocate refuses, deallocate still frees the blocks it kept. */
const DISPOSED = 3;
/** "counts" in a tree with guarded headers: like COUNTS, but never the inline path of allocate. */
const GUARDED_COUNTS = 4;

/** The largest header: alignments go up to 64 KiB. */
const MAX_HEADER = 65536;

/** What the report, fold, leak and check modules read of a scope (not part of the package's API). */
export interface ScopeInternals {
  reg: Registry;
  /** Counter row, -1 once disposed (a disposed root keeps its row). */
  row: number;
  gen: number;
  level: TracingLevel;
  /** The sites this scope allocates into. */
  sites: ScopeSites;
  budgetBytes: number | undefined;
  budgetAction: BudgetAction;
  stage: string | undefined;
  backing: Allocator;
}

let internalsOf: (scope: TraceAllocator) => ScopeInternals;
/** Key under which {@link TraceAllocator.child} hands the constructor the new scope's parent (module-private: nobody else can). */
const PARENT: unique symbol = Symbol("parent");

/** The options `child()` passes to the constructor. */
interface ChildOptions extends TraceAllocatorOptions {
  [PARENT]: TraceAllocator;
}

/** Internal state of `scope` for the modules of this package. */
export function internals(scope: TraceAllocator): ScopeInternals {
  return internalsOf(scope);
}

/**
 * A named scope over a backing allocator: it counts what it hands out (bytes
 * asked for, blocks, a resettable peak, for itself and its subtree), enforces
 * an optional budget, answers which scope owns a pointer, and on `dispose()`
 * throws LeakError naming every block still live (with its call stack at
 * `"callstacks"` level). Scopes form a tree: `root.child("physics")`.
 *
 * Every block of the tree has a record in one dense set of typed arrays and
 * an 8-byte header in front of it holding the record's index (see
 * block-records.ts), so `deallocate` through the wrong scope, a double free,
 * an interior or a foreign pointer are caught exactly, in O(1), and change
 * nothing. At `"counts"` level allocate and deallocate create no JS objects.
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
export class TraceAllocator implements Allocator, BlockLabels, OriginTracking, Checkable, Disposable {
  /** The scope's own name (`physics`). */
  readonly name: string;
  /** Names from the root down, joined by `/` (`root/physics`). */
  readonly path: string;
  readonly space: AddressSpace;
  /** The allocator this scope takes its blocks from. */
  readonly backing: Allocator;
  /** The enclosing scope; undefined for a root. */
  readonly parent: TraceAllocator | undefined;

  // Number fields start as small integers (not undefined) so V8 keeps them unboxed.
  readonly #reg: Registry;
  #row = -1;
  readonly #gen: number = 0;
  #level = COUNTS;
  #tracing: TracingLevel = "counts";
  #sampleEvery = 1;
  #countdown = 1;
  #budgeted = false;
  #budgetBytes: number | undefined;
  #budgetAction: BudgetAction = "throw";
  #stage: string | undefined;
  readonly #children = new Map<string, TraceAllocator>();
  readonly #sites: ScopeSites;
  /** Set by dispose; for "off" scopes the level stays OFF so deallocate keeps forwarding. */
  #closed = false;

  static {
    internalsOf = (s) => ({
      reg: s.#reg,
      row: s.#row,
      gen: s.#gen,
      level: s.#tracing,
      sites: s.#sites,
      budgetBytes: s.#budgetBytes,
      budgetAction: s.#budgetAction,
      stage: s.#stage,
      backing: s.backing,
    });
  }

  /**
   * Creates the root scope of a new tree over `backing`. Child scopes come
   * from {@link child}. Throws InvalidArgumentError naming a bad option.
   */
  constructor(backing: Allocator, options: TraceAllocatorOptions = {}) {
    const parent = (options as Partial<ChildOptions>)[PARENT];
    checkOptions(options, parent === undefined);
    checkBacking(backing, parent);
    const name = options.name ?? "root";
    checkName(name, parent?.path);
    this.name = name;
    this.path = parent === undefined ? name : `${parent.path}/${name}`;
    this.backing = backing;
    this.space = backing.space;
    this.parent = parent;
    const budget = options.budget === undefined ? undefined : parseBudget(this.path, options.budget);
    if (parent === undefined) {
      this.#tracing = options.tracing ?? "counts";
      this.#sampleEvery = options.sampleEvery ?? 1;
      this.#reg = new Registry(backing.space, rootSettings(options));
      this.#row = this.#reg.openRow(this, -1);
    } else {
      this.#tracing = options.tracing ?? parent.#tracing;
      this.#sampleEvery = options.sampleEvery ?? parent.#sampleEvery;
      this.#reg = parent.#reg;
      this.#row = this.#reg.openRow(this, parent.#row);
      this.#budgeted = parent.#budgeted;
      parent.#children.set(name, this);
    }
    this.#level = this.#levelOf(this.#tracing);
    this.#gen = this.#reg.generations[this.#row]!;
    this.#sites = new ScopeSites(this.#reg, this.path);
    if (budget !== undefined) this.#applyBudget(budget);
  }

  /** The level number of `tracing` in this tree. */
  #levelOf(tracing: TracingLevel): number {
    const level = LEVELS.indexOf(tracing);
    return level === COUNTS && this.#reg.guarded ? GUARDED_COUNTS : level;
  }

  // ------------------------------------------------------------ the tree

  /**
   * Creates a child scope named `name` (unique among live siblings; no `/`,
   * `;` or line breaks). It inherits the tracing level and sampling unless
   * `options` says otherwise, and allocates from this scope's backing.
   */
  child(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    if (this.#closed || this.#reg.destroyed) throw this.#disposedError("child");
    checkName(name, this.path);
    if (this.#children.has(name)) {
      throw new InvalidArgumentError(
        `${this.path}: a child scope named ${JSON.stringify(name)} is already live (${this.path}/${name}).\n` +
          `  Sibling names must be unique: dispose the old one first or pick another name.`,
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError(`${this.path}: child options must be an object, received ${describe(options)}.`);
    }
    const childOptions: ChildOptions = { ...withoutBacking(options), name, [PARENT]: this };
    return new TraceAllocator(options.backing ?? this.backing, childOptions);
  }

  /** Same as {@link child} (The Machinery's name). */
  createChild(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    return this.child(name, options);
  }

  /** Live child scopes, in creation order. */
  get children(): readonly TraceAllocator[] {
    return [...this.#children.values()];
  }

  /** The live child named `name`, if any. */
  getChild(name: string): TraceAllocator | undefined {
    return this.#children.get(name);
  }

  /** The root of this scope's tree. */
  get root(): TraceAllocator {
    return this.parent === undefined ? this : this.parent.root;
  }

  /** The tracing level this scope was created with (or set to). */
  get tracing(): TracingLevel {
    return this.#tracing;
  }

  /** True once {@link dispose} (or `disposeAllowingLeaks`) succeeded. */
  get disposed(): boolean {
    return this.#closed;
  }

  /**
   * The id of block label `label` (the same in every scope of the tree) for
   * allocate/reallocate: reports, leak reports and folded stacks then show
   * those blocks under it. Cold: call once, keep the id. Throws
   * InvalidArgumentError for a text that is not a non-empty string.
   */
  labelId(label: string): number {
    return this.#reg.labels.idOf(this.path, label);
  }

  /** Interned call stacks of the whole tree (a million allocations from fifty sites keep fifty). */
  get uniqueStacks(): number {
    return this.#reg.stacks.size;
  }

  /**
   * Switches between `"counts"` and `"callstacks"` (with an optional new
   * sampling rate). `"off"` is fixed at creation: an untracked scope cannot
   * start tracking blocks it already handed out, nor stop. Throws InvalidArgumentError.
   */
  setTracing(level: TracingLevel, sampleEvery: number = this.#sampleEvery): void {
    if (this.#closed || this.#reg.destroyed) throw this.#disposedError("setTracing");
    checkLevel(this.path, level);
    checkSampleEvery(this.path, sampleEvery);
    if ((level === "off") !== (this.#tracing === "off")) {
      throw new InvalidArgumentError(
        `${this.path}: cannot switch tracing from ${JSON.stringify(this.#tracing)} to ${JSON.stringify(level)}: "off" is chosen when a scope is created.\n` +
          `  Create the scope with the level it needs (child(name, { tracing })).`,
      );
    }
    this.#tracing = level;
    this.#level = this.#levelOf(level);
    this.#sampleEvery = sampleEvery;
    this.#countdown = 1;
  }

  /** Sets the tree's frame number; each new peak and each block records the frame it happened in. */
  markFrame(frame: number): void {
    if (!Number.isSafeInteger(frame) || frame < 0 || frame > 0x7fffffff) {
      throw new InvalidArgumentError(`${this.path}: markFrame expects an integer frame number from 0 to 2^31-1, received ${describe(frame)}.`);
    }
    this.#reg.frame = frame;
  }

  /** The tree's current frame number (see {@link markFrame}). */
  get frame(): number {
    return this.#reg.frame;
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
    // The common case inline: "counts", align <= 8, no label. Everything else goes the general way.
    if (this.#level !== COUNTS || label !== 0) return this.#allocateOther(size, align, label);
    validateAllocation(this.path, size, align);
    if (align > HEADER_BYTES) return this.#allocateOther(size, align, 0);
    if (size > MAX_SIZE - HEADER_BYTES) throw tooLargeError(this.path, size, align, HEADER_BYTES);
    if (this.#budgeted) this.#checkBudgets(size);
    const reg = this.#reg;
    const records = reg.records;
    let base: Ptr;
    try {
      base = this.backing.allocate(size + HEADER_BYTES, HEADER_BYTES);
    } catch (err) {
      throw backingFailed(this.path, err, size, align, HEADER_BYTES);
    }
    const ptr = base + HEADER_BYTES;
    const i32 = reg.i32;
    // Checked after the backing call: code it ran (a grow listener) may have disposed this scope or filled the records.
    if (this.#level !== COUNTS || records.count === records.capacity || records.find(ptr, i32) >= 0) return this.#addSlow(ptr, size, HEADER_BYTES, 0, 0);
    records.add(ptr, size, this.#row, 0, reg.frame, i32);
    reg.added(this.#row, size, 0);
    return ptr;
  }

  /**
   * `allocate` with every byte of the block set to 0 (C's `calloc`): a block
   * that is reused holds what its last owner wrote. Errors as {@link allocate}.
   */
  allocateZeroed(size: number, align = 8): Ptr {
    return allocateZeroed(this, size, align);
  }

  /** "off", disposed, "callstacks", guarded headers, labels, and alignments above 8 (a header as large as the alignment). */
  #allocateOther(size: number, align: number, label: number): Ptr {
    // "off" keeps no records, so no labels: the label is ignored.
    if (this.#level === OFF) return this.#allocateUntracked(size, align);
    validateAllocation(this.path, size, align);
    if (this.#level === DISPOSED) throw this.#disposedError("allocate");
    const reg = this.#reg;
    if (label !== 0 && !reg.labels.isValid(label)) throw badLabelError(this.path, "allocate", label);
    const h = reg.guarded ? guardedHeaderFor(align) : headerFor(align);
    if (size > MAX_SIZE - h) throw tooLargeError(this.path, size, align, h);
    if (this.#budgeted) this.#checkBudgets(size);
    const site = this.#siteOf(ALLOCATE, label);
    let base: Ptr;
    try {
      base = this.backing.allocate(size + h, align < HEADER_BYTES ? HEADER_BYTES : align);
    } catch (err) {
      throw backingFailed(this.path, err, size, align, h);
    }
    return this.#addSlow(base + h, size, h, site, reg.guarded ? GUARDED : 0);
  }

  /**
   * Records the block the backing just handed out at `ptr - h`, refusing
   * (and giving the block back) when this scope was disposed meanwhile, and
   * growing the records when they are full (nested allocations by code the
   * backing ran may have used the room).
   */
  #addSlow(ptr: Ptr, size: number, h: number, site: number, flags: number): Ptr {
    const reg = this.#reg;
    const records = reg.records;
    if (records.find(ptr, reg.i32) >= 0) throw handedOutTwiceError(this.path, this.backing, ptr, h);
    if (this.#row < 0 || this.#level === DISPOSED) {
      this.backing.deallocate(ptr - h);
      throw this.#disposedError("allocate");
    }
    try {
      records.reserve();
    } catch (err) {
      this.backing.deallocate(ptr - h);
      throw err;
    }
    const row = this.#row;
    records.add(ptr, size, row | headerCode(h) | flags, site, reg.frame, reg.i32);
    if ((flags & GUARDED) !== 0) writeHeaderGuard(reg, ptr, h);
    reg.added(row, size, site);
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
    if (this.#level === OFF) {
      this.#deallocateUntracked(ptr);
      return;
    }
    if (ptr === 0) return;
    const reg = this.#reg;
    const records = reg.records;
    const i = records.find(ptr, reg.i32);
    if (i < 0) throw this.#refused(ptr, "deallocate");
    const row = this.#row;
    // Own, not retained, 8-byte header, not guarded: the word is exactly the row.
    if (records.data[(i << 2) + R_WORD] !== row) {
      this.#deallocateOther(ptr, i);
      return;
    }
    this.backing.deallocate(ptr - HEADER_BYTES);
    reg.released(i, ptr);
  }

  /** Retained blocks, larger or guarded headers, blocks kept by a disposed scope, and everything else (which throws). */
  #deallocateOther(ptr: Ptr, i: number): void {
    const reg = this.#reg;
    const word = reg.records.data[(i << 2) + R_WORD]!;
    const mine = (word & ROW_MASK) === this.#row || ((word & RETAINED) !== 0 && reg.retained.get(ptr)?.originScope === this);
    if (!mine) throw crossScopeError(reg, this.path, ptr, i, "deallocate");
    const damage = guardedHeaderError(reg, `${this.path}.deallocate`, i);
    let failure: CorruptionError | undefined;
    try {
      this.#backingOf(ptr, word).deallocate(ptr - headerOf(word));
    } catch (err) {
      // A debug allocator below frees a block whose canary broke, then throws: forget it here too.
      if (!(err instanceof CorruptionError)) throw err;
      failure = err;
    }
    reg.released(this.#recordOf(ptr, i), ptr);
    if (damage !== undefined) throw damage;
    if (failure !== undefined) throw failure;
  }

  /** Index of the record of live block `ptr`, last seen at `i` (code run meanwhile may have moved it). */
  #recordOf(ptr: Ptr, i: number): number {
    const records = this.#reg.records;
    return i < records.count && records.data[i << 2] === ptr ? i : records.search(ptr);
  }

  /**
   * The error for a pointer the records do not find. With guarded headers a
   * deallocate of a live block whose index word was overwritten still frees
   * the block (as a debug allocator frees a block whose canary broke).
   */
  #refused(ptr: Ptr, op: string): Error {
    const reg = this.#reg;
    if (reg.destroyed) {
      validatePointerShape(this.path, ptr);
      return this.#disposedError(op);
    }
    const error = notLiveError(reg, this.path, this.backing, ptr, op);
    if (op !== "deallocate" || !reg.guarded || !(error instanceof CorruptionError)) return error;
    const i = reg.records.search(ptr);
    const word = reg.records.data[(i << 2) + R_WORD]!;
    if ((word & ROW_MASK) !== this.#row && !((word & RETAINED) !== 0 && reg.retained.get(ptr)?.originScope === this)) return error;
    try {
      this.#backingOf(ptr, word).deallocate(ptr - headerOf(word));
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
    }
    reg.released(this.#recordOf(ptr, i), ptr);
    return error;
  }

  /**
   * Resizes a block this scope allocated, keeping min(old, new) bytes (ptr 0
   * allocates). `label` (a {@link labelId}) relabels the block; 0, the
   * default, keeps its label. Errors as {@link allocate} and
   * {@link deallocate}; on any error the old block stays live and unchanged.
   */
  reallocate(ptr: Ptr, newSize: number, align = 8, label = 0): Ptr {
    if (this.#level === OFF) return this.#reallocateUntracked(ptr, newSize, align);
    validateAllocation(this.path, newSize, align);
    const reg = this.#reg;
    if (label !== 0 && !reg.labels.isValid(label)) throw badLabelError(this.path, "reallocate", label);
    if (ptr === 0) return this.allocate(newSize, align, label);
    if (this.#level === DISPOSED) throw this.#disposedError("reallocate");
    const records = reg.records;
    let i = this.#ownLive(ptr, "reallocate");
    const damage = guardedHeaderError(reg, `${this.path}.reallocate`, i);
    if (damage !== undefined) throw damage;
    const oldSize = records.data[(i << 2) + R_SIZE]!;
    const nh = reg.guarded ? guardedHeaderFor(align) : headerFor(align);
    if (newSize > MAX_SIZE - nh) throw tooLargeError(this.path, newSize, align, nh);
    if (newSize > oldSize && this.#budgeted) this.#checkBudgets(newSize - oldSize);
    const site = this.#siteOf(REALLOCATE, label !== 0 ? label : (reg.sites[records.data[(i << 2) + R_SITE]!]?.label ?? 0));
    // A budget-warning hook (or a stack formatter) may have freed, moved or disposed things: look again.
    if (this.#level === DISPOSED) throw this.#disposedError("reallocate");
    i = this.#ownLive(ptr, "reallocate");
    const word = records.data[(i << 2) + R_WORD]!;
    const h = headerOf(word);
    const backing = this.#backingOf(ptr, word);
    const allocFrame = records.frameOf(ptr, reg.i32);
    const blockAlign = align < HEADER_BYTES ? HEADER_BYTES : align;
    let moved: Ptr;
    try {
      if (nh === h) {
        // The backing moves the header along with the bytes.
        moved = backing.reallocate(ptr - h, newSize + h, blockAlign) + h;
      } else {
        // The header size changes with the alignment: a new block, a copy, then the old one goes.
        moved = backing.allocate(newSize + nh, blockAlign) + nh;
        this.space.u8.copyWithin(moved, ptr, ptr + Math.min(oldSize, newSize));
        backing.deallocate(ptr - h);
      }
    } catch (err) {
      throw backingFailed(this.path, err, newSize, align, nh);
    }
    i = this.#recordOf(ptr, i);
    if (moved !== ptr && records.find(moved, reg.i32) >= 0) throw handedOutTwiceError(this.path, backing, moved, nh);
    reg.resized(i, ptr, moved, newSize, headerCode(nh) | (word & GUARDED), site, allocFrame);
    if ((word & GUARDED) !== 0) writeHeaderGuard(reg, moved, nh);
    return moved;
  }

  /** Index of the record of `ptr`, a live block of this scope; throws the error for anything else. */
  #ownLive(ptr: Ptr, op: string): number {
    const reg = this.#reg;
    const i = reg.records.find(ptr, reg.i32);
    if (i < 0) throw this.#refused(ptr, op);
    if ((reg.records.data[(i << 2) + R_WORD]! & ROW_MASK) !== this.#row) throw crossScopeError(reg, this.path, ptr, i, op);
    return i;
  }

  /** Usable bytes of a live block of this scope (what the backing gives, less the header). */
  allocatedSize(ptr: Ptr): number {
    if (this.#level === OFF) {
      validatePointerShape(this.path, ptr);
      return this.backing.allocatedSize(ptr);
    }
    const i = this.#ownLive(ptr, "allocatedSize");
    const word = this.#reg.records.data[(i << 2) + R_WORD]!;
    const h = headerOf(word);
    return this.#backingOf(ptr, word).allocatedSize(ptr - h) - h;
  }

  /** True when `ptr` is a live block owned by this scope (not by a parent, child or sibling). */
  owns(ptr: Ptr): boolean {
    if (this.#level === OFF) return typeof ptr === "number" && this.backing.owns(ptr);
    const i = this.#reg.records.find(ptr, this.#reg.i32);
    return i >= 0 && (this.#reg.records.data[(i << 2) + R_WORD]! & ROW_MASK) === this.#row;
  }

  /**
   * This scope's own counters (not its children's): `liveBytes` counts the
   * sizes asked for; `reservedBytes` is what its live blocks take from the
   * backing (usable sizes, headers included; a walk over the tree's records).
   * At `"off"` there are no records: every figure counts the backing's
   * usable sizes (`backing.allocatedSize(ptr)`), so liveBytes = reservedBytes.
   */
  stats(): AllocatorStats {
    const c = this.#reg.counters;
    if (this.#row < 0) return { liveBytes: 0, liveCount: 0, peakLiveBytes: 0, allocCount: 0, freeCount: 0, reservedBytes: 0 };
    const o = this.#row << ROW_SHIFT;
    const untracked = this.#tracing === "off" ? c[o + C_LIVE_BYTES]! - c[o + C_RETAINED_BYTES]! : 0;
    return {
      liveBytes: c[o + C_LIVE_BYTES]!,
      liveCount: c[o + C_LIVE_COUNT]!,
      peakLiveBytes: c[o + C_PEAK_BYTES]!,
      allocCount: c[o + C_ALLOC_COUNT]!,
      freeCount: c[o + C_FREE_COUNT]!,
      reservedBytes: untracked + reservedBytesOf(this.#reg, this.#row),
    };
  }

  // ------------------------------------------------- "off": no records, counts

  /** allocate at "off": forward, then count the backing's usable size. */
  #allocateUntracked(size: number, align: number): Ptr {
    if (this.#closed || this.#reg.destroyed) throw this.#disposedError("allocate");
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
    if (this.#closed) {
      backing.deallocate(ptr);
      throw this.#disposedError("allocate");
    }
    if (this.#row >= 0) this.#reg.added(this.#row, usable, 0);
    return ptr;
  }

  /** deallocate at "off": the backing's usable size leaves the counts. A block with a record (adopted from a child) goes the tracked way. */
  #deallocateUntracked(ptr: Ptr): void {
    if (ptr === 0) return;
    if (typeof ptr !== "number") throw this.#refused(ptr, "deallocate");
    const reg = this.#reg;
    if (reg.records.count !== 0) {
      const i = reg.records.find(ptr, reg.i32);
      if (i >= 0) {
        this.#deallocateOther(ptr, i);
        return;
      }
    }
    const backing = this.backing;
    const usable = backing.allocatedSize(ptr);
    backing.deallocate(ptr);
    if (this.#row >= 0) releasedUntracked(reg, this.#row, usable);
  }

  /** reallocate at "off": counts the change of usable size. */
  #reallocateUntracked(ptr: Ptr, newSize: number, align: number): Ptr {
    if (ptr === 0) return this.#allocateUntracked(newSize, align);
    if (this.#closed || this.#reg.destroyed) throw this.#disposedError("reallocate");
    validateAllocation(this.path, newSize, align);
    validatePointerShape(this.path, ptr);
    const backing = this.backing;
    const before = backing.allocatedSize(ptr);
    const moved = backing.reallocate(ptr, newSize, align);
    const after = backing.allocatedSize(moved);
    if (this.#row >= 0) resizedUntracked(this.#reg, this.#row, before, after);
    return moved;
  }

  /** The allocator a block goes back to: its scope's backing (for an adopted block, the one it came from). */
  #backingOf(ptr: Ptr, word: number): Allocator {
    if ((word & RETAINED) !== 0) {
      const origin = this.#reg.retained.get(ptr)?.originScope;
      if (origin !== undefined) return origin.backing;
    }
    return this.#reg.scopes[word & ROW_MASK]?.backing ?? this.backing;
  }

  // --------------------------------------------------------------- queries

  /** The scope that owns the live block at `ptr` anywhere in this tree, in O(1); undefined when none does. */
  scopeOf(ptr: Ptr): TraceAllocator | undefined {
    if (typeof ptr !== "number") return undefined;
    const reg = this.#reg;
    const i = reg.records.find(ptr, reg.i32);
    return i < 0 ? undefined : reg.scopes[reg.records.data[(i << 2) + R_WORD]! & ROW_MASK];
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
    if (typeof ptr !== "number") return undefined;
    const reg = this.#reg;
    const asked = ptr;
    let i = reg.records.find(ptr, reg.i32);
    // A backing block starts H bytes before the pointer handed out (H = 8 or 16, or the alignment).
    for (let h = HEADER_BYTES; i < 0 && h <= MAX_HEADER; h *= 2) {
      const j = reg.records.find(ptr + h, reg.i32);
      if (j >= 0 && headerOf(reg.records.data[(j << 2) + R_WORD]!) === h) {
        i = j;
        ptr += h;
      }
    }
    if (i < 0) return undefined;
    const origin: BlockOrigin = {
      scope: reg.retained.get(ptr)?.origin ?? reg.scopes[reg.records.data[(i << 2) + R_WORD]! & ROW_MASK]!.path,
      size: reg.records.data[(i << 2) + R_SIZE]!,
    };
    const stack = stackOf(reg, reg.records.data[(i << 2) + R_SITE]!);
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
    walkLiveBlocks(this, visit);
  }

  // ---------------------------------------------------------------- budgets

  /**
   * Sets (or with `undefined` removes) the byte budget of this scope's
   * subtree. A budget below the current use is allowed: the next allocation
   * that grows the subtree fails (or warns). Re-arms a `"warn"` budget.
   */
  setBudget(budget: number | BudgetOptions | undefined): void {
    if (this.#closed || this.#reg.destroyed) throw this.#disposedError("setBudget");
    if (budget === undefined) {
      this.#budgetBytes = undefined;
      this.#budgetAction = "throw";
      this.#reg.counters[(this.#row << ROW_SHIFT) + C_LIMIT] = Infinity;
      this.#refreshBudgeted();
    } else {
      this.#applyBudget(budget);
    }
  }

  /** The subtree budget in bytes, if any. */
  get budgetBytes(): number | undefined {
    return this.#budgetBytes;
  }

  #applyBudget(budget: number | BudgetOptions | Required<BudgetOptions>): void {
    const spec = parseBudget(this.path, budget);
    this.#budgetBytes = spec.bytes;
    this.#budgetAction = spec.onExceed;
    this.#reg.counters[(this.#row << ROW_SHIFT) + C_LIMIT] = spec.bytes;
    this.#refreshBudgeted();
  }

  /** Recomputes, for this subtree, whether any scope up the chain has a budget. */
  #refreshBudgeted(): void {
    this.#budgeted = this.#budgetBytes !== undefined || (this.parent !== undefined && this.parent.#budgeted);
    for (const child of this.#children.values()) child.#refreshBudgeted();
  }

  /** Hot-path budget gate: walks the chain once; the slow path decides. */
  #checkBudgets(bytes: number): void {
    const reg = this.#reg;
    const c = reg.counters;
    const parents = reg.parents;
    for (let r = this.#row; r >= 0; r = parents[r]!) {
      const o = r << ROW_SHIFT;
      if (c[o + C_TOTAL_BYTES]! + bytes > c[o + C_LIMIT]!) {
        this.#overBudget(bytes);
        return;
      }
    }
  }

  /**
   * Throws for the innermost "throw" budget exceeded; runs the warning hook
   * (once) for "warn" budgets. The hook is user code: it may allocate, free,
   * create or dispose scopes (this one too). The chain is taken before the
   * first hook runs, and a scope the hooks disposed is skipped; the caller
   * looks at its own state again after this returns.
   */
  #overBudget(bytes: number): void {
    const reg = this.#reg;
    const c = reg.counters;
    const over: TraceAllocator[] = [];
    for (let r = this.#row; r >= 0; r = reg.parents[r]!) {
      const o = r << ROW_SHIFT;
      const used = c[o + C_TOTAL_BYTES]!;
      if (used + bytes <= c[o + C_LIMIT]!) continue;
      const scope = reg.scopes[r]!;
      const budget = scope.#budgetBytes!;
      if (scope.#budgetAction === "throw") throw overBudgetError(this.path, scope.path, bytes, used, budget);
      over.push(scope);
    }
    for (const scope of over) {
      const r = scope.#row;
      if (r < 0 || scope.#budgetBytes === undefined) continue; // disposed, or its budget removed, by an earlier hook
      const o = r << ROW_SHIFT;
      const used = c[o + C_TOTAL_BYTES]!;
      const budget = scope.#budgetBytes;
      if (used + bytes <= c[o + C_LIMIT]!) continue; // warned already (by a nested call), or no longer over
      const warning = budgetWarning(this.path, scope, budget, used, bytes);
      // Warn once: the hot path stops checking this budget until re-armed.
      c[o + C_LIMIT] = Infinity;
      try {
        reg.settings.onBudgetWarning(warning);
      } catch (err) {
        // A hook that throws turns the warning into an error; nothing changed.
        if (scope.#row === r && scope.#budgetBytes !== undefined) c[o + C_LIMIT] = scope.#budgetBytes;
        throw err;
      }
    }
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
    if (this.#row < 0) return;
    this.#resetSubtree(stage);
    this.#reg.pruneOrphans();
  }

  #resetSubtree(stage: string | undefined): void {
    const reg = this.#reg;
    const c = reg.counters;
    const o = this.#row << ROW_SHIFT;
    c[o + C_PEAK_BYTES] = c[o + C_LIVE_BYTES]!;
    c[o + C_PEAK_FRAME] = reg.frame;
    c[o + C_TOTAL_PEAK] = c[o + C_TOTAL_BYTES]!;
    c[o + C_TOTAL_PEAK_FRAME] = reg.frame;
    c[o + C_EPOCH]!++;
    reg.labels.resetPeaks(this.#row, reg.frame);
    if (this.#budgetBytes !== undefined) c[o + C_LIMIT] = this.#budgetBytes;
    if (stage !== undefined) this.#stage = stage;
    for (const child of this.#children.values()) child.#resetSubtree(stage);
  }

  /** Label of the current stage (the last `resetPeak(stage)`), if any. */
  get stage(): string | undefined {
    return this.#stage;
  }

  // ---------------------------------------------------------- retained blocks

  /**
   * Marks a live block of this scope as kept on purpose (a global cache, a
   * singleton): it stays counted in `liveBytes` but is listed apart and never
   * reported as a leak. When this scope is disposed the block is adopted by
   * the parent scope; it can still be freed through this scope or the owner.
   */
  retain(ptr: Ptr, reason?: string): void {
    const i = this.#ownRecord(ptr, "retain");
    const reg = this.#reg;
    const info = reg.retained.get(ptr);
    if (info !== undefined) {
      info.reason = reason ?? info.reason;
      return;
    }
    reg.retained.set(ptr, { origin: this.path, originScope: this, reason });
    reg.records.data[(i << 2) + R_WORD]! |= RETAINED;
    const c = reg.counters;
    const o = this.#row << ROW_SHIFT;
    c[o + C_RETAINED_BYTES]! += reg.records.data[(i << 2) + R_SIZE]!;
    c[o + C_RETAINED_COUNT]!++;
  }

  /** Undoes {@link retain}: the block counts as a leak again if still live at dispose. */
  unretain(ptr: Ptr): void {
    const i = this.#ownRecord(ptr, "unretain");
    const reg = this.#reg;
    const data = reg.records.data;
    const w = (i << 2) + R_WORD;
    if ((data[w]! & RETAINED) === 0) return;
    reg.retained.delete(ptr);
    data[w] = data[w]! & ~RETAINED;
    const c = reg.counters;
    const o = this.#row << ROW_SHIFT;
    c[o + C_RETAINED_BYTES] = c[o + C_RETAINED_BYTES]! - reg.records.data[(i << 2) + R_SIZE]!;
    c[o + C_RETAINED_COUNT]!--;
  }

  /** Retained blocks owned by this scope's subtree (including those adopted from disposed children). */
  retainedBlocks(): RetainedBlock[] {
    return collectLeaks(this).retained;
  }

  #ownRecord(ptr: Ptr, op: string): number {
    if (this.#level === OFF) throw new InvalidArgumentError(`${this.path}: ${op} needs tracing "counts" or "callstacks"; this scope is "off".`);
    if (this.#closed || this.#reg.destroyed) throw this.#disposedError(op);
    return this.#ownLive(ptr, op);
  }

  // ---------------------------------------------------------------- teardown

  /**
   * Ends the scope. Throws LeakError (nothing changes; fix and call again)
   * when it still holds blocks not retained, or has live child scopes; the
   * message names the scope path, the count and bytes, and up to 20 blocks
   * with their call stacks; `error.report` holds the full list. On success,
   * retained blocks are adopted by the parent and the name is free again.
   * Calling it again is a no-op.
   */
  dispose(): void {
    if (this.#closed) return;
    const report = collectLeaks(this);
    if (report.count > 0 || report.liveScopes.length > 0) {
      throw new LeakError(formatLeakMessage(report), report);
    }
    this.#close(undefined);
  }

  /**
   * On a root: ends the whole tree and stops following the address space's
   * growth (the tree keeps a view of it for block headers). Call once after
   * the last use of the tree, e.g. after `dispose()` at shutdown; every
   * scope of the tree then throws DestroyedError for new work and frees
   * (reports still read). Throws InvalidArgumentError on a child.
   */
  destroy(): void {
    if (this.parent !== undefined) {
      throw new InvalidArgumentError(`${this.path}: destroy() is for the root of a tree (${this.root.path}); dispose() ends a child scope.`);
    }
    const reg = this.#reg;
    reg.destroy();
    for (const scope of reg.scopes) if (scope !== undefined && scope.#level !== OFF) scope.#level = DISPOSED;
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
    const report = collectLeaks(this);
    if (this.#closed) return report;
    if (report.bytes > maxBytes) {
      throw new LeakError(formatLeakMessage(report, maxBytes), report);
    }
    this.#close("allowed leak");
    return report;
  }

  /** Disposes this scope and every live descendant: their blocks go to the parent (the root keeps its own). */
  #close(reason: string | undefined): void {
    const reg = this.#reg;
    const scopes: TraceAllocator[] = [];
    const collect = (s: TraceAllocator): void => {
      for (const child of s.#children.values()) collect(child);
      scopes.push(s);
    };
    collect(this);
    const rows = new Set(scopes.map((s) => s.#row));
    const heir = this.parent === undefined ? this.#row : this.parent.#row;
    reg.adopt(rows, heir, reason);
    for (const s of scopes) {
      s.#sites.orphanAll();
      s.#closed = true;
      if (s.#level !== OFF) s.#level = DISPOSED;
      if (s.parent !== undefined) {
        if (s.#level === OFF) dropUntracked(reg, s.#row);
        s.parent.#children.delete(s.name);
        reg.closeRow(s.#row);
        s.#row = -1;
      }
    }
    reg.pruneOrphans();
  }

  // ---------------------------------------------------------------- reports

  /** The scope tree from here down as plain JSON (see {@link ScopeReport}). */
  report(): ScopeReport {
    return buildReport(this);
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
    return foldStacks(this, options);
  }

  /**
   * Verifies the tree's records, every block header (every byte of a guarded
   * one) and every counter against a recount. Throws CorruptionError.
   */
  check(): void {
    if (this.#reg.destroyed) throw this.#disposedError("check");
    checkTree(this.root);
  }

  // ------------------------------------------------------------- internals

  /**
   * The site of an allocation with label `label` (0: none): at "callstacks"
   * the sampled call stack's, else the label's (0 for no label). `entry` is
   * the public method the caller called (its frame and those above are skipped).
   */
  #siteOf(entry: (...args: never[]) => unknown, label: number): number {
    if (this.#level !== CALLSTACKS) return label === 0 ? 0 : this.#sites.idOf(this.#row, 0, label);
    let stack = 0;
    if (--this.#countdown <= 0) {
      this.#countdown = this.#sampleEvery;
      stack = this.#reg.stacks.capture(entry);
    }
    return this.#sites.idOf(this.#row, stack, label);
  }

  #disposedError(op: string): DestroyedError {
    return disposedError(this.path, op, this.#reg.destroyed);
  }
}

// Stacks captured below a scope (a debug wrapper's free stacks, another tree's) start at the scope's caller.
markEntryPoints(TraceAllocator);

/* eslint-disable @typescript-eslint/unbound-method -- identities for Error.captureStackTrace, never called */
/** Entry points a call-stack capture starts below (see CallStacks.capture). */
const ALLOCATE = TraceAllocator.prototype.allocate;
const REALLOCATE = TraceAllocator.prototype.reallocate;
/* eslint-enable @typescript-eslint/unbound-method */
