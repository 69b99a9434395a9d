import { InvalidArgumentError, SpaceHandle, describe, hex, type AddressSpace, type Allocator, type Ptr } from "@memkit/core";
import { CallStacks, stackTextsOf } from "./call-stacks.js";
import { BACKING_CONTROL, ENTRY_TAG, TAG_LIVE, TW_USED, T_BACKINGS, W_NEXT_STACK, W_STACK_DEPTH, W_TREE_ID, tableWord } from "./layout.js";
import { entryWord, reserveEntries, tableRoom, takeEntry } from "./tables.js";
import type { TreeLock } from "./tree-lock.js";
import type { TreeMemory, TreeView } from "./tree-view.js";
import type { BudgetWarning } from "./types.js";

/*
 * The JS side of one handle on a tree (one `new TraceAllocator` or one
 * `TraceAllocator.attach`), shared by every scope handle reached from it:
 * what memory cannot hold. None of it is the tree's state:
 * - the backing allocator objects (memory holds their control blocks);
 * - the budget-warning hook and the frames to strip from stacks (functions
 *   and RegExps), chosen per handle;
 * - this thread's call-stack texts (ids are in memory; shared by the thread);
 * - caches: scope handles by row (so `root.children` gives the same objects
 *   each time) and label ids by text. Every cached entry is checked against
 *   memory before it is used.
 */

/** A handle's view of one scope, for the link's cache (the link does not know the handle class). */
export interface LinkedScope {
  readonly row: number;
  readonly gen: number;
  readonly alive: boolean;
}

/** Options an attach takes: what the JS side must supply. */
export interface LinkOptions {
  onBudgetWarning?: (warning: BudgetWarning) => void;
  internalFrames?: RegExp;
}

/** Any allocator handle (SpaceHandle's constructor is protected, so it is named through this type). */
const ANY_HANDLE = SpaceHandle as unknown as abstract new (...args: never[]) => SpaceHandle;

export class TreeLink<S extends LinkedScope = LinkedScope> {
  readonly space: AddressSpace;
  readonly controlPtr: Ptr;
  /** Backing objects by backing id (0: the tree's). */
  private readonly backings: (Allocator | undefined)[];
  private readonly backingIds = new Map<Allocator, number>();
  readonly onBudgetWarning: (warning: BudgetWarning) => void;
  readonly stacks: CallStacks;
  /** Scope handles of this link by row (checked against the row's generation before use). */
  readonly handles = new Map<number, S>();
  /** Label ids by text (labels are never removed from a tree, so a cached id stays right). */
  readonly labelIds = new Map<string, number>();
  /** The handle on the root scope this link began with. */
  root: S | undefined;
  /** The tree lock, on a tree shared by threads (tree-lock.ts). */
  readonly tree: TreeLock | undefined;

  constructor(space: AddressSpace, controlPtr: Ptr, backing: Allocator, internalFrames: RegExp, onBudgetWarning: (warning: BudgetWarning) => void, tree?: TreeLock) {
    this.space = space;
    this.tree = tree;
    this.controlPtr = controlPtr;
    this.backings = [backing];
    this.backingIds.set(backing, 0);
    this.onBudgetWarning = onBudgetWarning;
    const u32 = space.u32;
    const cw = controlPtr >>> 2;
    const texts = stackTextsOf(space, controlPtr, u32[cw + W_TREE_ID]!);
    this.stacks = new CallStacks(u32[cw + W_STACK_DEPTH]!, internalFrames, texts, () => {
      // Ids come from the tree, so they name one stack in every thread.
      const u = space.u32;
      const id = u[cw + W_NEXT_STACK]!;
      u[cw + W_NEXT_STACK] = id + 1;
      return id;
    });
  }

  /** The tree's backing (the one its state is leased from). */
  get backing(): Allocator {
    return this.backings[0]!;
  }

  /**
   * The allocator of backing id `id`: one this link was given, or the live
   * handle this thread holds on the control block memory names for it.
   */
  backingOf(view: TreeView, id: number): Allocator {
    const known = this.backings[id];
    if (known !== undefined) return known;
    const used = view.u32[view.cw + tableWord(T_BACKINGS, TW_USED)]!;
    const control = id > 0 && id < used ? view.u32[entryWord(view, T_BACKINGS, id) + BACKING_CONTROL]! : 0;
    const found = control === 0 ? undefined : SpaceHandle.lookup(this.space, control, ANY_HANDLE);
    if (found === undefined || typeof (found as Partial<Allocator>).allocate !== "function") {
      throw new InvalidArgumentError(
        `TraceAllocator: a scope of this tree allocates from its own backing (${control === 0 ? "an allocator with no control block" : `control block ${hex(control)}`}), ` +
          `which this handle was not given.\n  Pass it when opening the scope: openScope(path, { backing }).`,
      );
    }
    this.backings[id] = found as unknown as Allocator;
    this.backingIds.set(found as unknown as Allocator, id);
    return found as unknown as Allocator;
  }

  /** Makes `backing` the allocator of backing id `id` in this link (an opened scope's own backing). */
  bindBacking(id: number, backing: Allocator): void {
    this.backings[id] = backing;
    this.backingIds.set(backing, id);
  }

  /**
   * The backing id of `backing` (a child scope's own), registered in memory
   * on first use. May call the tree's backing (the table grows).
   */
  idOfBacking(mem: TreeMemory, backing: Allocator): number {
    const known = this.backingIds.get(backing);
    if (known !== undefined) return known;
    const control = backing instanceof SpaceHandle ? backing.controlPtr : 0;
    if (control !== 0) {
      const used = mem.u32[mem.cw + tableWord(T_BACKINGS, TW_USED)]!;
      for (let id = 1; id < used; id++) {
        if (mem.u32[entryWord(mem, T_BACKINGS, id) + BACKING_CONTROL] === control) {
          this.bindBacking(id, backing);
          return id;
        }
      }
    }
    do reserveEntries(mem, T_BACKINGS, 1);
    while (tableRoom(mem, T_BACKINGS) < 1);
    const id = takeEntry(mem, T_BACKINGS);
    const w = entryWord(mem, T_BACKINGS, id);
    mem.u32[w + BACKING_CONTROL] = control;
    mem.u32[w + ENTRY_TAG] = TAG_LIVE;
    this.bindBacking(id, backing);
    return id;
  }
}

/** Checks the `backing` an attach was given against the tree's record of it. */
export function checkAttachBacking(who: string, space: AddressSpace, backing: unknown, recorded: number): Allocator {
  if (backing === undefined) {
    const found = recorded === 0 ? undefined : SpaceHandle.lookup(space, recorded, ANY_HANDLE);
    if (found === undefined || typeof (found as Partial<Allocator>).allocate !== "function") {
      throw new InvalidArgumentError(`${who}: pass the tree's backing allocator ({ backing }); this thread holds no handle on ${recorded === 0 ? "it" : `the allocator at ${hex(recorded)}`}.`);
    }
    return found as unknown as Allocator;
  }
  if (!isAllocator(backing)) throw new InvalidArgumentError(`${who}: the backing must be an Allocator, received ${describe(backing)}.`);
  if (backing.space !== space) throw new InvalidArgumentError(`${who}: the backing (${backing.name}) uses another address space than the tree.`);
  const control = backing instanceof SpaceHandle ? backing.controlPtr : 0;
  if (recorded !== 0 && control !== recorded) {
    throw new InvalidArgumentError(`${who}: the tree was built on the allocator at ${hex(recorded)}; the backing given (${backing.name}) is ${control === 0 ? "another allocator" : `at ${hex(control)}`}.`);
  }
  return backing;
}

function isAllocator(x: unknown): x is Allocator {
  const a = x as Partial<Allocator> | null;
  return typeof a === "object" && a !== null && typeof a.allocate === "function" && typeof a.deallocate === "function";
}

/**
 * A scope of an existing tree to make a handle on: what the scope class's
 * constructor receives in place of a backing (built only inside this
 * package, as core's Attachment is built only by Attachment.open).
 */
export class ScopeRef<S extends LinkedScope = LinkedScope> {
  constructor(
    readonly link: TreeLink<S>,
    readonly row: number,
    /** The parent's handle, when the caller has it. */
    readonly parent: S | undefined,
    /** A budget to set once the handle exists (a new scope's option). */
    readonly budget?: { bytes: number; onExceed: "throw" | "warn" },
  ) {}
}
