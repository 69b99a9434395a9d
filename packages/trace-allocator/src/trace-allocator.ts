import {
  Attachment,
  InvalidArgumentError,
  describe,
  markEntryPoints,
  type AddressSpace,
  type Allocator,
  type BlockLabels,
  type Checkable,
  type OriginTracking,
  type Ptr,
} from "@memkit/core";
import { writeBudget } from "./budgets.js";
import { checkFolding } from "./lane-fold.js";
import { internLabel } from "./labels.js";
import {
  BUDGETED,
  ROW_GUARDED,
  ROW_MASK,
  R_WORD,
  S_BACKING,
  S_SAMPLE,
  TRACE_LAYOUT,
} from "./layout.js";
import { LEVELS, checkBacking, checkName, checkOptions, parseBudget, withoutBacking } from "./options.js";
import { findRecord, recordAt } from "./records.js";
import { buildReport, formatReport } from "./report.js";
import { switchTracing } from "./scope-changes.js";
import { findChildRow, openRow } from "./scope-rows.js";
import { ScopeFigures } from "./scope-figures.js";
import { newString, releaseString } from "./strings.js";
import { reserveEntries, tableRoom } from "./tables.js";
import { T_ROWS } from "./layout.js";
import { ScopeRef, type TreeLink } from "./tree-link.js";
import { SpaceTreeView, enterTree, leaveTree, treeLockOf } from "./tree-lock.js";
import { attachRoot, createRoot } from "./tree-open.js";
import { childRows, isScope, levelOf, nameOfPath, parentOf, rowWord, stateOf } from "./tree-view.js";
import type {
  OpenScopeOptions,
  ScopeReport,
  TraceAllocatorOptions,
  TraceAttachOptions,
  TraceScopeOptions,
  TracingLevel,
} from "./types.js";


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
export class TraceAllocator extends ScopeFigures implements Allocator, BlockLabels, OriginTracking, Checkable, Disposable {
  readonly #parent: TraceAllocator | undefined;
  /** The level last seen (reports of a disposed scope say it). */
  #tracing: TracingLevel;

  /**
   * Creates the root scope of a new tree over `backing` (its state is leased
   * from `backing` too), or, given an {@link Attachment}, a second handle on
   * the root of the tree whose control block that is (see {@link attach}).
   * Child scopes come from {@link child}. Throws InvalidArgumentError naming a
   * bad option, CorruptionError for a damaged tree.
   */
  constructor(source: Allocator | Attachment | ScopeRef<TraceAllocator>, options: TraceAllocatorOptions | TraceAttachOptions = {}) {
    const ref = source instanceof ScopeRef ? source : source instanceof Attachment ? attachRoot<TraceAllocator>(source, options) : createRoot<TraceAllocator>(source, options);
    super(ref.link, ref.row);
    this.#tracing = LEVELS[levelOf(this, ref.row)]!;
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
    const attachment = Attachment.open(space, controlPtr, TRACE_LAYOUT, "TraceAllocator.attach");
    // On a tree shared by threads the new handle reads the root's row under the lock.
    const tree = typeof options === "object" && options !== null && options.lock !== undefined ? treeLockOf(attachment.who, options.lock, space, options.threadOf) : undefined;
    if (tree === undefined) return new TraceAllocator(attachment, options);
    enterTree(tree, new SpaceTreeView(space, controlPtr, attachment.who), true);
    try {
      return new TraceAllocator(attachment, options);
    } finally {
      leaveTree(tree);
    }
  }

  get #link(): Link {
    return this.link as Link;
  }

  /** @internal */
  protected scopeAt(row: number): TraceAllocator {
    return handleOf(this.#link, this, row);
  }

  // ------------------------------------------------------------ the tree

  /**
   * Creates a child scope named `name` (unique among live siblings; no `/`,
   * `;` or line breaks). It inherits the tracing level and sampling unless
   * `options` says otherwise, and allocates from this scope's backing.
   */
  child(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    this.enter();
    try {
      if (!this.isOpen()) throw this.disposedError("child");
      checkName(name, this.path);
      if (typeof options !== "object" || options === null) {
        throw new InvalidArgumentError(`${this.path}: child options must be an object, received ${describe(options)}.`);
      }
      checkOptions(withoutBacking(options), false);
      const backing = options.backing ?? this.backing;
      checkBacking(backing, this);
      const path = `${this.path}/${name}`;
      const budget = options.budget === undefined ? undefined : parseBudget(path, options.budget);
      // A tree shared by threads keeps a record of every block, "off" included: exact frees need them.
      const level = options.tracing === undefined ? levelOf(this, this.row) : LEVELS.indexOf(options.tracing === "off" && this.tree !== undefined ? "counts" : options.tracing);
      const sampleEvery = options.sampleEvery ?? this.u32[rowWord(this, this.row) + S_SAMPLE]!;
      const link = this.#link;
      for (;;) {
        this.#assertUnique(path);
        const backingId = options.backing === undefined ? this.u32[rowWord(this, this.row) + S_BACKING]! : link.idOfBacking(this, options.backing);
        reserveEntries(this, T_ROWS, 1);
        const pathOff = newString(this, path);
        // The backing ran code meanwhile: this scope may be gone, the name taken, the room used.
        if (!this.isOpen() || findChildRow(this, this.row, path) >= 0 || tableRoom(this, T_ROWS) < 1) {
          releaseString(this, pathOff);
          if (!this.isOpen()) throw this.disposedError("child");
          continue;
        }
        const flags = stateOf(this, this.row) & (BUDGETED | ROW_GUARDED);
        const row = openRow(this, { parent: this.row, path: pathOff, level, sampleEvery, backing: backingId, flags });
        return new TraceAllocator(new ScopeRef(link, row, this, budget));
      }
    } finally {
      this.leave();
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
    this.enter();
    try {
      if (!this.alive) throw this.endedError("openScope");
      if (typeof path !== "string" || path.length === 0) throw new InvalidArgumentError(`${this.path}: openScope expects a relative path such as "physics/broadphase", received ${describe(path)}.`);
      let row = this.row;
      let at = this.path;
      if (!isScope(this, row, this.gen)) throw this.disposedError("openScope");
      for (const name of path.split("/")) {
        checkName(name, at);
        at = `${at}/${name}`;
        row = findChildRow(this, row, at);
        if (row < 0) throw new InvalidArgumentError(`${this.path}: openScope(${JSON.stringify(path)}): there is no live scope ${at}.`);
      }
      const backingId = this.u32[rowWord(this, row) + S_BACKING]!;
      if (options.backing !== undefined && backingId !== 0) this.#link.bindBacking(backingId, options.backing);
      return handleOf(this.#link, this, row);
    } finally {
      this.leave();
    }
  }

  /** Live child scopes, in creation order. */
  get children(): readonly TraceAllocator[] {
    this.enter();
    try {
      if (!this.alive || !this.here()) return [];
      return childRows(this, this.row).map((r) => handleOf(this.#link, this, r));
    } finally {
      this.leave();
    }
  }

  /** The live child named `name`, if any. */
  getChild(name: string): TraceAllocator | undefined {
    this.enter();
    try {
      if (!this.alive || !this.here() || typeof name !== "string") return undefined;
      const row = findChildRow(this, this.row, `${this.path}/${name}`);
      return row < 0 ? undefined : handleOf(this.#link, this, row);
    } finally {
      this.leave();
    }
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
    this.enter();
    try {
      if (this.alive && this.here()) this.#tracing = LEVELS[levelOf(this, this.row)]!;
      return this.#tracing;
    } finally {
      this.leave();
    }
  }

  /** True once {@link dispose} (or `disposeAllowingLeaks`) succeeded, through any handle; also once this handle ended. */
  get disposed(): boolean {
    this.enter();
    try {
      return !this.alive || !this.isOpen();
    } finally {
      this.leave();
    }
  }

  /**
   * The id of block label `label` (the same in every scope of the tree, and
   * through every handle) for allocate/reallocate: reports, leak reports and
   * folded stacks then show those blocks under it. Cold: call once, keep the
   * id. Throws InvalidArgumentError for a text that is not a non-empty string.
   */
  labelId(label: string): number {
    this.enter();
    try {
      if (!this.alive) throw this.endedError("labelId");
      const cached = typeof label === "string" ? this.#link.labelIds.get(label) : undefined;
      if (cached !== undefined) return cached;
      const id = internLabel(this, this.path, label);
      this.#link.labelIds.set(label, id);
      return id;
    } finally {
      this.leave();
    }
  }

  /**
   * Switches between `"counts"` and `"callstacks"` (with an optional new
   * sampling rate) for every handle on this scope. `"off"` is fixed at
   * creation: an untracked scope cannot start tracking blocks it already
   * handed out, nor stop. Throws InvalidArgumentError.
   */
  setTracing(level: TracingLevel, sampleEvery?: number): void {
    this.enterCounts();
    try {
      if (!this.isOpen()) throw this.disposedError("setTracing");
      switchTracing(this, this.path, this.row, level, sampleEvery);
      this.#tracing = level;
    } finally {
      this.leave();
    }
  }

  // --------------------------------------------------------------- queries

  /** The scope that owns the live block at `ptr` anywhere in this tree, in O(1); undefined when none does. */
  scopeOf(ptr: Ptr): TraceAllocator | undefined {
    this.enterAll();
    try {
      if (typeof ptr !== "number" || !this.alive) return undefined;
      const i = findRecord(this, ptr);
      return i < 0 ? undefined : handleOf(this.#link, this, this.i32[recordAt(this, i) + R_WORD]! & ROW_MASK);
    } finally {
      this.leave();
    }
  }


  // ---------------------------------------------------------------- reports

  /** The scope tree from here down as plain JSON (see {@link ScopeReport}). */
  report(): ScopeReport {
    this.enterCounts();
    try {
      if (!this.alive) throw this.endedError("report");
      return buildReport(this, this.row, this.gen, { name: this.name, path: this.path, tracing: this.#tracing });
    } finally {
      this.leave();
    }
  }

  /** The scope tree as aligned text: live, peak, blocks, allocations and budget use per scope. */
  formatReport(): string {
    return formatReport(this.report());
  }

  /**
   * Verifies the whole tree: its control block and tables, every record,
   * block header (every byte of a guarded one), string, site and counter
   * against a recount. Throws CorruptionError.
   */
  check(): void {
    this.enterAll();
    try {
      if (!this.alive) throw this.endedError("check");
      checkFolding(this, this.root.path, this.tree?.table);
    } finally {
      this.leave();
    }
  }
}

/** This link's handle on the live scope at `row` (the cached one while it is still that scope). */
function handleOf(link: Link, view: TraceAllocator, row: number): TraceAllocator {
  const cached = link.handles.get(row);
  if (cached !== undefined && cached.alive && isScope(view, row, cached.gen)) return cached;
  return new TraceAllocator(new ScopeRef(link, row, undefined));
}

// Stacks captured below a scope (a debug wrapper's free stacks, another tree's) start at the scope's caller.
markEntryPoints(TraceAllocator);
