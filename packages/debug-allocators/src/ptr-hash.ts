/*
 * Open-addressing hash tables keyed by pointer, in linear memory: `slots`
 * slots of `stride` u32 words each, starting at word `tw`; word 0 of a slot
 * is its key (0, the null pointer, marks an empty slot), the rest is the
 * caller's. Lookups, inserts and deletes create no JS objects.
 *
 * The home slot is Fibonacci hashing of the pointer (the high bits of
 * `ptr * 2^32/φ`), which spreads the 8- and 16-aligned pointers allocators
 * return, whose low bits are all zero. Linear probing; deletion shifts the
 * following run back instead of leaving tombstones, so probe lengths never
 * degrade. Callers keep the load at most 1/2, so a probe always meets an
 * empty slot; every probe is bounded by `slots` anyway, so damaged memory
 * ends a lookup instead of looping. A read past a dead view (a handle that
 * ended) reads `undefined`, which ends a probe as an empty slot does.
 */

const PHI = 0x9e3779b1;

/** Home slot of `ptr` in a table of `slots` slots (a power of two, at least 2). */
export function homeSlot(ptr: number, slots: number): number {
  return Math.imul(ptr, PHI) >>> (Math.clz32(slots) + 1);
}

/** Word index of the slot holding `ptr` (> 0), or -1. */
export function hashFind(u32: Uint32Array, tw: number, slots: number, stride: number, ptr: number): number {
  const mask = slots - 1;
  let i = homeSlot(ptr, slots);
  for (let n = 0; n < slots; n++) {
    const e = tw + i * stride;
    const k = u32[e];
    if (k === ptr) return e;
    if (!(k! > 0)) return -1;
    i = (i + 1) & mask;
  }
  return -1;
}

/**
 * Claims an empty slot for `ptr` (> 0, not in the table; the load must allow
 * one more) and returns its word index; the caller writes the other words.
 * Returns -1 when no empty slot was found (a damaged table).
 */
export function hashInsert(u32: Uint32Array, tw: number, slots: number, stride: number, ptr: number): number {
  const mask = slots - 1;
  let i = homeSlot(ptr, slots);
  for (let n = 0; n < slots; n++) {
    const e = tw + i * stride;
    if (u32[e] === 0) {
      u32[e] = ptr;
      return e;
    }
    i = (i + 1) & mask;
  }
  return -1;
}

/** Empties the slot at word `e` (from {@link hashFind}), moving back the run after it. */
export function hashDelete(u32: Uint32Array, tw: number, slots: number, stride: number, e: number): void {
  const mask = slots - 1;
  let hole = (e - tw) / stride;
  let j = hole;
  for (let n = 0; n < slots; n++) {
    j = (j + 1) & mask;
    const at = tw + j * stride;
    const k = u32[at]!;
    if (k === 0) break;
    const home = homeSlot(k, slots);
    // Move k back unless its home lies cyclically in (hole, j].
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      u32.copyWithin(tw + hole * stride, at, at + stride);
      hole = j;
    }
  }
  u32.fill(0, tw + hole * stride, tw + hole * stride + stride);
}

/** Non-empty slots of a table (a walk over all of them). */
export function hashCount(u32: Uint32Array, tw: number, slots: number, stride: number): number {
  let n = 0;
  for (let i = 0; i < slots; i++) if (u32[tw + i * stride] !== 0) n++;
  return n;
}
