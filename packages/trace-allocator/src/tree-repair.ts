import { CorruptionError, hex, type ThreadTable } from "@memkit/core";
import { addUntracked, recount, subtreeSums } from "./check.js";
import { writeHeaderGuard } from "./header-guard.js";
import { foldCounters } from "./lane-fold.js";
import { addLaneEntries } from "./lane-walks.js";
import {
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_COUNT,
  D_TOTAL_PEAK,
  ENTRY_TAG,
  GUARDED,
  HEADER_BYTES,
  MAX_LABELS,
  R_WORD,
  SITE_D_LIVE_BYTES,
  SITE_D_LIVE_COUNT,
  TAG_LIVE,
  TALLY_D_LIVE_BYTES,
  TALLY_D_LIVE_COUNT,
  TALLY_D_PEAK_BYTES,
  TALLY_LABEL,
  TALLY_ROW,
  TW_USED,
  T_SITES,
  T_TALLIES,
  W_REC_CAP,
  W_REC_COUNT,
  tableWord,
} from "./layout.js";
import { headerOf, recordAt } from "./records.js";
import { entryF64, entryWord } from "./tables.js";
import { isLiveRow, rowCount, rowF64, type TreeView } from "./tree-view.js";

/*
 * Repair after a thread died holding the tree lock (tree-lock.ts). The lock
 * undoes only the words its holder logged, and the tree's writes are not
 * logged, so the dead thread's section may be half done. What each hot
 * section writes, in order, bounds what it can leave:
 *
 *   allocate (the backing block is taken before the lock)
 *     record at n, then the record count, then the block's header, then
 *     counters, site and label tally, peaks          -> a leaked backing block
 *                                                       (no record yet), a stale
 *                                                       header, or stale counts
 *   free (the backing block is given back after the lock)
 *     the last record copied into the hole, its header, then the record count;
 *     site, tally, counters, the recent-free ring     -> the moved record twice,
 *                                                       a stale header, stale counts
 *
 * So the records are the truth: a duplicate record goes, every live block's
 * header is rewritten from its record, and every counter, site sum and label
 * tally is rewritten from a recount of the records (check.ts's). Peaks are
 * raised to the live figures where they fell below them. A death in a cold
 * path (creating or disposing a scope, growing a table, interning a label or
 * a string, a retained entry) can leave a free list or a table descriptor
 * half written: that is not repaired, and check() reports it.
 */

/** Rewrites what a dead lock holder may have left half written (see above). Throws CorruptionError when the records themselves are damaged. */
export function repairTree(view: TreeView, who: string, table: ThreadTable | undefined): void {
  dropDuplicateRecords(view, who);
  rewriteHeaders(view);
  // Fold the lanes in (repairing first the lane of a thread that stopped, which may be this dead
  // holder's: it can die in a lane call made under the lock), then count their blocks too.
  foldCounters(view, table);
  const { live, siteSums, labelSums } = recount(view, who);
  addLaneEntries(view, live);
  addUntracked(view, live);
  const totals = subtreeSums(view, live);
  const f64 = view.f64;
  for (let row = 0, rows = rowCount(view); row < rows; row++) {
    if (!isLiveRow(view, row)) continue;
    const o = rowF64(view, row);
    f64[o + D_LIVE_BYTES] = live[row * 4]!;
    f64[o + D_LIVE_COUNT] = live[row * 4 + 1]!;
    f64[o + D_RETAINED_BYTES] = live[row * 4 + 2]!;
    f64[o + D_RETAINED_COUNT] = live[row * 4 + 3]!;
    f64[o + D_TOTAL_BYTES] = totals[row * 2]!;
    f64[o + D_TOTAL_COUNT] = totals[row * 2 + 1]!;
    if (!(f64[o + D_PEAK_BYTES]! >= live[row * 4]!)) f64[o + D_PEAK_BYTES] = live[row * 4]!;
    if (!(f64[o + D_TOTAL_PEAK]! >= totals[row * 2]!)) f64[o + D_TOTAL_PEAK] = totals[row * 2]!;
  }
  const u32 = view.u32;
  for (let id = 1, used = u32[view.cw + tableWord(T_SITES, TW_USED)]!; id < used; id++) {
    if ((u32[entryWord(view, T_SITES, id) + ENTRY_TAG]! & TAG_LIVE) === 0) continue;
    const [bytes, count] = siteSums.get(id) ?? [0, 0];
    const o = entryF64(view, T_SITES, id);
    f64[o + SITE_D_LIVE_BYTES] = bytes;
    f64[o + SITE_D_LIVE_COUNT] = count;
  }
  for (let id = 1, used = u32[view.cw + tableWord(T_TALLIES, TW_USED)]!; id < used; id++) {
    const w = entryWord(view, T_TALLIES, id);
    if ((u32[w]! & TAG_LIVE) === 0) continue;
    const [bytes, count] = labelSums.get(u32[w + TALLY_ROW]! * MAX_LABELS + u32[w + TALLY_LABEL]!) ?? [0, 0];
    const o = entryF64(view, T_TALLIES, id);
    f64[o + TALLY_D_LIVE_BYTES] = bytes;
    f64[o + TALLY_D_LIVE_COUNT] = count;
    if (!(f64[o + TALLY_D_PEAK_BYTES]! >= bytes)) f64[o + TALLY_D_PEAK_BYTES] = bytes;
  }
}

/** A free that died between copying the last record into the hole and shortening the table leaves that record twice: the later copy goes. */
function dropDuplicateRecords(view: TreeView, who: string): void {
  const i32 = view.i32;
  const cw = view.cw;
  let n = i32[cw + W_REC_COUNT]!;
  if (n >>> 0 > view.u32[cw + W_REC_CAP]!) throw new CorruptionError(`${who}: the records table counts ${n >>> 0} records, more than its ${view.u32[cw + W_REC_CAP]} entries`);
  const seen = new Set<number>();
  for (let i = 0; i < n; ) {
    const r = recordAt(view, i);
    const ptr = i32[r]!;
    if (!seen.has(ptr)) {
      seen.add(ptr);
      i++;
      continue;
    }
    // Swap-remove this copy (the block's other record stays).
    const l = recordAt(view, --n);
    if (l !== r) for (let k = 0; k < 4; k++) i32[r + k] = i32[l + k]!;
    i32[cw + W_REC_COUNT] = n;
  }
}

/** Every live block's header names its record again (a dead free or allocate may have left one stale). */
function rewriteHeaders(view: TreeView): void {
  const i32 = view.i32;
  for (let i = 0, n = i32[view.cw + W_REC_COUNT]!; i < n; i++) {
    const r = recordAt(view, i);
    const ptr = i32[r]!;
    if ((ptr & 7) !== 0 || ptr < HEADER_BYTES || ptr >= view.u8.length) {
      throw new CorruptionError(`tree repair: record ${i} names the block ${hex(ptr)}, which cannot be one`);
    }
    i32[(ptr - HEADER_BYTES) >> 2] = i;
    const word = i32[r + R_WORD]!;
    if ((word & GUARDED) !== 0) writeHeaderGuard(view, ptr, headerOf(word));
  }
}
