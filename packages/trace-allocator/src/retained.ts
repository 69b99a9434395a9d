import {
  ENTRY_TAG,
  RETAINED,
  RET_BACKING,
  RET_ORIGIN_GEN,
  RET_ORIGIN_PATH,
  RET_ORIGIN_ROW,
  RET_REASON,
  RET_SITE,
  R_SITE,
  R_WORD,
  ROW_MASK,
  S_BACKING,
  S_PATH,
  TAG_LIVE,
  T_RETAINED,
} from "./layout.js";
import { recordAt } from "./records.js";
import { readString, releaseString, retainString } from "./strings.js";
import { entryWord, freeEntry, takeEntry } from "./tables.js";
import { genOf, rowWord, type TreeView } from "./tree-view.js";

/*
 * Blocks kept on purpose (`retain`, and a disposed scope's blocks adopted by
 * its parent). A retained block's record has the RETAINED bit, and its site
 * word names a RETAINED entry instead of a site, so finding the entry is
 * O(1): the entry holds the site, the scope the block came from (row,
 * generation and path, kept after that scope is gone), the reason and the
 * backing it must go back to.
 */

/** The site of record `i` (its RETAINED entry's site for a retained block). */
export function siteOfRecord(view: TreeView, i: number): number {
  const r = recordAt(view, i);
  const site = view.i32[r + R_SITE]!;
  if ((view.i32[r + R_WORD]! & RETAINED) === 0) return site;
  return view.u32[entryWord(view, T_RETAINED, site) + RET_SITE]!;
}

/**
 * Marks record `i` retained (one RETAINED entry must be reserved): the entry
 * keeps its site and names `originRow` (its scope, live now) as where it came
 * from. `reason` is a string offset the entry takes over (0: none).
 */
export function openRetained(view: TreeView, i: number, originRow: number, reason: number): number {
  const r = recordAt(view, i);
  const id = takeEntry(view, T_RETAINED);
  const w = entryWord(view, T_RETAINED, id);
  const u32 = view.u32;
  u32[w + ENTRY_TAG] = TAG_LIVE;
  u32[w + RET_SITE] = view.i32[r + R_SITE]!;
  u32[w + RET_ORIGIN_ROW] = originRow;
  u32[w + RET_ORIGIN_GEN] = genOf(view, originRow);
  const path = u32[rowWord(view, originRow) + S_PATH]!;
  retainString(view, path);
  u32[w + RET_ORIGIN_PATH] = path;
  u32[w + RET_REASON] = reason;
  u32[w + RET_BACKING] = u32[rowWord(view, originRow) + S_BACKING]!;
  view.i32[r + R_SITE] = id;
  view.i32[r + R_WORD] = view.i32[r + R_WORD]! | RETAINED;
  return id;
}

/** Undoes {@link openRetained} for record `i`: the site goes back into the record. */
export function unretainRecord(view: TreeView, i: number): void {
  const r = recordAt(view, i);
  const id = view.i32[r + R_SITE]!;
  view.i32[r + R_SITE] = view.u32[entryWord(view, T_RETAINED, id) + RET_SITE]!;
  view.i32[r + R_WORD] = view.i32[r + R_WORD]! & ~RETAINED;
  closeRetained(view, id);
}

/** Frees RETAINED entry `id` and its strings. */
export function closeRetained(view: TreeView, id: number): void {
  const w = entryWord(view, T_RETAINED, id);
  releaseString(view, view.u32[w + RET_ORIGIN_PATH]!);
  releaseString(view, view.u32[w + RET_REASON]!);
  freeEntry(view, T_RETAINED, id);
}

/** Replaces the reason of RETAINED entry `id` (it takes over `reason`'s holder). */
export function setReason(view: TreeView, id: number, reason: number): void {
  const w = entryWord(view, T_RETAINED, id);
  releaseString(view, view.u32[w + RET_REASON]!);
  view.u32[w + RET_REASON] = reason;
}

/** What a retained block's entry says. */
export interface RetainedInfo {
  originRow: number;
  originGen: number;
  origin: string;
  reason: string | undefined;
  backing: number;
}

/** The entry of the retained block of record `i`. */
export function retainedInfo(view: TreeView, i: number): RetainedInfo {
  const id = view.i32[recordAt(view, i) + R_SITE]!;
  const w = entryWord(view, T_RETAINED, id);
  const u32 = view.u32;
  const reason = u32[w + RET_REASON]!;
  return {
    originRow: u32[w + RET_ORIGIN_ROW]!,
    originGen: u32[w + RET_ORIGIN_GEN]!,
    origin: readString(view, u32[w + RET_ORIGIN_PATH]!),
    reason: reason === 0 ? undefined : readString(view, reason),
    backing: u32[w + RET_BACKING]!,
  };
}

/** True when record `i` is a retained block that came from the scope (`row`, `gen`). */
export function cameFrom(view: TreeView, i: number, row: number, gen: number): boolean {
  const r = recordAt(view, i);
  if ((view.i32[r + R_WORD]! & RETAINED) === 0) return false;
  const w = entryWord(view, T_RETAINED, view.i32[r + R_SITE]!);
  return view.u32[w + RET_ORIGIN_ROW] === row && view.u32[w + RET_ORIGIN_GEN] === gen;
}

/** The backing id a block of record `i` goes back to: its origin's for a retained block, else its owner's. */
export function backingIdOf(view: TreeView, i: number): number {
  const r = recordAt(view, i);
  const word = view.i32[r + R_WORD]!;
  if ((word & RETAINED) !== 0) return view.u32[entryWord(view, T_RETAINED, view.i32[r + R_SITE]!) + RET_BACKING]!;
  return view.u32[rowWord(view, word & ROW_MASK) + S_BACKING]!;
}
