import {
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_PEAK_FRAME,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  OFF,
  OWNER_MASK,
  RETAINED,
  ROW_MASK,
  R_SIZE,
  R_WORD,
  SITE_LABEL,
  T_RETAINED,
  T_SITES,
  T_TALLIES,
  W_FRAME,
} from "./layout.js";
import { findTally, tallyAdd, tallyFor, tallyRemove } from "./labels.js";
import { recordAt, recordCount } from "./records.js";
import { openRetained, siteOfRecord } from "./retained.js";
import { closeRow, isOpen, markDisposed } from "./scope-rows.js";
import { labelTallyOf, orphanSites, pruneOrphans } from "./sites.js";
import { newString, releaseString, retainString } from "./strings.js";
import { entryWord, reserveEntries, tableRoom } from "./tables.js";
import { levelOf, rowF64, subtreeRows, type TreeMemory, type TreeView } from "./tree-view.js";
import { dropUntracked } from "./untracked-counts.js";

/*
 * Disposing a scope: it and every live descendant end; the blocks they still
 * hold (retained ones, or leaks tolerated by disposeAllowingLeaks) are
 * adopted by the parent, flagged retained; a root keeps its own blocks and
 * its row. Room for everything adoption writes (RETAINED entries, label
 * tallies, the reason text) is reserved first, since reserving may run
 * code that changes the tree; the adoption itself calls nothing.
 */

/** What adopting `rows`' blocks into `heir` needs: RETAINED entries and label tallies not there yet. */
function plan(view: TreeView, rows: Set<number>, heir: number): { entries: number; tallies: number } {
  let entries = 0;
  const labels = new Set<number>();
  const n = recordCount(view);
  for (let i = 0; i < n; i++) {
    const word = view.i32[recordAt(view, i) + R_WORD]!;
    const row = word & ROW_MASK;
    if (!rows.has(row)) continue;
    if ((word & RETAINED) === 0) entries++;
    const site = siteOfRecord(view, i);
    if (site === 0 || row === heir) continue;
    const label = view.u32[entryWord(view, T_SITES, site) + SITE_LABEL]!;
    if (label !== 0 && findTally(view, heir, label) === 0) labels.add(label);
  }
  return { entries, tallies: labels.size };
}

/**
 * Disposes the scope at `top` and its live descendants; `heir` (its parent,
 * or `top` itself for a root) adopts their blocks as retained, with `reason`.
 * Returns false when `top` was already gone (closed by code the backing ran).
 */
export function closeScopes(mem: TreeMemory, top: number, heir: number, reason: string | undefined): boolean {
  let reasonOff = 0;
  for (;;) {
    if (!isOpen(mem, top)) return false;
    const need = plan(mem, new Set(subtreeRows(mem, top)), heir);
    reserveEntries(mem, T_RETAINED, need.entries);
    reserveEntries(mem, T_TALLIES, need.tallies);
    if (reason !== undefined && need.entries > 0) reasonOff = newString(mem, reason);
    // Reserving ran the backing: look again, and go on only if nothing it did needs more room.
    const again = isOpen(mem, top) ? plan(mem, new Set(subtreeRows(mem, top)), heir) : undefined;
    const reasonReady = reason === undefined || reasonOff !== 0 || (again?.entries ?? 0) === 0;
    if (again !== undefined && reasonReady && tableRoom(mem, T_RETAINED) >= again.entries && tableRoom(mem, T_TALLIES) >= again.tallies) break;
    releaseString(mem, reasonOff);
    reasonOff = 0;
  }
  const scopes = subtreeRows(mem, top).reverse(); // children before parents
  adopt(mem, new Set(scopes), heir, reasonOff);
  releaseString(mem, reasonOff); // each adopted block holds it now
  for (const row of scopes) {
    orphanSites(mem, row);
    if (row === heir) {
      markDisposed(mem, row);
      continue;
    }
    if (levelOf(mem, row) === OFF) dropUntracked(mem, row);
    closeRow(mem, row);
  }
  pruneOrphans(mem);
  return true;
}

/**
 * Hands every block owned by a row in `rows` to `heir`, flagged retained.
 * `heir` is an ancestor of them all (or one of them, for a root), so subtree
 * totals from `heir` up do not change. Room must be reserved.
 */
function adopt(view: TreeView, rows: Set<number>, heir: number, reason: number): void {
  const f64 = view.f64;
  const to = rowF64(view, heir);
  const frame = view.u32[view.cw + W_FRAME]!;
  const n = recordCount(view);
  for (let i = 0; i < n; i++) {
    const r = recordAt(view, i);
    const word = view.i32[r + R_WORD]!;
    const row = word & ROW_MASK;
    if (!rows.has(row)) continue;
    const size = view.i32[r + R_SIZE]!;
    const site = siteOfRecord(view, i);
    if (site !== 0 && row !== heir) moveLabel(view, site, size, row, heir, frame);
    const wasRetained = (word & RETAINED) !== 0;
    if (!wasRetained) {
      retainString(view, reason);
      openRetained(view, i, row, reason);
    }
    const from = rowF64(view, row);
    f64[from + D_LIVE_BYTES] = f64[from + D_LIVE_BYTES]! - size;
    f64[from + D_LIVE_COUNT]!--;
    if (wasRetained) {
      f64[from + D_RETAINED_BYTES] = f64[from + D_RETAINED_BYTES]! - size;
      f64[from + D_RETAINED_COUNT]!--;
    }
    view.i32[r + R_WORD] = (view.i32[r + R_WORD]! & ~OWNER_MASK) | heir | RETAINED;
    f64[to + D_LIVE_BYTES]! += size;
    f64[to + D_LIVE_COUNT]!++;
    f64[to + D_RETAINED_BYTES]! += size;
    f64[to + D_RETAINED_COUNT]!++;
  }
  if (f64[to + D_LIVE_BYTES]! > f64[to + D_PEAK_BYTES]!) {
    f64[to + D_PEAK_BYTES] = f64[to + D_LIVE_BYTES]!;
    f64[to + D_PEAK_FRAME] = frame;
  }
}

/** A labelled block of `size` at site `site` moves from `fromRow` to `toRow`: its label's bytes move along. */
function moveLabel(view: TreeView, site: number, size: number, fromRow: number, toRow: number, frame: number): void {
  const label = view.u32[entryWord(view, T_SITES, site) + SITE_LABEL]!;
  if (label === 0) return;
  const from = labelTallyOf(view, site, fromRow);
  if (from !== 0) tallyRemove(view, from, size);
  tallyAdd(view, tallyFor(view, toRow, label), size, frame);
}
