import { InvalidArgumentError, SharedLock, SpaceViews, describe, type AddressSpace, type Allocator, type ThreadSeat, type ThreadTable } from "@memkit/core";
import type { Lane } from "./lanes.js";
import { repairTree } from "./tree-repair.js";
import type { TreeView } from "./tree-view.js";

/*
 * The tree lock: one SharedLock (core) for a whole scope tree shared by
 * threads. Every operation that reads or writes the tree's state holds it;
 * calls to the backing allocators stay outside it on the block paths
 * (allocate takes the backing block first, a free gives it back after), so a
 * thread that dies holding the lock can leave a leaked backing block but
 * never a record of a freed one.
 *
 * Re-entry: code run under the lock (a budget-warning hook, a grow listener
 * run by a table's growth through the backing, a forEachLiveBlock visitor)
 * may call into scopes of the same tree on the same thread. SharedLock is not
 * re-entrant, so the thread keeps a depth per lock object and takes the lock
 * only at depth 0: every handle of a thread on one tree must be given the same
 * SharedLock object.
 *
 * A dead holder: SharedLock hands the lock to a waiter once the holder's
 * thread is declared dead, and puts back only the words the holder logged.
 * The tree's words are not logged, so the thread that took over repairs the
 * tree from its records (tree-repair.ts) before it goes on.
 */

/** A thread's state for one tree lock: the lock, how deep this thread holds it, and where to count its figures. */
export class TreeLock {
  /** Calls of this thread inside the lock (the lock is held while > 0). */
  depth = 0;
  /** The thread table the seat comes from, when the lock has a seat (per-thread figures). */
  readonly table: ThreadTable | undefined;
  readonly seat: ThreadSeat | undefined;
  /** The slot of the thread a backing block came from (the threadOf option), or undefined: the freeing thread counts. */
  threadOf: ((ptr: number) => number) | undefined;
  /** This thread's lane of the tree (lanes.ts), once it opened one: only a lock with a seat has one. */
  lane: Lane | undefined;

  constructor(readonly lock: SharedLock) {
    this.seat = lock.thread;
    this.table = lock.thread?.table;
  }
}

/** One TreeLock per SharedLock object in this thread, so every handle given the object shares the depth. */
const byLock = new WeakMap<SharedLock, TreeLock>();

/** The TreeLock of `lock` (checked: a SharedLock over `space`'s memory). */
export function treeLockOf(who: string, lock: unknown, space: AddressSpace, threadOf?: unknown): TreeLock {
  if (threadOf !== undefined && typeof threadOf !== "function") throw new InvalidArgumentError(`${who}: threadOf must be a function, received ${describe(threadOf)}.`);
  if (!(lock instanceof SharedLock) || lock.space.memory !== space.memory) {
    throw new InvalidArgumentError(`${who}: lock must be a SharedLock over the tree's memory (new SharedLock(space, ptr, capacity, { thread: seat })), received ${describe(lock)}.`);
  }
  let tree = byLock.get(lock);
  if (tree === undefined) byLock.set(lock, (tree = new TreeLock(lock)));
  if (threadOf !== undefined) tree.threadOf = threadOf as (ptr: number) => number;
  return tree;
}

/** A view of the tree, for the repair, and the views' owner (refreshed when another thread grew the memory). */
export interface LockedView extends TreeView {
  readonly space: AddressSpace;
  readonly alive: boolean;
  readonly path: string;
}

/**
 * Takes the tree lock unless this thread holds it already. After taking it:
 * the memory may have grown in another thread, so views are refreshed before
 * any table is read (`refresh`; the block paths pass false and look for
 * growth only where they meet it), and a dead holder's half section is
 * repaired.
 */
export function enterTree(tree: TreeLock, view: LockedView, refresh: boolean): void {
  if (tree.depth++ !== 0) return;
  const lock = tree.lock;
  let tookOver: boolean;
  try {
    tookOver = lock.acquire();
  } catch (err) {
    tree.depth--;
    throw err;
  }
  if (refresh || tookOver) view.space.refresh();
  if (!tookOver || !view.alive) return;
  try {
    repairTree(view, view.path, tree.table);
  } catch (err) {
    tree.depth--;
    lock.release();
    throw err;
  }
}

/** Gives the tree lock back when this is the outermost call of this thread holding it. */
export function leaveTree(tree: TreeLock): void {
  if (--tree.depth === 0) tree.lock.release();
}

/** A view of a tree before any handle on it exists (an attach takes the lock with it). */
export class SpaceTreeView implements LockedView {
  readonly alive = true;
  readonly cw: number;
  private readonly views: SpaceViews;
  constructor(
    readonly space: AddressSpace,
    controlPtr: number,
    readonly path: string,
  ) {
    this.cw = controlPtr >>> 2;
    this.views = SpaceViews.of(space);
  }
  get u8(): Uint8Array {
    return this.views.u8;
  }
  get u16(): Uint16Array {
    return this.views.u16;
  }
  get i32(): Int32Array {
    return this.views.i32;
  }
  get u32(): Uint32Array {
    return this.views.u32;
  }
  get f64(): Float64Array {
    return this.views.f64;
  }
  stackText(): string | undefined {
    return undefined;
  }
  backingOf(): Allocator {
    throw new InvalidArgumentError(`${this.path}: no backing while the tree is being opened.`);
  }
}
