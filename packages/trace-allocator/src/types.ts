import type { Allocator, LeakedBlock, LeakReport, SharedLock } from "@memkit/core";
import type { TraceAllocator } from "./trace-allocator.js";

/**
 * How much a scope records, chosen at run time:
 * - `"off"`: no per-block records: every call forwards to the backing allocator, and the scope
 *   counts the backing's usable sizes (`stats()` and reports stay true; no budgets, owner queries
 *   or leak check).
 * - `"counts"`: bytes, blocks, peaks, budgets, owner queries and the leak check. No JS objects per call.
 * - `"callstacks"`: as `"counts"`, plus the call stack of each (sampled) allocation, interned.
 */
export type TracingLevel = "off" | "counts" | "callstacks";

/** What happens when an allocation would take a scope's subtree past its budget. */
export type BudgetAction = "throw" | "warn";

/** A byte budget for a scope's whole subtree. */
export interface BudgetOptions {
  /** Most bytes (sizes asked for) the scope and its descendants may hold at once. */
  bytes: number;
  /**
   * `"throw"`: the allocation fails with OutOfMemoryError naming the scope, its budget and its use.
   * `"warn"`: the allocation succeeds and the tree's `onBudgetWarning` hook runs once
   * (re-armed by `resetPeak()` or `setBudget()`).
   * @defaultValue "throw"
   */
  onExceed?: BudgetAction;
}

/** Options of a child scope ({@link TraceAllocator.child}). */
export interface TraceScopeOptions {
  /** A byte budget for this scope's subtree: a byte count (throws when exceeded) or {@link BudgetOptions}. */
  budget?: number | BudgetOptions;
  /** Tracing level. @defaultValue the parent's level */
  tracing?: TracingLevel;
  /** With `"callstacks"`: capture the stack of one allocation in N (the others count under the scope only). @defaultValue the parent's, 1 at the root */
  sampleEvery?: number;
  /** Allocate from this allocator instead of the parent's backing (it must share the parent's address space). */
  backing?: Allocator;
}

/** Options of a root scope (`new TraceAllocator(backing, options)`); they hold for the whole tree. */
export interface TraceAllocatorOptions extends Omit<TraceScopeOptions, "backing"> {
  /** Name of the root scope. @defaultValue "root" */
  name?: string;
  /** Called when a `onExceed: "warn"` budget is first exceeded. @defaultValue console.warn of the message */
  onBudgetWarning?: (warning: BudgetWarning) => void;
  /** Frames kept per captured call stack (after memkit's own frames are stripped). @defaultValue 12 */
  stackDepth?: number;
  /**
   * Frames matching this are memkit's own and are stripped from the top of captured stacks,
   * so the first frame is the caller. @defaultValue {@link MEMKIT_FRAME_PATTERN}
   */
  internalFrames?: RegExp;
  /** Live-block records to make room for up front (the arrays double as needed). @defaultValue 1024 */
  initialCapacity?: number;
  /** Recent frees remembered to tell a double free from a foreign pointer. @defaultValue 4096 */
  freedHistory?: number;
  /**
   * Give every block a 16-byte header whose every byte is known (larger for alignments above 16),
   * verified on the block's deallocate and reallocate and by `check()`: a write just before a
   * block (an underrun into its header) is a CorruptionError naming the block, the offset, the
   * scope and the allocation's stack. Meant for trees over debug allocators, whose canaries then
   * guard everything else (`MemoryGlobals.init({ debug: true })` sets it). Off the fast path.
   * @defaultValue false
   */
  guardHeaders?: boolean;
  /**
   * The tree lock, for a tree shared by threads (README "Threads"): every operation on the tree
   * through this handle, and every scope handle reached from it, holds it. Each thread passes its
   * own handle on the one lock (`new SharedLock(space, ptr, capacity, { thread: seat })`), and
   * the same object to every handle it opens on the tree. With a seat, each thread's allocations
   * and frees are counted in its ThreadTable figures. @defaultValue none: a single-thread tree
   */
  lock?: SharedLock;
  /**
   * Let every thread lease the tree's tables from its own backing: an attach then accepts any
   * allocator of the space as `backing` (each thread its own). All such backings must be able to
   * free and size each other's blocks (generic allocators sharing one routes table).
   * @defaultValue false: the tree names its one backing and an attach must pass that one
   */
  sharedBacking?: boolean;
  /**
   * On a tree shared by threads, with a seat on the lock: the ThreadTable slot of the thread whose
   * heap holds the backing block at `ptr` (-1: unknown), so a block freed by another thread counts
   * in the figures of the thread it came from (MemoryGlobals passes one). @defaultValue the
   * freeing thread counts the free
   */
  threadOf?: (ptr: number) => number;
}

/**
 * Options of {@link TraceAllocator.attach}: what a second handle on an existing tree needs
 * from the JS side (the tree's state is in memory; functions and allocator objects are not).
 */
export interface TraceAttachOptions {
  /**
   * The tree's backing allocator (a handle on it in this thread). Without it, the handle this
   * thread holds on the allocator the tree recorded (`SpaceHandle.lookup`) is used.
   */
  backing?: Allocator;
  /** This handle's budget-warning hook. @defaultValue console.warn of the message */
  onBudgetWarning?: (warning: BudgetWarning) => void;
  /** Frames stripped from stacks this handle captures. @defaultValue {@link MEMKIT_FRAME_PATTERN} */
  internalFrames?: RegExp;
  /** This thread's handle on the tree lock: required by a tree created with `lock`, refused by any other. */
  lock?: SharedLock;
  /**
   * On a tree shared by threads, with a seat on the lock: the ThreadTable slot of the thread whose
   * heap holds the backing block at `ptr` (-1: unknown), so a block freed by another thread counts
   * in the figures of the thread it came from (MemoryGlobals passes one). @defaultValue the
   * freeing thread counts the free
   */
  threadOf?: (ptr: number) => number;
}

/** Options of {@link TraceAllocator.openScope}. */
export interface OpenScopeOptions {
  /** The scope's own backing, when it was created with one (`child(name, { backing })`). */
  backing?: Allocator;
}

/** What the `onBudgetWarning` hook receives. */
export interface BudgetWarning {
  /** Path of the scope whose budget was exceeded. */
  scope: string;
  /** The scope itself. */
  allocator: TraceAllocator;
  /** Its budget in bytes. */
  budgetBytes: number;
  /** Bytes its subtree holds after the allocation that crossed the budget. */
  liveBytes: number;
  /** Bytes that allocation asked for (the growth, for a reallocate). */
  requestedBytes: number;
  /** A printable message saying all of the above. */
  message: string;
}

/** A live block as leak reports list it: core's LeakedBlock plus the frame it was allocated in and its label. */
export interface TracedBlock extends LeakedBlock {
  /** The tree's frame number (see `markFrame`) when the block was allocated. */
  frame: number;
  /** The block's label (a container's name, see `labelId`), when it has one. */
  label?: string;
}

/** A block kept alive on purpose ({@link TraceAllocator.retain} or `disposeAllowingLeaks`): listed apart, never a leak. */
export interface RetainedBlock extends TracedBlock {
  /** Path of the scope that allocated it (it may since have been disposed and the block adopted by an ancestor). */
  origin: string;
  /** Why it is kept, as given to `retain` (or "allowed leak" for `disposeAllowingLeaks`). */
  reason?: string;
}

/** The structured content of a trace scope's {@link LeakError}: core's LeakReport plus what was kept on purpose. */
export interface TraceLeakReport extends LeakReport {
  /** Path of the scope whose teardown found the leaks. */
  scope: string;
  /** Every leaked block (stacks included when captured), by scope then address. */
  blocks: TracedBlock[];
  /** Child scopes (any depth) that were still live (not disposed). */
  liveScopes: string[];
  /** Blocks kept on purpose in the subtree: not counted in `count`/`bytes`. */
  retained: RetainedBlock[];
  /**
   * Scopes at tracing `"off"` that still hold blocks: they keep counts, not a
   * block list, so only the number and bytes (usable sizes) are known. Counted
   * in `count`/`bytes`.
   */
  untracked: UntrackedLeak[];
}

/** What a tracing-`"off"` scope still held at teardown: counts only. */
export interface UntrackedLeak {
  scope: string;
  count: number;
  /** Usable sizes from the backing allocator (an "off" scope never knew the sizes asked). */
  bytes: number;
}

/** One scope in {@link TraceAllocator.report}: plain JSON, safe to serialise, store and diff. */
export interface ScopeReport {
  name: string;
  /** `root/physics/broadphase`. */
  path: string;
  tracing: TracingLevel;
  /** Bytes (sizes asked for) of this scope's own live blocks; at `"off"`, the backing's usable sizes (no records to hold the sizes asked). */
  liveBytes: number;
  /** This scope's own live blocks. */
  liveCount: number;
  /** Highest `liveBytes` since creation or the last `resetPeak()`. */
  peakLiveBytes: number;
  /** Frame (see `markFrame`) in which `peakLiveBytes` was reached. */
  peakFrame: number;
  /** Successful `allocate` calls, ever. */
  allocCount: number;
  /** Successful `deallocate` calls, ever. */
  freeCount: number;
  /** Successful `reallocate` calls on live blocks, ever. */
  reallocCount: number;
  /** Bytes asked for by every `allocate` and `reallocate`, ever (the churn). */
  allocatedBytes: number;
  /**
   * Blocks freed in the frame (see `markFrame`) they were allocated in, ever,
   * and their bytes: temporary allocations, which the frame allocator or the
   * scratch stack would serve without a free ({@link rankTemporaries}).
   */
  tempFreeCount: number;
  tempFreeBytes: number;
  /** Usable bytes of the own live blocks as the backing allocator rounds them. */
  reservedBytes: number;
  /** Own live blocks kept on purpose (included in `liveBytes`, never leaks). */
  retainedBytes: number;
  retainedCount: number;
  /** Bytes live in this scope and all its descendants. */
  totalLiveBytes: number;
  totalLiveCount: number;
  /** Highest `totalLiveBytes` since creation or the last `resetPeak()`. */
  totalPeakLiveBytes: number;
  /** Frame in which `totalPeakLiveBytes` was reached. */
  totalPeakFrame: number;
  /** The subtree budget, when one is set. */
  budgetBytes?: number;
  budgetAction?: BudgetAction;
  /** Label of the current stage (given to `resetPeak(stage)`), when one was given. */
  stage?: string;
  /** The tree's current frame, on the scope `report()` was called on. */
  frame?: number;
  /**
   * This scope's own blocks by label (containers label their blocks with
   * their name; see `labelId`), largest first: labels with live blocks or a
   * peak since the last `resetPeak()`. Absent when there are none. Blocks
   * without a label are the rest of `liveBytes`.
   */
  labels?: LabelReport[];
  children: ScopeReport[];
}

/** One label's share of a scope's own blocks, in {@link ScopeReport.labels}. */
export interface LabelReport {
  /** The label's text (`HashMap<u32, u32> "entities"`). */
  label: string;
  /** Bytes (sizes asked for) of the scope's live blocks with this label. */
  liveBytes: number;
  /** The scope's live blocks with this label. */
  liveCount: number;
  /** Highest `liveBytes` of this label in this scope since its creation or the last `resetPeak()`. */
  peakLiveBytes: number;
  /** Frame (see `markFrame`) in which `peakLiveBytes` was reached. */
  peakFrame: number;
}

/** Which blocks {@link TraceAllocator.foldedStacks} folds. */
export type FoldedSelection = "live" | "peak" | "allocated";

/** Options of {@link TraceAllocator.foldedStacks}. */
export interface FoldedStacksOptions {
  /** Sum bytes (sizes asked for) or count blocks. @defaultValue "bytes" */
  metric?: "bytes" | "count";
  /** Shorthand: `true` is `which: "live"`, `false` is `which: "allocated"`. */
  live?: boolean;
  /**
   * `"live"`: blocks live now. `"peak"`: blocks live when this scope's subtree reached its peak
   * (needs `"callstacks"`). `"allocated"`: every allocation since the scopes were created.
   * @defaultValue "live"
   */
  which?: FoldedSelection;
}
