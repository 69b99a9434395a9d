import { InvalidArgumentError, describe } from "@memkit/core";
import {
  ENTRY_NEXT,
  ENTRY_TAG,
  LABEL_HASH,
  LABEL_TEXT,
  MAX_LABELS,
  S_TALLIES,
  TAG_LIVE,
  TALLY_D_LIVE_BYTES,
  TALLY_D_LIVE_COUNT,
  TALLY_D_PEAK_BYTES,
  TALLY_D_PEAK_FRAME,
  TALLY_LABEL,
  TALLY_ROW,
  TW_USED,
  T_LABELS,
  T_TALLIES,
  tableWord,
} from "./layout.js";
import { hashText, newString, readString, releaseString, stringEquals } from "./strings.js";
import { entryF64, entryWord, freeEntry, reserveEntries, tableRoom, takeEntry } from "./tables.js";
import { rowWord, type TreeMemory, type TreeView } from "./tree-view.js";

/*
 * Block labels: the name an allocation's caller gives what it holds (a
 * container's `HashMap<u32, u32> "entities"`), so a scope's bytes split by
 * what holds them in reports, leak reports and folded stacks.
 *
 * Texts are interned per tree in the LABELS table (id 0: no label); a
 * block's label lives in its site (sites.ts), a (scope, call stack, label)
 * triple; at "counts" a labelled block gets a label-only site, so unlabelled
 * blocks keep site 0 and the inline paths stay as they are.
 *
 * Per (owner scope row, label) a TALLIES entry sums the live bytes and
 * blocks and keeps their high-water mark; a row lists its tallies (S_TALLIES,
 * then NEXT). A site names the tally of its own scope; a block adopted by an
 * ancestor (its scope disposed, the block retained) counts in the
 * ancestor's tally from then on.
 */

/** Labels interned so far. */
export function labelCount(view: TreeView): number {
  return Math.max(0, view.u32[view.cw + tableWord(T_LABELS, TW_USED)]! - 1);
}

/** True when `id` is 0 or a label of this tree: an integer the hot path may store. */
export function isLabelId(view: TreeView, id: unknown): boolean {
  return typeof id === "number" && Number.isInteger(id) && id >= 0 && id <= labelCount(view);
}

/** The text of label `id` (undefined for 0 and unknown ids). */
export function labelText(view: TreeView, id: number): string | undefined {
  if (id <= 0 || id > labelCount(view)) return undefined;
  return readString(view, view.u32[entryWord(view, T_LABELS, id) + LABEL_TEXT]!);
}

/** The id of `text` when interned (a scan of the table, comparing hashes first), else 0. */
export function findLabel(view: TreeView, text: string): number {
  const hash = hashText(text);
  const n = labelCount(view);
  for (let id = 1; id <= n; id++) {
    const w = entryWord(view, T_LABELS, id);
    if (view.u32[w + LABEL_HASH] === hash && stringEquals(view, view.u32[w + LABEL_TEXT]!, text)) return id;
  }
  return 0;
}

/** The id of `text`, interned on first use. Throws InvalidArgumentError for a text that is not a non-empty string. */
export function internLabel(mem: TreeMemory, who: string, text: unknown): number {
  if (typeof text !== "string" || text.length === 0) {
    throw new InvalidArgumentError(`${who}.labelId: a label is a non-empty string (a container's name), received ${describe(text)}.`);
  }
  const known = findLabel(mem, text);
  if (known !== 0) return known;
  if (labelCount(mem) >= MAX_LABELS - 1) {
    throw new InvalidArgumentError(
      `${who}.labelId: the tree already holds ${MAX_LABELS - 1} distinct labels, the most it can.\n` +
        `  Labels name what holds memory (a container per subsystem), not each object: reuse names.`,
    );
  }
  for (;;) {
    reserveEntries(mem, T_LABELS, 1);
    const off = newString(mem, text);
    // The backing may have run code that interned it, or took the room, meanwhile.
    const again = findLabel(mem, text);
    if (again !== 0) {
      releaseString(mem, off);
      return again;
    }
    if (tableRoom(mem, T_LABELS) < 1) {
      releaseString(mem, off);
      continue;
    }
    const id = takeEntry(mem, T_LABELS);
    const w = entryWord(mem, T_LABELS, id);
    mem.u32[w + LABEL_TEXT] = off;
    mem.u32[w + LABEL_HASH] = hashText(text);
    return id;
  }
}

// ---------------------------------------------------------------- tallies

/** The tally of (`row`, `label`), or 0 when there is none. */
export function findTally(view: TreeView, row: number, label: number): number {
  let steps = 0;
  const limit = view.u32[view.cw + tableWord(T_TALLIES, TW_USED)]!;
  for (let id = view.u32[rowWord(view, row) + S_TALLIES]!; id !== 0 && steps <= limit; steps++) {
    const w = entryWord(view, T_TALLIES, id);
    if (view.u32[w + TALLY_LABEL] === label) return id;
    id = view.u32[w + ENTRY_NEXT]!;
  }
  return 0;
}

/** The tally of (`row`, `label`), opened when missing: one TALLIES entry must be reserved. */
export function tallyFor(view: TreeView, row: number, label: number): number {
  const known = findTally(view, row, label);
  if (known !== 0) return known;
  const id = takeEntry(view, T_TALLIES);
  const w = entryWord(view, T_TALLIES, id);
  const u32 = view.u32;
  u32[w + ENTRY_TAG] = TAG_LIVE;
  u32[w + TALLY_LABEL] = label;
  u32[w + TALLY_ROW] = row;
  const head = rowWord(view, row) + S_TALLIES;
  u32[w + ENTRY_NEXT] = u32[head]!;
  u32[head] = id;
  return id;
}

/** A block of `size` more in tally `id`. */
export function tallyAdd(view: TreeView, id: number, size: number, frame: number): void {
  const f64 = view.f64;
  const o = entryF64(view, T_TALLIES, id);
  const live = f64[o + TALLY_D_LIVE_BYTES]! + size;
  f64[o + TALLY_D_LIVE_BYTES] = live;
  f64[o + TALLY_D_LIVE_COUNT]!++;
  if (live > f64[o + TALLY_D_PEAK_BYTES]!) {
    f64[o + TALLY_D_PEAK_BYTES] = live;
    f64[o + TALLY_D_PEAK_FRAME] = frame;
  }
}

/** A block of `size` fewer in tally `id`. */
export function tallyRemove(view: TreeView, id: number, size: number): void {
  const f64 = view.f64;
  const o = entryF64(view, T_TALLIES, id);
  f64[o + TALLY_D_LIVE_BYTES] = f64[o + TALLY_D_LIVE_BYTES]! - size;
  f64[o + TALLY_D_LIVE_COUNT]!--;
}

/** The figures of one tally. */
export interface TallyFigures {
  label: number;
  liveBytes: number;
  liveCount: number;
  peakBytes: number;
  peakFrame: number;
}

/** Every tally of `row` (cold: reports and checks). */
export function talliesOf(view: TreeView, row: number): TallyFigures[] {
  const out: TallyFigures[] = [];
  const limit = view.u32[view.cw + tableWord(T_TALLIES, TW_USED)]!;
  for (let id = view.u32[rowWord(view, row) + S_TALLIES]!; id !== 0 && out.length <= limit; ) {
    const w = entryWord(view, T_TALLIES, id);
    const o = entryF64(view, T_TALLIES, id);
    const f64 = view.f64;
    out.push({ label: view.u32[w + TALLY_LABEL]!, liveBytes: f64[o + TALLY_D_LIVE_BYTES]!, liveCount: f64[o + TALLY_D_LIVE_COUNT]!, peakBytes: f64[o + TALLY_D_PEAK_BYTES]!, peakFrame: f64[o + TALLY_D_PEAK_FRAME]! });
    id = view.u32[w + ENTRY_NEXT]!;
  }
  return out;
}

/** Starts a new stage for `row`: each label's peak becomes its current use. */
export function resetTallyPeaks(view: TreeView, row: number, frame: number): void {
  const limit = view.u32[view.cw + tableWord(T_TALLIES, TW_USED)]!;
  let steps = 0;
  for (let id = view.u32[rowWord(view, row) + S_TALLIES]!; id !== 0 && steps <= limit; steps++) {
    const o = entryF64(view, T_TALLIES, id);
    view.f64[o + TALLY_D_PEAK_BYTES] = view.f64[o + TALLY_D_LIVE_BYTES]!;
    view.f64[o + TALLY_D_PEAK_FRAME] = frame;
    id = view.u32[entryWord(view, T_TALLIES, id) + ENTRY_NEXT]!;
  }
}

/** Frees the tallies of a row given back (its blocks were adopted by an ancestor first). */
export function dropTallies(view: TreeView, row: number): void {
  const head = rowWord(view, row) + S_TALLIES;
  let id = view.u32[head]!;
  view.u32[head] = 0;
  const limit = view.u32[view.cw + tableWord(T_TALLIES, TW_USED)]!;
  for (let steps = 0; id !== 0 && steps <= limit; steps++) {
    const next = view.u32[entryWord(view, T_TALLIES, id) + ENTRY_NEXT]!;
    freeEntry(view, T_TALLIES, id);
    id = next;
  }
}
