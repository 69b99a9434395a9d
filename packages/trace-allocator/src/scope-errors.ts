import {
  CorruptionError,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidPointerError,
  MAX_SIZE,
  OutOfMemoryError,
  describe,
  destroyedError,
  formatBytes,
  formatCount,
  formatSize,
  hex,
  invalidPointer,
  validatePointerShape,
  type Allocator,
  type DestroyedError,
  type Ptr,
} from "@memkit/core";
import { headerDamage, headerError } from "./header-guard.js";
import { laneFreedBy } from "./lane-walks.js";
import { GUARDED, HEADER_BYTES, ROW_MASK, R_SIZE, R_WORD, W_RING, W_RING_SLOTS } from "./layout.js";
import { headerOf, recordAt, recordCount, searchRecord } from "./records.js";
import { isLiveRow, pathOf, type TreeView } from "./tree-view.js";
import type { TraceAllocator } from "./trace-allocator.js";
import type { BudgetWarning } from "./types.js";

/*
 * The errors a scope throws, built on the cold path. `who` is the scope's
 * path; each message names the pointer in hex, the size asked for and what
 * to do.
 */

/** A label argument that is not 0 or a label id of the tree. */
export function badLabelError(who: string, op: string, label: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    `${who}.${op}: label ${describe(label)} is not a label id of this scope tree.\n` +
      `  Pass 0 for none, or an id from labelId(text) of a scope of the same tree (ids of another tree mean other labels).`,
  );
}

/** Use of a disposed scope, or of any scope of a destroyed tree. */
export function disposedError(who: string, op: string, destroyed: boolean): DestroyedError {
  return destroyed
    ? destroyedError(`${who}.${op}`, "the scope tree was destroyed (root.destroy())", "build a new tree (new TraceAllocator(backing)) for new work")
    : destroyedError(
        `${who}.${op}`,
        "this scope was disposed",
        "create a new scope (parent.child(name)) for new allocations; blocks it kept can still be freed through it",
      );
}

/** The backing failed an allocation of `size + h` bytes asked for a block of `size`: name the user's size too. */
export function backingFailed(who: string, err: unknown, size: number, align: number, h: number): unknown {
  if (!(err instanceof OutOfMemoryError)) return err;
  const header = h === 0 ? "" : ` (${formatSize(size + h)} with the ${h}-byte trace header)`;
  return new OutOfMemoryError(`${who}: cannot allocate ${formatSize(size)}${header}, align ${align}: ${err.message}`, { cause: err });
}

/** A "throw" budget of scope `owner` refuses `bytes` more (its subtree holds `used` of `budget`). */
export function overBudgetError(who: string, owner: string, bytes: number, used: number, budget: number): OutOfMemoryError {
  return new OutOfMemoryError(
    `${who}: allocating ${formatSize(bytes)} would exceed the budget of scope ${owner}: ` +
      `${formatBytes(used)} of its ${formatBytes(budget)} budget in use (subtree), ${formatBytes(used + bytes - budget)} over.\n` +
      `  Free memory under ${owner}, raise its budget (setBudget), or set budget: { bytes, onExceed: "warn" } to only warn.`,
  );
}

/** What the `onBudgetWarning` hook receives when `bytes` more take `scope` past its "warn" budget. */
export function budgetWarning(who: string, scope: TraceAllocator, budget: number, used: number, bytes: number): BudgetWarning {
  return {
    scope: scope.path,
    allocator: scope,
    budgetBytes: budget,
    liveBytes: used + bytes,
    requestedBytes: bytes,
    message:
      `${who}: allocating ${formatSize(bytes)} takes scope ${scope.path} over its ${formatBytes(budget)} budget ` +
      `(${formatBytes(used + bytes)} in use). Warned once; resetPeak() or setBudget() re-arms the warning.`,
  };
}

export function tooLargeError(who: string, size: number, align: number, h: number): OutOfMemoryError {
  return new OutOfMemoryError(
    `${who}: cannot allocate ${formatSize(size)} (align ${align}): with the ${h}-byte trace header it exceeds the largest size any allocator accepts (${formatCount(MAX_SIZE)} B).`,
  );
}

export function handedOutTwiceError(who: string, backing: Allocator, ptr: Ptr, h: number): CorruptionError {
  return new CorruptionError(
    `${who}: the backing allocator ${backing.name} returned the block at ${hex(ptr - h)}, which holds the live block ${hex(ptr)} of this tree.\n` +
      `  It handed the same memory out twice; run its check().`,
  );
}

export function crossScopeError(view: TreeView, who: string, ptr: Ptr, i: number, op: string): InvalidPointerError {
  const r = recordAt(view, i);
  const owner = scopeName(view, view.i32[r + R_WORD]! & ROW_MASK);
  const size = view.i32[r + R_SIZE]!;
  return new InvalidPointerError(
    `${who}: ${op}(${hex(ptr)}) refused: that block (${formatCount(size)} B) belongs to scope ${owner}, not ${who}.\n` +
      `  Free and resize a block through the scope that allocated it; across scopes both scopes' counts would go wrong.`,
  );
}

/**
 * The error for a pointer the records do not find: bad shape, overwritten
 * header (a live block whose index word changed), freed, interior, or
 * foreign. O(live blocks + freed history).
 */
export function notLiveError(view: TreeView, who: string, backing: Allocator, ptr: Ptr, op: string): InvalidPointerError | DoubleFreeError | CorruptionError {
  validatePointerShape(who, ptr);
  if (ptr === 0) return invalidPointer(who, ptr, "null is never a live block");
  const known = searchRecord(view, ptr);
  if (known >= 0) {
    const r = recordAt(view, known);
    const word = view.i32[r + R_WORD]!;
    if ((word & GUARDED) !== 0) {
      const offset = headerDamage(view.u8, ptr, headerOf(word), known);
      if (offset !== 0) return headerError(view, `${who}.${op}`, known, offset);
    }
    return new CorruptionError(
      `${who}: ${op}(${hex(ptr)}): the 8-byte header in front of this live block (${formatCount(view.i32[r + R_SIZE]!)} B, ` +
        `scope ${scopeName(view, word & ROW_MASK)}) was overwritten: something wrote before the block's start, ` +
        `or past the end of the block below it.\n  Wrap the scope in a debug allocator (canaries) to find the writer.`,
    );
  }
  const by = recentlyFreedBy(view, ptr);
  if (by >= 0) {
    const where = isLiveRow(view, by) ? pathOf(view, by) : "a scope since disposed";
    const reused = safeOwns(backing, ptr - HEADER_BYTES) ? "; its memory has since been handed out again" : "";
    if (op === "deallocate") {
      return new DoubleFreeError(`${who}: double free of ${hex(ptr)}: it was already freed (through ${where}) and has not been allocated again${reused}.`);
    }
    return new InvalidPointerError(`${who}: ${op}(${hex(ptr)}): that block was freed (through ${where}); it is no longer live${reused}.`);
  }
  const count = recordCount(view);
  for (let i = 0; i < count; i++) {
    const r = recordAt(view, i);
    const base = view.i32[r]!;
    const size = view.i32[r + R_SIZE]!;
    if (ptr > base && ptr < base + size) {
      return new InvalidPointerError(
        `${who}: ${op}(${hex(ptr)}): that points +${ptr - base} into the live block ${hex(base)} (${formatCount(size)} B, scope ${scopeName(view, view.i32[r + R_WORD]! & ROW_MASK)}).\n` +
          `  Pass the pointer allocate returned.`,
      );
    }
  }
  return invalidPointer(
    who,
    ptr,
    safeOwns(backing, ptr) ? `it is a live block of ${backing.name} that was not allocated through this scope tree` : "it is not a live block of this scope tree",
  );
}

/** Where `ptr` was freed recently: the row that freed it, or -1 when the ring does not hold it. */
function recentlyFreedBy(view: TreeView, ptr: number): number {
  const ring = view.cw + W_RING;
  const words = view.u32[view.cw + W_RING_SLOTS]! * 2;
  for (let k = 0; k < words; k += 2) if (view.i32[ring + k] === ptr && ptr !== 0) return view.i32[ring + k + 1]!;
  return laneFreedBy(view, ptr);
}

/** The path of a live row, "?" for one that is not. */
function scopeName(view: TreeView, row: number): string {
  return isLiveRow(view, row) ? pathOf(view, row) : "?";
}

function safeOwns(allocator: Allocator, ptr: Ptr): boolean {
  try {
    return allocator.owns(ptr);
  } catch {
    return false;
  }
}
