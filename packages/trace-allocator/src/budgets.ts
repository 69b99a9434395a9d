import { BUDGETED, D_BUDGET, D_LIMIT, D_TOTAL_BYTES, HAS_BUDGET, S_BUDGET_FLAGS, WARN } from "./layout.js";
import { budgetWarning, overBudgetError } from "./scope-errors.js";
import { setStateBits } from "./scope-rows.js";
import { isScope, parentOf, pathOf, rowCount, rowF64, rowWord, stateOf, subtreeRows, type TreeView } from "./tree-view.js";
import type { BudgetAction, BudgetWarning } from "./types.js";

/*
 * Budgets: a row's BUDGET (bytes), its action (BUDGET_FLAGS) and LIMIT, the
 * figure the hot path compares with (Infinity when there is no budget, or
 * once a "warn" budget warned). A row's BUDGETED bit says some scope up its
 * chain has a budget, so only those scopes check.
 */

/** A row's budget, or undefined. */
export function budgetOf(view: TreeView, row: number): { bytes: number; onExceed: BudgetAction } | undefined {
  const flags = view.u32[rowWord(view, row) + S_BUDGET_FLAGS]!;
  if ((flags & HAS_BUDGET) === 0) return undefined;
  return { bytes: view.f64[rowF64(view, row) + D_BUDGET]!, onExceed: (flags & WARN) !== 0 ? "warn" : "throw" };
}

/** Sets (or with undefined removes) `row`'s budget and re-marks its subtree. */
export function writeBudget(view: TreeView, row: number, spec: { bytes: number; onExceed: BudgetAction } | undefined): void {
  const o = rowF64(view, row);
  view.u32[rowWord(view, row) + S_BUDGET_FLAGS] = spec === undefined ? 0 : HAS_BUDGET | (spec.onExceed === "warn" ? WARN : 0);
  view.f64[o + D_BUDGET] = spec === undefined ? 0 : spec.bytes;
  view.f64[o + D_LIMIT] = spec === undefined ? Infinity : spec.bytes;
  for (const r of subtreeRows(view, row)) {
    const parent = parentOf(view, r);
    const inherited = parent >= 0 && (stateOf(view, parent) & BUDGETED) !== 0;
    setStateBits(view, r, BUDGETED, inherited || (view.u32[rowWord(view, r) + S_BUDGET_FLAGS]! & HAS_BUDGET) !== 0);
  }
}

/** Re-arms a row's "warn" budget (resetPeak). */
export function rearmBudget(view: TreeView, row: number): void {
  const budget = budgetOf(view, row);
  if (budget !== undefined) view.f64[rowF64(view, row) + D_LIMIT] = budget.bytes;
}

/** True when `bytes` more would pass a LIMIT up the chain of `row` (the hot path's gate). */
export function overAnyLimit(view: TreeView, row: number, bytes: number): boolean {
  const f64 = view.f64;
  const limit = rowCount(view);
  for (let r = row, steps = 0; r >= 0 && steps <= limit; r = parentOf(view, r), steps++) {
    const o = rowF64(view, r);
    if (f64[o + D_TOTAL_BYTES]! + bytes > f64[o + D_LIMIT]!) return true;
  }
  return false;
}

/**
 * Throws for the innermost "throw" budget exceeded; runs the warning hook
 * (once) for "warn" budgets. The hook is user code: it may allocate, free,
 * create or dispose scopes (this one too). The chain is taken before the
 * first hook runs, and a scope the hooks disposed is skipped; the caller
 * looks at its own state again after this returns. `scopeAt(row)` gives the
 * handle the warning names.
 */
export function enforceBudgets(
  view: TreeView,
  who: string,
  row: number,
  bytes: number,
  hook: (warning: BudgetWarning) => void,
  scopeAt: (row: number) => BudgetWarning["allocator"],
): void {
  const over: [row: number, gen: number][] = [];
  const limit = rowCount(view);
  for (let r = row, steps = 0; r >= 0 && steps <= limit; r = parentOf(view, r), steps++) {
    const o = rowF64(view, r);
    const used = view.f64[o + D_TOTAL_BYTES]!;
    if (used + bytes <= view.f64[o + D_LIMIT]!) continue;
    const budget = budgetOf(view, r);
    if (budget === undefined) continue;
    if (budget.onExceed === "throw") throw overBudgetError(who, pathOf(view, r), bytes, used, budget.bytes);
    over.push([r, stateOf(view, r) >>> 8]);
  }
  for (const [r, gen] of over) {
    if (!isScope(view, r, gen)) continue; // disposed by an earlier hook
    const budget = budgetOf(view, r);
    if (budget === undefined) continue; // its budget removed by an earlier hook
    const o = rowF64(view, r);
    const used = view.f64[o + D_TOTAL_BYTES]!;
    if (used + bytes <= view.f64[o + D_LIMIT]!) continue; // warned already (by a nested call), or no longer over
    const warning = budgetWarning(who, scopeAt(r), budget.bytes, used, bytes);
    // Warn once: the hot path stops checking this budget until re-armed.
    view.f64[o + D_LIMIT] = Infinity;
    try {
      hook(warning);
    } catch (err) {
      // A hook that throws turns the warning into an error; nothing changed.
      if (isScope(view, r, gen)) rearmBudget(view, r);
      throw err;
    }
  }
}
