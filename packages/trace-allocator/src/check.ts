import { CorruptionError, hex } from "@memkit/core";
import { checkGuards } from "./header-guard.js";
import { addLaneEntries } from "./lane-walks.js";
import { labelCount, talliesOf } from "./labels.js";
import {
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_COUNT,
  D_TOTAL_PEAK,
  ENTRY_BYTES,
  ENTRY_NEXT,
  ENTRY_TAG,
  FIRST_ID,
  FLAG_GUARDED,
  GUARDED,
  HEADER_CODE_MASK,
  HEADER_SHIFT,
  LABEL_TEXT,
  MAX_LABELS,
  OFF,
  OWNER_MASK,
  RETAINED,
  RET_BACKING,
  RET_ORIGIN_PATH,
  RET_ORIGIN_ROW,
  RET_REASON,
  RET_SITE,
  ROW_MASK,
  R_SITE,
  R_SIZE,
  R_WORD,
  SITE_DEPTH,
  SITE_LABEL,
  SITE_PATH,
  SITE_TALLY,
  S_PATH,
  S_STAGE,
  TABLE_COUNT,
  TABLE_SKEW,
  TABLE_NAMES,
  TAG_LIVE,
  TAG_ORPHAN,
  TALLY_LABEL,
  TALLY_ROW,
  TW_CAP,
  TW_FREE,
  TW_LIVE,
  TW_PTR,
  TW_USED,
  T_BACKINGS,
  T_CHAINS,
  T_LABELS,
  T_RECORDS,
  T_RETAINED,
  T_ROWS,
  T_SITES,
  T_STRINGS,
  T_TALLIES,
  W_FLAGS,
  tableWord,
} from "./layout.js";
import { checkRecords, headerOf, recordAt, recordCount } from "./records.js";
import { chainEntries, siteInfo } from "./sites.js";
import { stringBytes } from "./strings.js";
import { entryWord, isLiveEntry, liveBit } from "./tables.js";
import { verifyTree } from "./tree-control.js";
import { isLiveRow, levelOf, parentOf, pathOf, rowCount, rowF64, type TreeMemory, type TreeView } from "./tree-view.js";

/**
 * Verifies a whole tree: what an attach checks (control words, tables, rows),
 * every free list, every string and its holders, every record (its header,
 * its word, its site or retained entry, that it overlaps none of the tree's
 * own blocks), every guarded header, and every counter, site sum and label
 * tally against a recount from the records. An "off" scope keeps no records,
 * so its own live counts (the backing's usable sizes) are taken as they are
 * and only rolled up. Every walk is bounded. Throws CorruptionError.
 * O(live blocks + scopes + sites + strings).
 */
export function checkTree(mem: TreeMemory, who: string): void {
  verifyTree(mem, mem.u32[mem.cw + 2]!, who);
  for (let t = 0; t < TABLE_COUNT; t++) if (t !== T_RECORDS && t !== T_STRINGS) checkFreeList(mem, t, who);
  checkStrings(mem, who);
  if ((mem.u32[mem.cw + W_FLAGS]! & FLAG_GUARDED) !== 0) checkGuards(mem, who);
  checkRecords(mem, who);
  checkOverlaps(mem, who);
  const { live, siteSums, labelSums } = recount(mem, who);
  addLaneEntries(mem, live);
  checkCounters(mem, who, live);
  checkSites(mem, who, siteSums);
  checkLabels(mem, who, labelSums);
}

function corrupt(who: string, what: string): CorruptionError {
  return new CorruptionError(`${who}: ${what}.`);
}

/** A free list: bounded, through free entries only, and as long as the table's counts say. */
function checkFreeList(view: TreeView, t: number, who: string): void {
  const u32 = view.u32;
  const used = u32[view.cw + tableWord(t, TW_USED)]!;
  const first = FIRST_ID[t]!;
  let liveEntries = 0;
  for (let id = first; id < used; id++) if ((u32[entryWord(view, t, id)]! & liveBit(t)) !== 0) liveEntries++;
  if (t === T_LABELS || t === T_BACKINGS) {
    if (liveEntries !== used - first && t === T_BACKINGS) throw corrupt(who, `the backings table holds a free entry`);
    return;
  }
  if (liveEntries !== u32[view.cw + tableWord(t, TW_LIVE)]) throw corrupt(who, `the ${TABLE_NAMES[t]} table counts ${u32[view.cw + tableWord(t, TW_LIVE)]} live entries, ${liveEntries} are`);
  let free = 0;
  for (let link = u32[view.cw + tableWord(t, TW_FREE)]!; link !== 0; free++) {
    const id = link - 1;
    if (free > used || id < first || id >= used || (u32[entryWord(view, t, id)]! & liveBit(t)) !== 0) throw corrupt(who, `the free list of the ${TABLE_NAMES[t]} table is damaged at entry ${id}`);
    link = u32[entryWord(view, t, id) + ENTRY_NEXT]!;
  }
  if (free + liveEntries !== used - first) throw corrupt(who, `the ${TABLE_NAMES[t]} table has ${free} free and ${liveEntries} live of ${used - first} entries`);
}

/** Every string is well formed, every holder names one, and each string's count is its holders. */
function checkStrings(view: TreeView, who: string): void {
  const u32 = view.u32;
  const ptr = u32[view.cw + tableWord(T_STRINGS, TW_PTR)]!;
  const used = u32[view.cw + tableWord(T_STRINGS, TW_USED)]!;
  const refs = new Map<number, number>();
  let dead = 0;
  let count = 0;
  for (let off = FIRST_ID[T_STRINGS]!; off < used; ) {
    const size = stringBytes(u32[((ptr + off) >>> 2) + 1]!);
    if (off + size > used) throw corrupt(who, `the string at offset ${off} runs past the string table`);
    const n = u32[(ptr + off) >>> 2]!;
    refs.set(off, n);
    if (n === 0) dead += size;
    else count++;
    off += size;
  }
  if (dead !== u32[view.cw + tableWord(T_STRINGS, TW_FREE)] || count !== u32[view.cw + tableWord(T_STRINGS, TW_LIVE)]) {
    throw corrupt(who, `the string table counts ${u32[view.cw + tableWord(T_STRINGS, TW_LIVE)]} strings and ${u32[view.cw + tableWord(T_STRINGS, TW_FREE)]} dead bytes; it holds ${count} and ${dead}`);
  }
  const holders = new Map<number, number>();
  const hold = (off: number, what: string, required: boolean): void => {
    if (off === 0 && !required) return;
    if (!refs.has(off) || refs.get(off) === 0) throw corrupt(who, `${what} names offset ${off}, which holds no string`);
    holders.set(off, (holders.get(off) ?? 0) + 1);
  };
  const fields: [number, number[], boolean][] = [
    [T_ROWS, [S_PATH, S_STAGE], true],
    [T_SITES, [SITE_PATH], true],
    [T_RETAINED, [RET_ORIGIN_PATH, RET_REASON], true],
  ];
  for (const [t, words] of fields) {
    const n = u32[view.cw + tableWord(t, TW_USED)]!;
    for (let id = FIRST_ID[t]!; id < n; id++) {
      const w = entryWord(view, t, id);
      if ((u32[w]! & liveBit(t)) === 0) continue;
      words.forEach((f, k) => hold(u32[w + f]!, `${TABLE_NAMES[t]} entry ${id}`, k === 0));
    }
  }
  for (let id = 1; id <= labelCount(view); id++) hold(u32[entryWord(view, T_LABELS, id) + LABEL_TEXT]!, `label ${id}`, true);
  for (const [off, n] of refs) {
    if (n !== (holders.get(off) ?? 0)) throw corrupt(who, `the string at offset ${off} counts ${n} holders; ${holders.get(off) ?? 0} name it`);
  }
}

/** No record's backing block overlaps the control block or a table. */
function checkOverlaps(view: TreeView, who: string): void {
  const u32 = view.u32;
  const spans: [number, number, string][] = [[view.cw << 2, (view.cw << 2) + u32[view.cw + 2]!, "the control block"]];
  for (let t = 0; t < TABLE_COUNT; t++) {
    const at = u32[view.cw + tableWord(t, TW_PTR)]!;
    if (at !== 0) spans.push([at - TABLE_SKEW[t]!, at + u32[view.cw + tableWord(t, TW_CAP)]! * ENTRY_BYTES[t]!, `the ${TABLE_NAMES[t]} table`]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const n = recordCount(view);
  for (let i = 0; i < n; i++) {
    const r = recordAt(view, i);
    const ptr = view.i32[r]!;
    const lo = ptr - headerOf(view.i32[r + R_WORD]!);
    const hi = ptr + view.i32[r + R_SIZE]!;
    for (const [a, b, what] of spans) {
      if (a >= hi) break;
      if (lo < b) throw corrupt(who, `the live block ${hex(ptr)} overlaps ${what} of the tree`);
    }
  }
}

export interface Recount {
  /** Per row: bytes, count, retained bytes, retained count. */
  live: Float64Array;
  siteSums: Map<number, [number, number]>;
  /** (row * MAX_LABELS + label) -> [bytes, blocks]. */
  labelSums: Map<number, [number, number]>;
}

/** One pass over the records: each word and site is valid; sums per row, site and (row, label). Throws CorruptionError. */
export function recount(view: TreeView, who: string): Recount {
  const rows = rowCount(view);
  const live = new Float64Array(rows * 4);
  const siteSums = new Map<number, [number, number]>();
  const labelSums = new Map<number, [number, number]>();
  const retainedSeen = new Set<number>();
  const n = recordCount(view);
  for (let i = 0; i < n; i++) {
    const r = recordAt(view, i);
    const ptr = view.i32[r]!;
    const word = view.i32[r + R_WORD]!;
    const row = word & ROW_MASK;
    const size = view.i32[r + R_SIZE]!;
    if (!isLiveRow(view, row)) throw corrupt(who, `block ${hex(ptr)} (${size} B) belongs to row ${row}, which no live scope holds`);
    if (((word >>> HEADER_SHIFT) & HEADER_CODE_MASK) > 13 || (word & ~(OWNER_MASK | (HEADER_CODE_MASK << HEADER_SHIFT) | GUARDED)) !== 0) {
      throw corrupt(who, `block ${hex(ptr)} has a malformed record word ${hex(word >>> 0)}`);
    }
    live[row * 4]! += size;
    live[row * 4 + 1]!++;
    let site = view.i32[r + R_SITE]!;
    if ((word & RETAINED) !== 0) {
      if (!isLiveEntry(view, T_RETAINED, site) || retainedSeen.has(site)) throw corrupt(who, `block ${hex(ptr)} is flagged retained but names retained entry ${site}, which is not its own`);
      retainedSeen.add(site);
      live[row * 4 + 2]! += size;
      live[row * 4 + 3]!++;
      site = view.u32[entryWord(view, T_RETAINED, site) + RET_SITE]!;
    }
    if (site === 0) continue;
    if (!isLiveEntry(view, T_SITES, site)) throw corrupt(who, `block ${hex(ptr)} refers to site ${site}, which does not exist`);
    const sums = siteSums.get(site) ?? [0, 0];
    sums[0] += size;
    sums[1]++;
    siteSums.set(site, sums);
    const label = view.u32[entryWord(view, T_SITES, site) + SITE_LABEL]!;
    if (label !== 0) {
      const key = row * MAX_LABELS + label;
      const l = labelSums.get(key) ?? [0, 0];
      l[0] += size;
      l[1]++;
      labelSums.set(key, l);
    }
  }
  const rowsUsed = view.u32[view.cw + tableWord(T_ROWS, TW_USED)]!;
  const backings = Math.max(1, view.u32[view.cw + tableWord(T_BACKINGS, TW_USED)]!);
  for (const id of retainedSeen) {
    const w = entryWord(view, T_RETAINED, id);
    const site = view.u32[w + RET_SITE]!;
    if (view.u32[w + RET_ORIGIN_ROW]! >= rowsUsed || view.u32[w + RET_BACKING]! >= backings || (site !== 0 && !isLiveEntry(view, T_SITES, site))) {
      throw corrupt(who, `retained entry ${id} names row ${view.u32[w + RET_ORIGIN_ROW]}, backing ${view.u32[w + RET_BACKING]} and site ${site}, not all of which exist`);
    }
  }
  if (retainedSeen.size !== view.u32[view.cw + tableWord(T_RETAINED, TW_LIVE)]) {
    throw corrupt(who, `${retainedSeen.size} blocks are flagged retained but ${view.u32[view.cw + tableWord(T_RETAINED, TW_LIVE)]} retain entries exist`);
  }
  return { live, siteSums, labelSums };
}

/** Own and subtree counters of every live row against the recount. */
function checkCounters(view: TreeView, who: string, live: Float64Array): void {
  const rows = rowCount(view);
  const f64 = view.f64;
  const names = ["liveBytes", "liveCount", "retainedBytes", "retainedCount"];
  const fields = [D_LIVE_BYTES, D_LIVE_COUNT, D_RETAINED_BYTES, D_RETAINED_COUNT];
  addUntracked(view, live);
  for (let row = 0; row < rows; row++) {
    if (!isLiveRow(view, row)) continue;
    const o = rowF64(view, row);
    if (levelOf(view, row) === OFF && !(f64[o + D_LIVE_COUNT]! >= 0 && f64[o + D_LIVE_BYTES]! >= 0)) {
      throw corrupt(who, `scope ${pathOf(view, row)} counts ${f64[o + D_LIVE_COUNT]} blocks / ${f64[o + D_LIVE_BYTES]} B`);
    }
    for (let f = 0; f < 4; f++) {
      const counted = f64[o + fields[f]!]!;
      const found = live[row * 4 + f]!;
      if (counted !== found) throw corrupt(who, `scope ${pathOf(view, row)} counts ${names[f]!} ${counted}, its blocks sum to ${found}`);
    }
    if (!(f64[o + D_PEAK_BYTES]! >= f64[o + D_LIVE_BYTES]!)) throw corrupt(who, `scope ${pathOf(view, row)} has a peak below its live bytes`);
  }
  const totals = subtreeSums(view, live);
  for (let row = 0; row < rows; row++) {
    if (!isLiveRow(view, row)) continue;
    const o = rowF64(view, row);
    if (f64[o + D_TOTAL_BYTES] !== totals[row * 2] || f64[o + D_TOTAL_COUNT] !== totals[row * 2 + 1]) {
      throw corrupt(who, `scope ${pathOf(view, row)} counts a subtree of ${f64[o + D_TOTAL_COUNT]} blocks / ${f64[o + D_TOTAL_BYTES]} B, its subtree holds ${totals[row * 2 + 1]} / ${totals[row * 2]} B`);
    }
    if (!(f64[o + D_TOTAL_PEAK]! >= f64[o + D_TOTAL_BYTES]!)) throw corrupt(who, `scope ${pathOf(view, row)} has a subtree peak below its subtree bytes`);
  }
}

/**
 * Adds to a recount what "off" rows count without records: their own blocks
 * (the backing's usable sizes), taken as they are, beyond their adopted
 * (retained, recorded) ones.
 */
export function addUntracked(view: TreeView, live: Float64Array): void {
  const f64 = view.f64;
  for (let row = 0, rows = rowCount(view); row < rows; row++) {
    if (!isLiveRow(view, row) || levelOf(view, row) !== OFF) continue;
    const o = rowF64(view, row);
    live[row * 4]! += f64[o + D_LIVE_BYTES]! - f64[o + D_RETAINED_BYTES]!;
    live[row * 4 + 1]! += f64[o + D_LIVE_COUNT]! - f64[o + D_RETAINED_COUNT]!;
  }
}

/** Subtree bytes and blocks of every live row (two per row) from the own figures of a recount (four per row). */
export function subtreeSums(view: TreeView, live: Float64Array): Float64Array {
  const rows = rowCount(view);
  const totals = new Float64Array(rows * 2);
  for (let row = 0; row < rows; row++) {
    if (!isLiveRow(view, row)) continue;
    for (let r = row, steps = 0; r >= 0 && steps <= rows; r = parentOf(view, r), steps++) {
      totals[r * 2]! += live[row * 4]!;
      totals[r * 2 + 1]! += live[row * 4 + 1]!;
    }
  }
  return totals;
}

/** Every live site: a valid row or orphan flag, a whole chain, a tally of its row, and sums equal to its blocks'. */
function checkSites(view: TreeView, who: string, siteSums: Map<number, [number, number]>): void {
  const used = view.u32[view.cw + tableWord(T_SITES, TW_USED)]!;
  for (let id = 1; id < used; id++) {
    const w = entryWord(view, T_SITES, id);
    const tag = view.u32[w + ENTRY_TAG]!;
    if (tag === 0) continue;
    if (tag !== TAG_LIVE && tag !== (TAG_LIVE | TAG_ORPHAN)) throw corrupt(who, `site ${id} has the tag ${tag}`);
    const site = siteInfo(view, id);
    if (tag === TAG_LIVE && !isLiveRow(view, site.row)) throw corrupt(who, `site ${id} belongs to row ${site.row}, which no live scope holds`);
    const depth = chainEntries(view, id).length;
    if (depth === 0 || depth !== view.u32[w + SITE_DEPTH]) throw corrupt(who, `site ${id} has a broken chain of enclosing scopes`);
    for (const c of chainEntries(view, id)) if (!isLiveEntry(view, T_CHAINS, c)) throw corrupt(who, `site ${id} names chain entry ${c}, which is free`);
    if (site.label > labelCount(view)) throw corrupt(who, `site ${id} names label ${site.label}, which does not exist`);
    const tally = view.u32[w + SITE_TALLY]!;
    if (site.label !== 0 && tag === TAG_LIVE && (!isLiveEntry(view, T_TALLIES, tally) || view.u32[entryWord(view, T_TALLIES, tally) + TALLY_ROW] !== site.row)) {
      throw corrupt(who, `site ${id} names tally ${tally}, which is not its scope's`);
    }
    const [bytes, count] = siteSums.get(id) ?? [0, 0];
    if (site.liveBytes !== bytes || site.liveCount !== count) {
      throw corrupt(who, `site ${id} (${pathOf(view, site.row)}) counts ${site.liveCount} blocks / ${site.liveBytes} B, the records hold ${count} / ${bytes} B`);
    }
  }
}

/** Every label tally of every live scope against the recount from the records. */
function checkLabels(view: TreeView, who: string, labelSums: Map<number, [number, number]>): void {
  let tallied = 0;
  let listed = 0;
  const rows = rowCount(view);
  for (let row = 0; row < rows; row++) {
    if (!isLiveRow(view, row)) continue;
    const tallies = talliesOf(view, row);
    listed += tallies.length;
    for (const t of tallies) {
      const [bytes, count] = labelSums.get(row * MAX_LABELS + t.label) ?? [0, 0];
      if (t.liveBytes !== bytes || t.liveCount !== count) {
        throw corrupt(who, `scope ${pathOf(view, row)} counts label ${t.label} at ${t.liveCount} blocks / ${t.liveBytes} B, its blocks with that label sum to ${count} / ${bytes} B`);
      }
      if (!(t.peakBytes >= t.liveBytes)) throw corrupt(who, `scope ${pathOf(view, row)} has a peak of label ${t.label} below its live bytes`);
      if (count > 0) tallied++;
    }
  }
  if (tallied !== labelSums.size) throw corrupt(who, `${labelSums.size} (scope, label) pairs hold blocks, but only ${tallied} are counted`);
  const liveTallies = view.u32[view.cw + tableWord(T_TALLIES, TW_LIVE)]!;
  if (listed !== liveTallies) throw corrupt(who, `${liveTallies} label tallies are live, the scopes list ${listed}`);
  for (let id = 1; id < view.u32[view.cw + tableWord(T_TALLIES, TW_USED)]!; id++) {
    const w = entryWord(view, T_TALLIES, id);
    if ((view.u32[w]! & TAG_LIVE) === 0) continue;
    const label = view.u32[w + TALLY_LABEL]!;
    if (label === 0 || label > labelCount(view) || !isLiveRow(view, view.u32[w + TALLY_ROW]!) || talliesOf(view, view.u32[w + TALLY_ROW]!).every((t) => t.label !== label)) {
      throw corrupt(who, `label tally ${id} is not listed by its scope`);
    }
  }
}
