import { CorruptionError, hex } from "@memkit/core";
import {
  ENTRY_BYTES,
  FIRST_ID,
  LABEL_TEXT,
  RET_ORIGIN_PATH,
  RET_REASON,
  SITE_PATH,
  S_PATH,
  S_STAGE,
  TAG_LIVE,
  TW_CAP,
  TW_FREE,
  TW_LIVE,
  TW_PTR,
  TW_USED,
  T_LABELS,
  T_RETAINED,
  T_ROWS,
  T_SITES,
  T_STRINGS,
  LIVE,
  tableWord,
} from "./layout.js";
import { noteMeta } from "./tables.js";
import type { TreeMemory, TreeView } from "./tree-view.js";

/*
 * The tree's texts (scope paths, stage names, label texts, retain reasons) in
 * one block of the STRINGS table. A string is named by its offset from the
 * table's start (so growing the table keeps every name):
 *
 *   +0 u32 refs     holders (a row and the sites and retained blocks that name its path)
 *   +4 u32 length   UTF-16 code units
 *   +8 u16 chars    then padding to 8 bytes
 *
 * Offset 0 is "no string". A string whose last holder lets go is dead; when
 * the table is full it is rebuilt with the live strings only (compaction),
 * and every holder (rows, sites, retained blocks, labels) is rewritten.
 */

const W_PTR = tableWord(T_STRINGS, TW_PTR);
const W_CAP = tableWord(T_STRINGS, TW_CAP);
const W_USED = tableWord(T_STRINGS, TW_USED);
const W_DEAD = tableWord(T_STRINGS, TW_FREE);
const W_COUNT = tableWord(T_STRINGS, TW_LIVE);

/** Bytes a string of `length` code units takes. */
export function stringBytes(length: number): number {
  return 8 + Math.ceil((length * 2) / 8) * 8;
}

/** Bounds of the string at `off`, or undefined when `off` does not name one inside the table. */
function located(view: TreeView, off: number): { at: number; length: number } | undefined {
  const u32 = view.u32;
  const used = u32[view.cw + W_USED]!;
  if (off < FIRST_ID[T_STRINGS]! || off % 8 !== 0 || off + 8 > used) return undefined;
  const at = u32[view.cw + W_PTR]! + off;
  const length = u32[(at >>> 2) + 1]!;
  if (off + stringBytes(length) > used) return undefined;
  return { at, length };
}

/** The text at `off` ("" for 0; "?" for an offset that names no string: check() reports those). */
export function readString(view: TreeView, off: number): string {
  if (off === 0) return "";
  const s = located(view, off);
  if (s === undefined) return "?";
  const u16 = view.u16;
  const from = (s.at + 8) >>> 1;
  let text = "";
  for (let k = 0; k < s.length; k += 4096) {
    text += String.fromCharCode(...u16.subarray(from + k, from + Math.min(s.length, k + 4096)));
  }
  return text;
}

/** True when the string at `off` is `text`. */
export function stringEquals(view: TreeView, off: number, text: string): boolean {
  const s = located(view, off);
  if (s === undefined || s.length !== text.length) return false;
  const u16 = view.u16;
  const from = (s.at + 8) >>> 1;
  for (let k = 0; k < text.length; k++) if (u16[from + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** True when `off` names a string of the table (for check() and attach). */
export function isString(view: TreeView, off: number): boolean {
  return located(view, off) !== undefined && view.u32[(view.u32[view.cw + W_PTR]! + off) >>> 2]! > 0;
}

/**
 * Stores `text` with one holder and returns its offset. May call the
 * backing (growth, compaction): offsets read from memory before the call
 * may have changed after it.
 */
export function newString(mem: TreeMemory, text: string): number {
  const need = stringBytes(text.length);
  for (;;) {
    const u32 = mem.u32;
    const cw = mem.cw;
    const used = u32[cw + W_USED]!;
    if (used + need <= u32[cw + W_CAP]!) {
      const at = u32[cw + W_PTR]! + used;
      u32[at >>> 2] = 1;
      u32[(at >>> 2) + 1] = text.length;
      const u16 = mem.u16;
      const from = (at + 8) >>> 1;
      for (let k = 0; k < text.length; k++) u16[from + k] = text.charCodeAt(k);
      mem.u8.fill(0, at + 8 + text.length * 2, at + need);
      u32[cw + W_USED] = used + need;
      u32[cw + W_COUNT] = u32[cw + W_COUNT]! + 1;
      return used;
    }
    rebuild(mem, need);
  }
}

/** One more holder of the string at `off` (0: nothing). */
export function retainString(view: TreeView, off: number): void {
  if (off === 0 || located(view, off) === undefined) return;
  const w = (view.u32[view.cw + W_PTR]! + off) >>> 2;
  view.u32[w] = view.u32[w]! + 1;
}

/** One holder fewer; the string is dead when none is left (0: nothing). */
export function releaseString(view: TreeView, off: number): void {
  const s = off === 0 ? undefined : located(view, off);
  if (s === undefined) return;
  const u32 = view.u32;
  const w = s.at >>> 2;
  if (u32[w] === 0) return;
  u32[w] = u32[w]! - 1;
  if (u32[w] === 0) {
    u32[view.cw + W_DEAD] = u32[view.cw + W_DEAD]! + stringBytes(s.length);
    u32[view.cw + W_COUNT] = u32[view.cw + W_COUNT]! - 1;
  }
}

/**
 * Rebuilds the table with its live strings and room for `need` more bytes
 * (larger when mostly live), then rewrites every holder's offset.
 */
function rebuild(mem: TreeMemory, need: number): void {
  for (;;) {
    const cw = mem.cw;
    const oldPtr = mem.u32[cw + W_PTR]!;
    const oldCap = mem.u32[cw + W_CAP]!;
    const used = mem.u32[cw + W_USED]!;
    const live = used - mem.u32[cw + W_DEAD]!;
    const bytes = Math.max(256, Math.ceil(((live + need) * 2) / 8) * 8);
    const ptr = mem.metaBacking.allocate(bytes, 8);
    const u32 = mem.u32;
    if (u32[cw + W_PTR] !== oldPtr || u32[cw + W_CAP] !== oldCap || u32[cw + W_USED] !== used) {
      mem.metaBacking.deallocate(ptr); // the table changed under the backing's call: look again
      continue;
    }
    const moved = new Map<number, number>();
    const u8 = mem.u8;
    let to = FIRST_ID[T_STRINGS]!;
    for (let off = FIRST_ID[T_STRINGS]!; off < used; ) {
      const length = u32[((oldPtr + off) >>> 2) + 1]!;
      const size = stringBytes(length);
      if (off + size > used) {
        mem.metaBacking.deallocate(ptr);
        throw new CorruptionError(`TraceAllocator at ${hex(cw << 2)}: the string table is damaged at offset ${off} (length ${length}).`);
      }
      if (u32[(oldPtr + off) >>> 2]! > 0) {
        u8.copyWithin(ptr + to, oldPtr + off, oldPtr + off + size);
        moved.set(off, to);
        to += size;
      }
      off += size;
    }
    u8.fill(0, ptr, ptr + FIRST_ID[T_STRINGS]!);
    u8.fill(0, ptr + to, ptr + bytes);
    rewriteHolders(mem, moved);
    u32[cw + W_PTR] = ptr;
    u32[cw + W_CAP] = bytes;
    u32[cw + W_USED] = to;
    u32[cw + W_DEAD] = 0;
    noteMeta(mem, 1, bytes);
    if (oldPtr !== 0) {
      noteMeta(mem, -1, -oldCap);
      mem.metaBacking.deallocate(oldPtr);
    }
    return;
  }
}

/** Every field that names a string: (table, entry bytes, live bit, words). */
const HOLDERS: readonly (readonly [number, number, number, readonly number[]])[] = [
  [T_ROWS, ENTRY_BYTES[T_ROWS]!, LIVE, [S_PATH, S_STAGE]],
  [T_SITES, ENTRY_BYTES[T_SITES]!, TAG_LIVE, [SITE_PATH]],
  [T_RETAINED, ENTRY_BYTES[T_RETAINED]!, TAG_LIVE, [RET_ORIGIN_PATH, RET_REASON]],
  [T_LABELS, ENTRY_BYTES[T_LABELS]!, 0, [LABEL_TEXT]],
];

function rewriteHolders(view: TreeView, moved: Map<number, number>): void {
  const u32 = view.u32;
  for (const [t, eb, live, words] of HOLDERS) {
    const ptr = u32[view.cw + tableWord(t, TW_PTR)]!;
    const used = u32[view.cw + tableWord(t, TW_USED)]!;
    for (let id = FIRST_ID[t]!; id < used; id++) {
      const w = (ptr + id * eb) >>> 2;
      if (live !== 0 && (u32[w]! & live) === 0) continue;
      for (const f of words) {
        const off = u32[w + f]!;
        if (off !== 0) u32[w + f] = moved.get(off) ?? 0;
      }
    }
  }
}

/** FNV-1a over the UTF-16 code units of `text` (label lookup). */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
  return h >>> 0;
}
