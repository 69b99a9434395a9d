import { CorruptionError, hex, magic } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import type { SlotGeometry } from "./geometry.js";
import {
  SLAB_MAGIC_TEXT,
  STATE_NAMES,
  S_ALL_NEXT,
  S_BASE,
  S_BUMP,
  S_CLASS,
  S_COUNT,
  S_FREE,
  S_LINK_AT,
  S_MAGIC,
  S_SIZE,
  S_STATE,
  S_USED,
  W_ALL_HEAD,
  bitmapWords,
} from "./layout.js";

/*
 * What a slab header must look like before anything follows it. Links
 * between slabs (class records, partial, spare and all-slabs lists) are
 * header word indexes read from memory: a handle attached to damaged memory
 * checks each one here before reading the header it points at.
 */

export const SLAB_MAGIC = magic(SLAB_MAGIC_TEXT) | 0;

/**
 * Why `s` is not the header word of a slab of this allocator, or undefined
 * when it is: a slab-aligned base inside the page allocator's range, its
 * page tagged with this owner and that base ({@link positionProblem}), and
 * the header's base and magic.
 */
export function slabProblem(i32: Int32Array, g: SlotGeometry, pages: PageAllocator, s: number): string | undefined {
  return positionProblem(g, pages, s) ?? headerMarkProblem(i32, g, s);
}

/** Why `s` is not where a slab header of this allocator can be: alignment, range, page-map tag. */
function positionProblem(g: SlotGeometry, pages: PageAllocator, s: number): string | undefined {
  if (!Number.isInteger(s) || s <= 0) return `${String(s)} is not a slab header position`;
  const base = s * 4 - g.hdrOffset;
  if (base % g.slabAlign !== 0 || base < g.slabStart || base + g.slabBytes > g.slabLimit) return `${hex(base)} is not a slab base`;
  const tag = (g.ownerTag | (base >>> g.pageShift)) >>> 0;
  if (pages.tagOf(base) !== tag) return `the page at ${hex(base)} carries tag ${hex(pages.tagOf(base))}, not this allocator's slab tag ${hex(tag)}`;
  return undefined;
}

/** Why the header at slab position `s` does not carry its own base and the "SLAB" magic. */
function headerMarkProblem(i32: Int32Array, g: SlotGeometry, s: number): string | undefined {
  const base = s * 4 - g.hdrOffset;
  if (i32[s + S_MAGIC] !== SLAB_MAGIC) return `header magic is ${hex(i32[s + S_MAGIC]! >>> 0)}, not "SLAB"`;
  if (i32[s + S_BASE] !== base) return `header base ${hex(i32[s + S_BASE]! >>> 0)} does not match its position`;
  return undefined;
}

/**
 * Why the header at `s` (a slab, see slabProblem) cannot serve class `c`, or
 * undefined: its copies of the class table, counts inside the carved slots,
 * and no live bit past them. O(uncarved slots / 32).
 */
export function headerProblem(i32: Int32Array, g: SlotGeometry, s: number, c: number): string | undefined {
  const count = g.counts[c]!;
  if (i32[s + S_CLASS] !== c || i32[s + S_SIZE] !== g.sizes[c] || i32[s + S_COUNT] !== count || i32[s + S_LINK_AT] !== g.linkAts[c]) {
    return `class ${i32[s + S_CLASS]}, ${i32[s + S_SIZE]}-byte slots, ${i32[s + S_COUNT]} per slab do not match class ${c}`;
  }
  const bump = i32[s + S_BUMP]!;
  if (bump >>> 0 > count) return `${bump} slots carved of ${count}`;
  if (i32[s + S_USED]! >>> 0 > bump) return `${i32[s + S_USED]} used of ${bump} carved slots`;
  if (i32[s + S_FREE]! >>> 0 > bump) return `its free list starts at slot ${i32[s + S_FREE]! - 1}, outside the ${bump} carved slots`;
  const words = bitmapWords(count);
  for (let k = bump >>> 5; k < words; k++) {
    const past = i32[s - 1 - k]! & (k === bump >>> 5 ? -1 << (bump & 31) : -1);
    if (past !== 0) return `live bit set for slot ${k * 32 + 31 - Math.clz32(past & -past)}, which was never handed out (${bump} carved)`;
  }
  return undefined;
}

/** The CorruptionError for slab header `s`: names the slab in hex, its slot size and state. */
export function slabError(i32: Int32Array, name: string, s: number, what: string): CorruptionError {
  const base = i32[s + S_BASE]!;
  const state = STATE_NAMES[i32[s + S_STATE]!] ?? "?";
  return new CorruptionError(`${name}: slab ${hex(base >>> 0)} (${i32[s + S_SIZE]}-byte slots, ${state}): ${what}.`);
}

/** CorruptionError unless `s` is a slab of this allocator; `via` says which link led there. */
export function expectSlab(i32: Int32Array, g: SlotGeometry, pages: PageAllocator, name: string, s: number, via: string): void {
  const position = positionProblem(g, pages, s);
  if (position !== undefined) throw new CorruptionError(`${name}: ${via} links to ${hex((s >>> 0) * 4)}, which is not a slab header of this allocator (${position}).`);
  const header = headerMarkProblem(i32, g, s);
  if (header !== undefined) throw slabError(i32, name, s, header);
}

/**
 * Visits every slab's header word along the all-slabs list (spares
 * included). Every link is checked before it is followed, and the walk stops
 * at the most slabs the space can hold, so damage is a CorruptionError and a
 * cycle cannot hang it.
 */
export function forEachSlab(i32: Int32Array, g: SlotGeometry, pages: PageAllocator, name: string, visit: (s: number) => void): void {
  let n = 0;
  let via = "the all-slabs list head";
  for (let s = i32[g.cw + W_ALL_HEAD]!; s !== 0; s = i32[s + S_ALL_NEXT]!) {
    expectSlab(i32, g, pages, name, s, via);
    if (++n > g.maxSlabs) throw slabError(i32, name, s, `the all-slabs list holds more than the ${g.maxSlabs} slabs the space can hold (a cycle?)`);
    visit(s);
    via = `the all-slabs link of slab ${hex(i32[s + S_BASE]! >>> 0)}`;
  }
}
