import {
  CHAIN_BYTES,
  CHAIN_D_SAVED_BYTES,
  CHAIN_D_SAVED_COUNT,
  CHAIN_D_TOUCHED,
  CHAIN_GEN,
  CHAIN_ROW,
  D_EPOCH,
  ENTRY_NEXT,
  ENTRY_TAG,
  SITE_CHAIN,
  SITE_DEPTH,
  SITE_D_EVENT_BYTES,
  SITE_D_EVENT_COUNT,
  SITE_D_LIVE_BYTES,
  SITE_D_LIVE_COUNT,
  SITE_GEN,
  SITE_LABEL,
  SITE_PATH,
  SITE_ROW,
  SITE_STACK,
  SITE_TALLY,
  S_PATH,
  S_SITES,
  S_UNSAMPLED,
  TAG_LIVE,
  TAG_ORPHAN,
  TW_USED,
  T_CHAINS,
  T_SITES,
  T_TALLIES,
  GEN_MASK,
  GEN_SHIFT,
  ROW_WORD_SHIFT,
  S_STATE,
  W_CHAINS_PTR,
  W_SITES_PTR,
  SITE_BYTES,
  W_ROWS_PTR,
  W_ROWS_USED,
  tableWord,
} from "./layout.js";
import { STACK_NOT_HERE } from "./call-stacks.js";
import { findTally, labelText, tallyAdd, tallyFor, tallyRemove } from "./labels.js";
import { releaseString, retainString } from "./strings.js";
import { entryF64, entryWord, freeEntry, reserveEntries, takeEntry } from "./tables.js";
import { chainOf, genOf, isScope, rowCount, rowF64, rowWord, type TreeMemory, type TreeView } from "./tree-view.js";

/*
 * A site is one (scope, call stack, label) triple: a call stack seen at
 * "callstacks" level, a block label (labels.ts), or both. It sums the bytes
 * and blocks live from that triple and every allocation event, and
 * remembers what it held when each enclosing scope's subtree last peaked.
 * Sites live in the SITES table; a scope lists its sites (S_SITES, then
 * NEXT), and S_UNSAMPLED names its (no stack, no label) site directly.
 *
 * Peak snapshots without copying: each scope row has an epoch that goes up
 * whenever its subtree total reaches a new peak (or the peak is reset). A
 * site keeps, per enclosing scope k (a CHAINS entry: row, generation), the
 * epoch at which it last changed (touched) and its value just before that
 * change (saved). When a site changes for the first time in a new epoch it
 * saves its old value, which is exactly its value at that peak. So its value
 * at scope k's peak is `saved` when it was touched in the current epoch,
 * else its live value: O(depth) per change, no walk over all sites at each
 * new peak.
 *
 * A site whose scope was disposed is an orphan: it stays while blocks
 * (adopted by an ancestor) or a peak snapshot still need it.
 */

/** True when site `id` is the live, not orphaned site of (`row` of generation `gen`, `stack`, `label`). */
export function siteMatches(view: TreeView, id: number, row: number, gen: number, stack: number, label: number): boolean {
  if (id <= 0 || id >= view.u32[view.cw + tableWord(T_SITES, TW_USED)]!) return false;
  const w = entryWord(view, T_SITES, id);
  const u32 = view.u32;
  return u32[w + ENTRY_TAG] === TAG_LIVE && u32[w + SITE_ROW] === row && u32[w + SITE_GEN] === gen && u32[w + SITE_STACK] === stack && u32[w + SITE_LABEL] === label;
}

/** The site of (`row`, `stack`, `label`) when the scope has one, else 0 (a walk of the scope's sites). */
export function findSite(view: TreeView, row: number, gen: number, stack: number, label: number): number {
  const rw = rowWord(view, row);
  if (stack === 0 && label === 0) {
    const id = view.u32[rw + S_UNSAMPLED]!;
    return siteMatches(view, id, row, gen, 0, 0) ? id : 0;
  }
  const limit = view.u32[view.cw + tableWord(T_SITES, TW_USED)]!;
  let steps = 0;
  for (let id = view.u32[rw + S_SITES]!; id !== 0 && steps <= limit; steps++) {
    if (siteMatches(view, id, row, gen, stack, label)) return id;
    id = view.u32[entryWord(view, T_SITES, id) + ENTRY_NEXT]!;
  }
  return 0;
}

/**
 * The site of (`row` of generation `gen`, `stack`, `label`), opened on first
 * use. Returns 0 when the scope is gone (room for a new site is reserved
 * first, which may run code that disposes it).
 */
export function siteFor(mem: TreeMemory, row: number, gen: number, stack: number, label: number): number {
  const known = findSite(mem, row, gen, stack, label);
  if (known !== 0) return known;
  const depth = chainOf(mem, row).length;
  reserveEntries(mem, T_SITES, 1);
  reserveEntries(mem, T_CHAINS, depth);
  if (label !== 0) reserveEntries(mem, T_TALLIES, 1);
  if (!isScope(mem, row, gen)) return 0;
  // Reserving may have run code that opened it.
  const again = findSite(mem, row, gen, stack, label);
  if (again !== 0) return again;
  return openSite(mem, row, gen, stack, label);
}

/** Opens a site: one SITES entry, a CHAINS entry per enclosing scope and the label's tally must be reserved. */
function openSite(view: TreeView, row: number, gen: number, stack: number, label: number): number {
  const id = takeEntry(view, T_SITES);
  const u32 = view.u32;
  const w = entryWord(view, T_SITES, id);
  u32[w + ENTRY_TAG] = TAG_LIVE;
  u32[w + SITE_ROW] = row;
  u32[w + SITE_GEN] = gen;
  u32[w + SITE_STACK] = stack;
  u32[w + SITE_LABEL] = label;
  if (label !== 0) u32[w + SITE_TALLY] = tallyFor(view, row, label);
  const rw = rowWord(view, row);
  const path = u32[rw + S_PATH]!;
  retainString(view, path);
  u32[w + SITE_PATH] = path;
  // The chain, innermost first, linked through NEXT.
  const rows = chainOf(view, row);
  let prev = -1;
  for (const r of rows) {
    const c = takeEntry(view, T_CHAINS);
    const cw = entryWord(view, T_CHAINS, c);
    u32[cw + ENTRY_TAG] = TAG_LIVE;
    u32[cw + CHAIN_ROW] = r;
    u32[cw + CHAIN_GEN] = genOf(view, r);
    view.f64[entryF64(view, T_CHAINS, c) + CHAIN_D_TOUCHED] = -1;
    if (prev < 0) u32[w + SITE_CHAIN] = c;
    else u32[entryWord(view, T_CHAINS, prev) + ENTRY_NEXT] = c;
    prev = c;
  }
  u32[w + SITE_DEPTH] = rows.length;
  if (stack === 0 && label === 0) u32[rw + S_UNSAMPLED] = id;
  u32[w + ENTRY_NEXT] = u32[rw + S_SITES]!;
  u32[rw + S_SITES] = id;
  return id;
}

/** Chain entries of site `id`, innermost scope first. */
export function chainEntries(view: TreeView, id: number): number[] {
  const out: number[] = [];
  const w = entryWord(view, T_SITES, id);
  const depth = view.u32[w + SITE_DEPTH]!;
  const limit = view.u32[view.cw + tableWord(T_CHAINS, TW_USED)]!;
  for (let c = view.u32[w + SITE_CHAIN]!; c !== 0 && out.length < depth && out.length <= limit; c = view.u32[entryWord(view, T_CHAINS, c) + ENTRY_NEXT]!) out.push(c);
  return out;
}

/** Saves the site's value in every enclosing scope whose epoch moved since it last changed (sw: the site's word index). */
function touch(view: TreeView, sw: number): void {
  const u32 = view.u32;
  const f64 = view.f64;
  const cw = view.cw;
  // Table positions once: this runs on every allocate and free of a site's blocks.
  const chains = u32[cw + W_CHAINS_PTR]!;
  const rowsW = u32[cw + W_ROWS_PTR]! >>> 2;
  const rows = u32[cw + W_ROWS_USED]!;
  const so = sw >>> 1;
  const depth = u32[sw + SITE_DEPTH]!;
  let c = u32[sw + SITE_CHAIN]!;
  for (let k = 0; k < depth && c !== 0; k++) {
    const ew = (chains + c * CHAIN_BYTES) >>> 2;
    const row = u32[ew + CHAIN_ROW]!;
    const rw = rowsW + (row << ROW_WORD_SHIFT);
    if (row < rows && ((u32[rw + S_STATE]! >>> GEN_SHIFT) & GEN_MASK) === u32[ew + CHAIN_GEN]) {
      const epoch = f64[(rw >>> 1) + D_EPOCH]!;
      const eo = ew >>> 1;
      if (f64[eo + CHAIN_D_TOUCHED] !== epoch) {
        f64[eo + CHAIN_D_TOUCHED] = epoch;
        f64[eo + CHAIN_D_SAVED_BYTES] = f64[so + SITE_D_LIVE_BYTES]!;
        f64[eo + CHAIN_D_SAVED_COUNT] = f64[so + SITE_D_LIVE_COUNT]!;
      }
    }
    c = u32[ew + ENTRY_NEXT]!;
  }
}

/** Counts a block of `size` at site `id`, whose scope owns it (a new block, or one just resized by its owner). */
export function siteAdd(view: TreeView, id: number, size: number, frame: number): void {
  const sw = (view.u32[view.cw + W_SITES_PTR]! + id * SITE_BYTES) >>> 2;
  touch(view, sw);
  const f64 = view.f64;
  const o = sw >>> 1;
  f64[o + SITE_D_LIVE_BYTES]! += size;
  f64[o + SITE_D_LIVE_COUNT]!++;
  f64[o + SITE_D_EVENT_BYTES]! += size;
  f64[o + SITE_D_EVENT_COUNT]!++;
  const tally = view.u32[sw + SITE_TALLY]!;
  if (tally !== 0) tallyAdd(view, tally, size, frame);
}

/** Uncounts a block of `size` at site `id`, owned by `row` now. */
export function siteRemove(view: TreeView, id: number, size: number, row: number): void {
  const sw = (view.u32[view.cw + W_SITES_PTR]! + id * SITE_BYTES) >>> 2;
  touch(view, sw);
  const f64 = view.f64;
  const o = sw >>> 1;
  f64[o + SITE_D_LIVE_BYTES] = f64[o + SITE_D_LIVE_BYTES]! - size;
  f64[o + SITE_D_LIVE_COUNT]!--;
  if (view.u32[sw + SITE_LABEL] !== 0) {
    const tally = labelTallyOf(view, id, row);
    if (tally !== 0) tallyRemove(view, tally, size);
  }
  if ((view.u32[sw + ENTRY_TAG]! & TAG_ORPHAN) !== 0 && f64[o + SITE_D_LIVE_COUNT] === 0) pruneSite(view, id);
}

/**
 * The tally a labelled block of site `id` owned by `row` counts in: the
 * site's own, unless the block was adopted by an ancestor of the site's
 * scope (then the ancestor's; 0 when it has none).
 */
export function labelTallyOf(view: TreeView, id: number, row: number): number {
  const w = entryWord(view, T_SITES, id);
  const u32 = view.u32;
  if (u32[w + SITE_ROW] === row && u32[w + SITE_GEN] === genOf(view, row)) return u32[w + SITE_TALLY]!;
  return findTally(view, row, u32[w + SITE_LABEL]!);
}

/** What site `id` held at the current peak of its chain entry `c`, whose scope is at `epoch`. */
export function siteAtPeak(view: TreeView, id: number, c: number, epoch: number, metric: "bytes" | "count"): number {
  const co = entryF64(view, T_CHAINS, c);
  const f64 = view.f64;
  if (f64[co + CHAIN_D_TOUCHED] === epoch) return metric === "bytes" ? f64[co + CHAIN_D_SAVED_BYTES]! : f64[co + CHAIN_D_SAVED_COUNT]!;
  const so = entryF64(view, T_SITES, id);
  return metric === "bytes" ? f64[so + SITE_D_LIVE_BYTES]! : f64[so + SITE_D_LIVE_COUNT]!;
}

/** The sites a scope opened (its list), newest first. */
export function sitesOf(view: TreeView, row: number): number[] {
  const out: number[] = [];
  const limit = view.u32[view.cw + tableWord(T_SITES, TW_USED)]!;
  for (let id = view.u32[rowWord(view, row) + S_SITES]!; id !== 0 && out.length <= limit; id = view.u32[entryWord(view, T_SITES, id) + ENTRY_NEXT]!) out.push(id);
  return out;
}

/** The scope of `row` is being disposed: its sites become orphans, kept while blocks or peak snapshots need them. */
export function orphanSites(view: TreeView, row: number): void {
  const ids = sitesOf(view, row);
  const rw = rowWord(view, row);
  view.u32[rw + S_SITES] = 0;
  view.u32[rw + S_UNSAMPLED] = 0;
  for (const id of ids) view.u32[entryWord(view, T_SITES, id) + ENTRY_TAG] = TAG_LIVE | TAG_ORPHAN;
}

/** Frees an orphan site once nothing (no block, no peak snapshot) refers to it. */
export function pruneSite(view: TreeView, id: number): void {
  const w = entryWord(view, T_SITES, id);
  const u32 = view.u32;
  if (view.f64[entryF64(view, T_SITES, id) + SITE_D_LIVE_COUNT] !== 0) return;
  const chain = chainEntries(view, id);
  for (const c of chain) {
    const cw = entryWord(view, T_CHAINS, c);
    const row = u32[cw + CHAIN_ROW]!;
    if (row >= rowCount(view) || genOf(view, row) !== u32[cw + CHAIN_GEN]) continue;
    const epoch = view.f64[rowF64(view, row) + D_EPOCH]!;
    if (siteAtPeak(view, id, c, epoch, "bytes") !== 0 || siteAtPeak(view, id, c, epoch, "count") !== 0) return;
  }
  releaseString(view, u32[w + SITE_PATH]!);
  for (const c of chain) freeEntry(view, T_CHAINS, c);
  freeEntry(view, T_SITES, id);
}

/** Re-examines every orphan site (after a peak reset or a dispose). */
export function pruneOrphans(view: TreeView): void {
  const used = view.u32[view.cw + tableWord(T_SITES, TW_USED)]!;
  for (let id = 1; id < used; id++) {
    if (view.u32[entryWord(view, T_SITES, id) + ENTRY_TAG] === (TAG_LIVE | TAG_ORPHAN)) pruneSite(view, id);
  }
}

/** Site fields the reports read. */
export interface SiteInfo {
  row: number;
  gen: number;
  stack: number;
  label: number;
  path: number;
  liveBytes: number;
  liveCount: number;
  eventBytes: number;
  eventCount: number;
}

/** The fields of live site `id`. */
export function siteInfo(view: TreeView, id: number): SiteInfo {
  const w = entryWord(view, T_SITES, id);
  const o = entryF64(view, T_SITES, id);
  const u32 = view.u32;
  const f64 = view.f64;
  return {
    row: u32[w + SITE_ROW]!,
    gen: u32[w + SITE_GEN]!,
    stack: u32[w + SITE_STACK]!,
    label: u32[w + SITE_LABEL]!,
    path: u32[w + SITE_PATH]!,
    liveBytes: f64[o + SITE_D_LIVE_BYTES]!,
    liveCount: f64[o + SITE_D_LIVE_COUNT]!,
    eventBytes: f64[o + SITE_D_EVENT_BYTES]!,
    eventCount: f64[o + SITE_D_EVENT_COUNT]!,
  };
}

/** True when `id` names a live site (orphan or not). */
export function isSite(view: TreeView, id: number): boolean {
  return id > 0 && id < view.u32[view.cw + tableWord(T_SITES, TW_USED)]! && (view.u32[entryWord(view, T_SITES, id) + ENTRY_TAG]! & TAG_LIVE) !== 0;
}

/** The call stack of a site: its text when this thread captured it, a placeholder when another did, else undefined. */
export function stackOf(view: TreeView, siteId: number): string | undefined {
  if (!isSite(view, siteId)) return undefined;
  const stack = view.u32[entryWord(view, T_SITES, siteId) + SITE_STACK]!;
  if (stack === 0) return undefined;
  return view.stackText(stack) ?? STACK_NOT_HERE;
}

/** The label text of a site, if the site has a label. */
export function labelOf(view: TreeView, siteId: number): string | undefined {
  if (!isSite(view, siteId)) return undefined;
  return labelText(view, view.u32[entryWord(view, T_SITES, siteId) + SITE_LABEL]!);
}
