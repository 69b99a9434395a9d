import type { StructLayout } from "@memkit/containers";

/*
 * Hot loops read and write records through typed views of the address space
 * instead of field handles: record i of a StructArray starts at byte
 * `ptr + i * stride`, so its f64 field sits at f64 index
 * `(ptr >>> 3) + i * strideWords + fieldWord`. The container still owns the
 * block (it allocates, grows, swap-removes and frees it); the loop only
 * indexes it.
 *
 * Why not `field.get(i)` there: V8 inlines only so much into one optimised
 * function, and a call that is not inlined returns a double boxed in a fresh
 * heap number (and boxes double arguments). A loop over thousands of records
 * with a dozen field calls would then allocate on every access. Typed-array
 * loads and stores never allocate. Field handles are used everywhere else.
 */

/** The layout's record size in `wordBytes`-byte words. Throws unless it divides evenly. */
export function strideWords(layout: StructLayout, wordBytes: number): number {
  if (layout.size % wordBytes !== 0) throw new Error(`record size ${layout.size} is not a multiple of ${wordBytes}`);
  return layout.size / wordBytes;
}

/** Field `name`'s offset in `wordBytes`-byte words from the start of its record. Throws unless it is aligned to that word. */
export function fieldWord(layout: StructLayout, name: string, wordBytes: number): number {
  const offset = layout.offsetOf(name);
  if (offset % wordBytes !== 0) throw new Error(`field ${name} at offset ${offset} is not ${wordBytes}-byte aligned`);
  return offset / wordBytes;
}
