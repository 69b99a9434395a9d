import {
  DoubleFreeError,
  CorruptionError,
  InvalidArgumentError,
  InvalidPointerError,
  LeakError,
  OutOfMemoryError,
  MAX_SIZE,
  describe,
  formatBytes,
  formatCount,
  hex,
  invalidPointer,
  validateAllocation,
  validatePointerShape,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type BlockOrigin,
  type Checkable,
  type OriginTracking,
  type Ptr,
} from "@memkit/core";
import { HEADER_BYTES, RETAINED, ROW_MASK, R_SITE, R_SIZE, R_WORD, headerCode, headerFor, headerOf } from "./block-records.js";
import { MEMKIT_FRAME_PATTERN } from "./call-stacks.js";
import { checkTree } from "./check.js";
import { foldStacks } from "./folded-stacks.js";
import { collectLeaks, formatLeakMessage, reservedBytesOf, stackOf } from "./leaks.js";
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
  type RegistrySettings,
} from "./registry.js";
import { buildReport, formatReport } from "./report.js";
import type {
  BudgetAction,
  BudgetOptions,
  BudgetWarning,
  FoldedStacksOptions,
  RetainedBlock,
  ScopeReport,
  TraceAllocatorOptions,
  TraceLeakReport,
  TraceScopeOptions,
  TracingLevel,
} from "./types.js";

const OFF = 0;
const COUNTS = 1;
const CALLSTACKS = 2;
/** A disposed scope: allocate refuses, deallocate still frees the blocks it kept. */
const DISPOSED = 3;
const LEVELS: readonly TracingLevel[] = ["off", "counts", "callstacks"];

/** The largest header: alignments go up to 64 KiB. */
const MAX_HEADER = 65536;
const DEFAULT_STACK_DEPTH = 12;
const DEFAULT_CAPACITY = 1024;
const DEFAULT_FREED_HISTORY = 4096;

/** What the report, fold, leak and check modules read of a scope (not part of the package's API). */
export interface ScopeInternals {
  reg: Registry;
  /** Counter row, -1 once disposed (a disposed root keeps its row). */
  row: number;
  gen: number;
  level: TracingLevel;
  /** Site ids of this scope's call stacks (stack id -> site id), plus the unsampled site (0 when none). */
  sites: ReadonlyMap<number, number>;
  defaultSite: number;
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
export class TraceAllocator implements Allocator, OriginTracking, Checkable, Disposable {
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
  readonly #sites = new Map<number, number>();
  #defaultSite = 0;
  /** Set by dispose; for "off" scopes the level stays OFF so deallocate keeps forwarding. */
  #closed = false;

  static {
    internalsOf = (s) => ({
      reg: s.#reg,
      row: s.#row,
      gen: s.#gen,
      level: s.#tracing,
      sites: s.#sites,
      defaultSite: s.#defaultSite,
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
    this.#level = LEVELS.indexOf(this.#tracing);
    this.#gen = this.#reg.generations[this.#row]!;
    if (budget !== undefined) this.#applyBudget(budget);
  }

  // ------------------------------------------------------------ the tree

  /**
   * Creates a child scope named `name` (unique among live siblings; no `/`,
   * `;` or line breaks). It inherits the tracing level and sampling unless
   * `options` says otherwise, and allocates from this scope's backing.
   */
  child(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    if (this.#closed) throw this.#disposedError("child");
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
    if (this.#closed) throw this.#disposedError("setTracing");
    checkLevel(this.path, level);
    checkSampleEvery(this.path, sampleEvery);
    if ((level === "off") !== (this.#tracing === "off")) {
      throw new InvalidArgumentError(
        `${this.path}: cannot switch tracing from ${JSON.stringify(this.#tracing)} to ${JSON.stringify(level)}: "off" is chosen when a scope is created.\n` +
          `  Create the scope with the level it needs (child(name, { tracing })).`,
      );
    }
    this.#tracing = level;
    this.#level = LEVELS.indexOf(level);
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
   * them here and in every enclosing scope. Throws InvalidArgumentError for a
   * bad size or align, OutOfMemoryError when a budget in the chain would be
   * exceeded (naming it) or the backing is exhausted.
   */
  allocate(size: number, align = 8): Ptr {
    // The common case inline: "counts", align <= 8. Everything else goes the general way.
    if (this.#level !== COUNTS || align > HEADER_BYTES) return this.#allocateOther(size, align);
    validateAllocation(this.path, size, align);
    if (size > MAX_SIZE - HEADER_BYTES) throw this.#tooLarge(size, align);
    if (this.#budgeted) this.#checkBudgets(size);
    const reg = this.#reg;
    const records = reg.records;
    records.reserve();
    let base: Ptr;
    try {
      base = this.backing.allocate(size + HEADER_BYTES, HEADER_BYTES);
    } catch (err) {
      throw this.#backingFailed(err);
    }
    const ptr = base + HEADER_BYTES;
    const i32 = reg.i32;
    if (records.find(ptr, i32) >= 0) throw this.#handedOutTwice(ptr);
    records.add(ptr, size, this.#row, 0, reg.frame, i32);
    reg.added(this.#row, size, 0);
    return ptr;
  }

  /** "off", disposed, "callstacks", and alignments above 8 (a header as large as the alignment). */
  #allocateOther(size: number, align: number): Ptr {
    if (this.#level === OFF) {
      if (this.#closed) throw this.#disposedError("allocate");
      return this.backing.allocate(size, align);
    }
    validateAllocation(this.path, size, align);
    if (this.#level === DISPOSED) throw this.#disposedError("allocate");
    const h = headerFor(align);
    if (size > MAX_SIZE - h) throw this.#tooLarge(size, align);
    if (this.#budgeted) this.#checkBudgets(size);
    const site = this.#level === CALLSTACKS ? this.#nextSite(ALLOCATE) : 0;
    const reg = this.#reg;
    const records = reg.records;
    records.reserve();
    let base: Ptr;
    try {
      base = this.backing.allocate(size + h, align < HEADER_BYTES ? HEADER_BYTES : align);
    } catch (err) {
      throw this.#backingFailed(err);
    }
    const ptr = base + h;
    if (records.find(ptr, reg.i32) >= 0) throw this.#handedOutTwice(ptr);
    records.add(ptr, size, this.#row | headerCode(h), site, reg.frame, reg.i32);
    reg.added(this.#row, size, site);
    return ptr;
  }

  /**
   * Frees a block this scope allocated (0 is a no-op). A block of another
   * scope throws InvalidPointerError naming both; a block freed already
   * throws DoubleFreeError; interior and foreign pointers throw
   * InvalidPointerError. Nothing changes on error.
   */
  deallocate(ptr: Ptr): void {
    if (this.#level === OFF) {
      this.backing.deallocate(ptr);
      return;
    }
    if (ptr === 0) return;
    const reg = this.#reg;
    const records = reg.records;
    const i = records.find(ptr, reg.i32);
    if (i < 0) throw this.#notLive(ptr, "deallocate");
    const row = this.#row;
    // Own, not retained, 8-byte header: the word is exactly the row.
    if (records.data[(i << 2) + R_WORD] !== row) {
      this.#deallocateOther(ptr, i);
      return;
    }
    this.backing.deallocate(ptr - HEADER_BYTES);
    reg.released(i, ptr);
  }

  /** Retained blocks, larger headers, blocks kept by a disposed scope, and everything else (which throws). */
  #deallocateOther(ptr: Ptr, i: number): void {
    const reg = this.#reg;
    const word = reg.records.data[(i << 2) + R_WORD]!;
    const mine = (word & ROW_MASK) === this.#row || ((word & RETAINED) !== 0 && reg.retained.get(ptr)?.originScope === this);
    if (!mine) throw this.#crossScope(ptr, i, "deallocate");
    this.#backingOf(ptr, word).deallocate(ptr - headerOf(word));
    reg.released(i, ptr);
  }

  /**
   * Resizes a block this scope allocated, keeping min(old, new) bytes (ptr 0
   * allocates). Errors as {@link allocate} and {@link deallocate}; on any
   * error the old block stays live and unchanged.
   */
  reallocate(ptr: Ptr, newSize: number, align = 8): Ptr {
    if (this.#level === OFF) return this.backing.reallocate(ptr, newSize, align);
    validateAllocation(this.path, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    if (this.#level === DISPOSED) throw this.#disposedError("reallocate");
    const reg = this.#reg;
    const records = reg.records;
    let i = records.find(ptr, reg.i32);
    if (i < 0) throw this.#notLive(ptr, "reallocate");
    if ((records.data[(i << 2) + R_WORD]! & ROW_MASK) !== this.#row) throw this.#crossScope(ptr, i, "reallocate");
    const oldSize = records.data[(i << 2) + R_SIZE]!;
    const nh = headerFor(align);
    if (newSize > MAX_SIZE - nh) throw this.#tooLarge(newSize, align);
    if (newSize > oldSize && this.#budgeted) {
      this.#checkBudgets(newSize - oldSize);
      i = records.find(ptr, reg.i32); // a budget-warning hook may have allocated or freed
    }
    const site = this.#level === CALLSTACKS ? this.#nextSite(REALLOCATE) : 0;
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
      throw this.#backingFailed(err);
    }
    if (moved !== ptr && records.find(moved, reg.i32) >= 0) throw this.#handedOutTwice(moved);
    reg.resized(i, ptr, moved, newSize, headerCode(nh), site, allocFrame);
    return moved;
  }

  /** Usable bytes of a live block of this scope (what the backing gives, less the header). */
  allocatedSize(ptr: Ptr): number {
    if (this.#level === OFF) return this.backing.allocatedSize(ptr);
    const i = this.#reg.records.find(ptr, this.#reg.i32);
    if (i < 0) throw this.#notLive(ptr, "allocatedSize");
    const word = this.#reg.records.data[(i << 2) + R_WORD]!;
    if ((word & ROW_MASK) !== this.#row) throw this.#crossScope(ptr, i, "allocatedSize");
    const h = headerOf(word);
    return this.#backingOf(ptr, word).allocatedSize(ptr - h) - h;
  }

  /** True when `ptr` is a live block owned by this scope (not by a parent, child or sibling). */
  owns(ptr: Ptr): boolean {
    if (this.#level === OFF) return this.backing.owns(ptr);
    const i = this.#reg.records.find(ptr, this.#reg.i32);
    return i >= 0 && (this.#reg.records.data[(i << 2) + R_WORD]! & ROW_MASK) === this.#row;
  }

  /**
   * This scope's own counters (not its children's): `liveBytes` counts the
   * sizes asked for; `reservedBytes` is what its live blocks take from the
   * backing (usable sizes, headers included; a walk over the tree's records).
   */
  stats(): AllocatorStats {
    const c = this.#reg.counters;
    if (this.#row < 0) return { liveBytes: 0, liveCount: 0, peakLiveBytes: 0, allocCount: 0, freeCount: 0, reservedBytes: 0 };
    const o = this.#row << ROW_SHIFT;
    return {
      liveBytes: c[o + C_LIVE_BYTES]!,
      liveCount: c[o + C_LIVE_COUNT]!,
      peakLiveBytes: c[o + C_PEAK_BYTES]!,
      allocCount: c[o + C_ALLOC_COUNT]!,
      freeCount: c[o + C_FREE_COUNT]!,
      reservedBytes: reservedBytesOf(this.#reg, this.#row),
    };
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
    const reg = this.#reg;
    const i = reg.records.find(ptr, reg.i32);
    return i < 0 ? undefined : reg.scopes[reg.records.data[(i << 2) + R_WORD]! & ROW_MASK];
  }

  /**
   * Where the live block at `ptr` (anywhere in this tree) came from: the path
   * of the scope that allocated it, the size asked for, and its call stack
   * when one was captured. `ptr` may also be the start of the block's backing
   * block (its header), which is what a debug allocator below the scopes
   * sees. Undefined when the tree holds no such block.
   */
  originOf(ptr: Ptr): BlockOrigin | undefined {
    const reg = this.#reg;
    let i = reg.records.find(ptr, reg.i32);
    // A backing block starts H bytes before the pointer handed out (H = 8, or the alignment).
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
    return origin;
  }

  /**
   * Calls `visit(ptr, size, scopePath)` for every live block of this scope's
   * subtree (size asked for; the path of the scope that owns it now). Walks a
   * copy of the records, so the visitor may allocate and free. Cold path:
   * memory maps and tools.
   */
  forEachLiveBlock(visit: (ptr: Ptr, size: number, scope: string) => void): void {
    const reg = this.#reg;
    if (this.#row < 0) return;
    const data = reg.records.data.slice(0, reg.records.count << 2);
    for (let r = 0; r < data.length; r += 4) {
      const row = data[r + R_WORD]! & ROW_MASK;
      if (!reg.isWithin(row, this.#row)) continue;
      visit(data[r]!, data[r + R_SIZE]!, reg.scopes[row]?.path ?? this.path);
    }
  }

  // ---------------------------------------------------------------- budgets

  /**
   * Sets (or with `undefined` removes) the byte budget of this scope's
   * subtree. A budget below the current use is allowed: the next allocation
   * that grows the subtree fails (or warns). Re-arms a `"warn"` budget.
   */
  setBudget(budget: number | BudgetOptions | undefined): void {
    if (this.#closed) throw this.#disposedError("setBudget");
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

  /** Throws for the innermost "throw" budget exceeded; runs the warning hook (once) for "warn" budgets. */
  #overBudget(bytes: number): void {
    const reg = this.#reg;
    const c = reg.counters;
    for (let r = this.#row; r >= 0; r = reg.parents[r]!) {
      const o = r << ROW_SHIFT;
      const used = c[o + C_TOTAL_BYTES]!;
      if (used + bytes <= c[o + C_LIMIT]!) continue;
      const scope = reg.scopes[r]!;
      const budget = scope.#budgetBytes!;
      if (scope.#budgetAction === "throw") {
        throw new OutOfMemoryError(
          `${this.path}: allocating ${formatCount(bytes)} B would exceed the budget of scope ${scope.path}: ` +
            `${formatBytes(used)} of its ${formatBytes(budget)} budget in use (subtree), ${formatBytes(used + bytes - budget)} over.\n` +
            `  Free memory under ${scope.path}, raise its budget (setBudget), or set budget: { bytes, onExceed: "warn" } to only warn.`,
        );
      }
    }
    for (let r = this.#row; r >= 0; r = reg.parents[r]!) {
      const o = r << ROW_SHIFT;
      const used = c[o + C_TOTAL_BYTES]!;
      if (used + bytes <= c[o + C_LIMIT]!) continue;
      const scope = reg.scopes[r]!;
      const budget = scope.#budgetBytes!;
      const warning: BudgetWarning = {
        scope: scope.path,
        allocator: scope,
        budgetBytes: budget,
        liveBytes: used + bytes,
        requestedBytes: bytes,
        message:
          `${this.path}: allocating ${formatCount(bytes)} B takes scope ${scope.path} over its ${formatBytes(budget)} budget ` +
          `(${formatBytes(used + bytes)} in use). Warned once; resetPeak() or setBudget() re-arms the warning.`,
      };
      // Warn once: the hot path stops checking this budget until re-armed.
      c[o + C_LIMIT] = Infinity;
      try {
        reg.settings.onBudgetWarning(warning);
      } catch (err) {
        c[o + C_LIMIT] = budget; // a hook that throws turns the warning into an error; nothing changed
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
    if (this.#closed) throw this.#disposedError(op);
    const records = this.#reg.records;
    const i = records.find(ptr, this.#reg.i32);
    if (i < 0) throw this.#notLive(ptr, op);
    if ((records.data[(i << 2) + R_WORD]! & ROW_MASK) !== this.#row) throw this.#crossScope(ptr, i, op);
    return i;
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
   * On a root: stops following the address space's growth (the tree keeps a
   * view of it for block headers). Call once after the last use of the tree,
   * e.g. after `dispose()` at shutdown. Throws InvalidArgumentError on a child.
   */
  destroy(): void {
    if (this.parent !== undefined) {
      throw new InvalidArgumentError(`${this.path}: destroy() is for the root of a tree (${this.root.path}); dispose() ends a child scope.`);
    }
    this.#reg.destroy();
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
      for (const id of s.#sites.values()) s.#orphanSite(id);
      if (s.#defaultSite !== 0) s.#orphanSite(s.#defaultSite);
      s.#closed = true;
      if (s.#level !== OFF) s.#level = DISPOSED;
      if (s.parent !== undefined) {
        s.parent.#children.delete(s.name);
        reg.closeRow(s.#row);
        s.#row = -1;
      }
    }
    reg.pruneOrphans();
  }

  #orphanSite(id: number): void {
    const site = this.#reg.sites[id];
    if (site === undefined) return;
    site.orphan = true;
    this.#reg.orphans.add(site);
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

  /** Verifies the tree's records, every block header and every counter against a recount. Throws CorruptionError. */
  check(): void {
    checkTree(this.root);
  }

  // ------------------------------------------------------------- internals

  /** The site of this allocation; `entry` is the public method the caller called (its frame and those above are skipped). */
  #nextSite(entry: (...args: never[]) => unknown): number {
    if (--this.#countdown > 0) return this.#defaultSite === 0 ? this.#openDefaultSite() : this.#defaultSite;
    this.#countdown = this.#sampleEvery;
    const reg = this.#reg;
    const stack = reg.stacks.capture(entry);
    let id = this.#sites.get(stack);
    if (id === undefined) {
      id = reg.openSite(this.#row, this.path, stack).id;
      this.#sites.set(stack, id);
    }
    return id;
  }

  #openDefaultSite(): number {
    this.#defaultSite = this.#reg.openSite(this.#row, this.path, 0).id;
    return this.#defaultSite;
  }

  #disposedError(op: string): InvalidArgumentError {
    return new InvalidArgumentError(
      `${this.path}: ${op} on a disposed scope.\n  Create a new scope (parent.child(name)) for new allocations; blocks it kept can still be freed through it.`,
    );
  }

  #backingFailed(err: unknown): unknown {
    if (err instanceof OutOfMemoryError) return new OutOfMemoryError(`${this.path}: ${err.message}`, { cause: err });
    return err;
  }

  #handedOutTwice(ptr: Ptr): CorruptionError {
    return new CorruptionError(
      `${this.path}: the backing allocator ${this.backing.name} returned the block at ${hex(ptr - HEADER_BYTES)}, which holds the live block ${hex(ptr)} of this tree.\n` +
        `  It handed the same memory out twice; run its check().`,
    );
  }

  #tooLarge(size: number, align: number): OutOfMemoryError {
    return new OutOfMemoryError(
      `${this.path}: cannot allocate ${formatCount(size)} B (align ${align}): with the ${headerFor(align)}-byte trace header it exceeds the largest size any allocator accepts (${formatCount(MAX_SIZE)} B).`,
    );
  }

  #crossScope(ptr: Ptr, i: number, op: string): InvalidPointerError {
    const reg = this.#reg;
    const owner = reg.scopes[reg.records.data[(i << 2) + R_WORD]! & ROW_MASK]!;
    const size = reg.records.data[(i << 2) + R_SIZE]!;
    return new InvalidPointerError(
      `${this.path}: ${op}(${hex(ptr)}) refused: that block (${formatCount(size)} B) belongs to scope ${owner.path}, not ${this.path}.\n` +
        `  Free and resize a block through the scope that allocated it; across scopes both scopes' counts would go wrong.`,
    );
  }

  /** The error for a pointer the records do not hold: bad shape, overwritten header, freed, interior, or foreign. */
  #notLive(ptr: Ptr, op: string): InvalidPointerError | DoubleFreeError | CorruptionError {
    validatePointerShape(this.path, ptr);
    if (ptr === 0) return invalidPointer(this.path, ptr, "null is never a live block");
    const reg = this.#reg;
    const { data, count } = reg.records;
    const known = reg.records.search(ptr);
    if (known >= 0) {
      return new CorruptionError(
        `${this.path}: ${op}(${hex(ptr)}): the 8-byte header in front of this live block (${formatCount(data[(known << 2) + R_SIZE]!)} B, ` +
          `scope ${reg.scopes[data[(known << 2) + R_WORD]! & ROW_MASK]?.path ?? "?"}) was overwritten: something wrote before the block's start, ` +
          `or past the end of the block below it.\n  Wrap the scope in a debug allocator (canaries) to find the writer.`,
      );
    }
    const by = reg.recentlyFreedBy(ptr);
    if (by >= 0) {
      const where = reg.scopes[by]?.path ?? "a scope since disposed";
      const reused = safeOwns(this.backing, ptr - HEADER_BYTES) ? "; its memory has since been handed out again" : "";
      if (op === "deallocate") {
        return new DoubleFreeError(`${this.path}: double free of ${hex(ptr)}: it was already freed (through ${where}) and has not been allocated again${reused}.`);
      }
      return new InvalidPointerError(`${this.path}: ${op}(${hex(ptr)}): that block was freed (through ${where}); it is no longer live${reused}.`);
    }
    for (let i = 0; i < count; i++) {
      const base = data[i << 2]!;
      const size = data[(i << 2) + R_SIZE]!;
      if (ptr > base && ptr < base + size) {
        const owner = reg.scopes[data[(i << 2) + R_WORD]! & ROW_MASK]!;
        return new InvalidPointerError(
          `${this.path}: ${op}(${hex(ptr)}): that points +${ptr - base} into the live block ${hex(base)} (${formatCount(size)} B, scope ${owner.path}).\n` +
            `  Pass the pointer allocate returned.`,
        );
      }
    }
    return invalidPointer(
      this.path,
      ptr,
      safeOwns(this.backing, ptr)
        ? `it is a live block of ${this.backing.name} that was not allocated through this scope tree`
        : "it is not a live block of this scope tree",
    );
  }
}

/* eslint-disable @typescript-eslint/unbound-method -- identities for Error.captureStackTrace, never called */
/** Entry points a call-stack capture starts below (see CallStacks.capture). */
const ALLOCATE = TraceAllocator.prototype.allocate;
const REALLOCATE = TraceAllocator.prototype.reallocate;
/* eslint-enable @typescript-eslint/unbound-method */

function safeOwns(allocator: Allocator, ptr: Ptr): boolean {
  try {
    return allocator.owns(ptr);
  } catch {
    return false;
  }
}

/** Checks a budget option; throws InvalidArgumentError naming what is wrong. */
function parseBudget(who: string, budget: number | BudgetOptions): Required<BudgetOptions> {
  const spec = typeof budget === "number" ? { bytes: budget } : budget;
  if (typeof spec !== "object" || spec === null || !Number.isSafeInteger(spec.bytes) || spec.bytes < 0) {
    throw new InvalidArgumentError(
      `${who}: budget must be a byte count (a non-negative integer) or { bytes, onExceed }, received ${describe(typeof spec === "object" && spec !== null ? spec.bytes : budget)}.`,
    );
  }
  const onExceed = spec.onExceed ?? "throw";
  if (onExceed !== "throw" && onExceed !== "warn") {
    throw new InvalidArgumentError(`${who}: budget.onExceed must be "throw" or "warn", received ${describe(onExceed)}.`);
  }
  return { bytes: spec.bytes, onExceed };
}

function withoutBacking(options: TraceScopeOptions): TraceScopeOptions {
  const { backing: _backing, ...rest } = options;
  return rest;
}

function checkName(name: unknown, parentPath: string | undefined): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || /[/;\r\n]/.test(name) || name.trim() !== name) {
    throw new InvalidArgumentError(
      `${parentPath ?? "TraceAllocator"}: scope name must be a non-empty string without "/", ";", line breaks or surrounding spaces, received ${describe(name)}.\n` +
        `  "/" joins scope paths and ";" separates folded-stack frames.`,
    );
  }
}

function checkLevel(who: string, level: unknown): void {
  if (!LEVELS.includes(level as TracingLevel)) {
    throw new InvalidArgumentError(`${who}: tracing must be "off", "counts" or "callstacks", received ${describe(level)}.`);
  }
}

function checkSampleEvery(who: string, n: unknown): void {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1 || n > 0x7fffffff) {
    throw new InvalidArgumentError(`${who}: sampleEvery must be an integer >= 1 (1 = every allocation), received ${describe(n)}.`);
  }
}

function checkBacking(backing: Allocator, parent: TraceAllocator | undefined): void {
  const who = parent?.path ?? "TraceAllocator";
  if (typeof backing !== "object" || backing === null || typeof backing.allocate !== "function" || typeof backing.deallocate !== "function") {
    throw new InvalidArgumentError(`${who}: the backing must be an Allocator, received ${describe(backing)}.`);
  }
  if (parent === undefined) return;
  if (backing.space !== parent.space) {
    throw new InvalidArgumentError(`${who}: a child's backing (${backing.name}) must use the same address space as its tree: one set of records and headers covers the tree.`);
  }
  if (backing instanceof TraceAllocator && backing.root === parent.root) {
    throw new InvalidArgumentError(`${who}: a child's backing cannot be a scope of the same tree (${backing.path}); use child() for nesting.`);
  }
}

function checkOptions(options: TraceAllocatorOptions, isRoot: boolean): void {
  const who = "TraceAllocator";
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`${who}: options must be an object, received ${describe(options)}.`);
  if (options.tracing !== undefined) checkLevel(who, options.tracing);
  if (options.sampleEvery !== undefined) checkSampleEvery(who, options.sampleEvery);
  if (!isRoot) return;
  const d = options.stackDepth;
  if (d !== undefined && (!Number.isSafeInteger(d) || d < 1 || d > 256)) {
    throw new InvalidArgumentError(`${who}: stackDepth must be an integer from 1 to 256, received ${describe(d)}.`);
  }
  if (options.internalFrames !== undefined && !(options.internalFrames instanceof RegExp)) {
    throw new InvalidArgumentError(`${who}: internalFrames must be a RegExp, received ${describe(options.internalFrames)}.`);
  }
  const cap = options.initialCapacity;
  if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 1 || cap > 1 << 28)) {
    throw new InvalidArgumentError(`${who}: initialCapacity must be an integer from 1 to 2^28, received ${describe(cap)}.`);
  }
  const h = options.freedHistory;
  if (h !== undefined && (!Number.isSafeInteger(h) || h < 1 || h > 1 << 20)) {
    throw new InvalidArgumentError(`${who}: freedHistory must be an integer from 1 to 2^20, received ${describe(h)}.`);
  }
  if (options.onBudgetWarning !== undefined && typeof options.onBudgetWarning !== "function") {
    throw new InvalidArgumentError(`${who}: onBudgetWarning must be a function, received ${describe(options.onBudgetWarning)}.`);
  }
}

function rootSettings(options: TraceAllocatorOptions): RegistrySettings {
  const history = options.freedHistory ?? DEFAULT_FREED_HISTORY;
  return {
    stackDepth: options.stackDepth ?? DEFAULT_STACK_DEPTH,
    internalFrames: options.internalFrames ?? MEMKIT_FRAME_PATTERN,
    initialCapacity: options.initialCapacity ?? DEFAULT_CAPACITY,
    // A power of two, so the ring index wraps with a mask.
    freedHistory: 2 ** Math.ceil(Math.log2(history)),
    onBudgetWarning: options.onBudgetWarning ?? ((w: BudgetWarning) => console.warn(w.message)),
  };
}
