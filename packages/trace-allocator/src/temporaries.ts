import type { ScopeReport } from "./types.js";

/*
 * Temporary allocations: blocks freed in the frame they were allocated in.
 * Every free compares the frame in the block's header with the tree's frame
 * (markFrame), so the count is exact. Such blocks are what the frame
 * allocator (or the scratch stack) serves without a free and without the
 * scope's bookkeeping: a scope that frees many of them every frame is one to
 * move there.
 */

/** A scope's temporary allocations, from a report. */
export interface ScopeTemporaries {
  path: string;
  /** Blocks freed in the frame they were allocated in. */
  count: number;
  bytes: number;
  /** Their share of the scope's frees (0..1). */
  shareOfFrees: number;
}

/** Every scope of `report`'s tree with temporary allocations, most first (ties by path). */
export function rankTemporaries(report: ScopeReport): ScopeTemporaries[] {
  const out: ScopeTemporaries[] = [];
  const visit = (s: ScopeReport): void => {
    if (s.tempFreeCount > 0) out.push({ path: s.path, count: s.tempFreeCount, bytes: s.tempFreeBytes, shareOfFrees: s.freeCount === 0 ? 0 : s.tempFreeCount / s.freeCount });
    for (const c of s.children) visit(c);
  };
  visit(report);
  return out.sort((a, b) => b.count - a.count || a.path.localeCompare(b.path));
}
