/* eslint-disable @typescript-eslint/no-unnecessary-type-assertion -- AssemblyScript, not TypeScript: i32 and u32 are distinct types to asc, and these casts choose signed or unsigned operations. */
// The slot allocator's two hot paths, take and free, compiled to WebAssembly
// (AssemblyScript; `npm run build:wasm` writes src/hot-paths-wasm.ts from this
// file). They are SlotAllocator.takeJs and freeTaggedJs step for step, on the
// same memory layout (src/layout.ts): the constants below are that file's, and
// a test checks them. Wasm code pays no typed-array bounds or detach checks;
// JS pays a check on every access once any buffer in the process was detached.
//
// Anything but the common case returns to JS, which repeats the step on its
// own path and refills, explains or throws: take returns 0, free returns 1.
// Neither writes anything before it knows it will finish.

// Control block words.
const W_PARKED_PTR: u32 = 268;
const W_PARKED_CLASS: u32 = 269;
// Class record: 8 words; allocation and free counts are float64 at words 4 and 6.
const CLASS_SHIFT: u32 = 3;
const C_CURRENT: u32 = 0;
const C_ALLOCS_F64: u32 = 4;
const C_FREES_F64: u32 = 6;
// Slab header words (the live bitmap is the words below the header, slot i at bit i).
const S_FREE: u32 = 0;
const S_USED: u32 = 1;
const S_BUMP: u32 = 2;
const S_SIZE: u32 = 3;
const S_COUNT: u32 = 4;
const S_LINK_AT: u32 = 5;
const S_CLASS: u32 = 6;
const S_BASE: u32 = 12;
// The owner's data part of a page tag: 24 bits, 0 is never a slab.
const DATA_MAX: u32 = 0xff_ffff;

/** The int32 word `word` words past byte address `at`. */
function get(at: u32, word: u32): i32 {
  return load<i32>(at + (word << 2));
}

function set(at: u32, word: u32, value: i32): void {
  store<i32>(at + (word << 2), value);
}

function count(at: u32, word: u32): void {
  store<f64>(at + (word << 2), load<f64>(at + (word << 2)) + 1);
}

/**
 * A slot of class `c`: the parked slot when it is that class's, else the
 * current slab's free list head, else its next never-used slot. 0 when the
 * slab is missing or exhausted, or its free list is damaged: JS takes over.
 * `cw` and `classes` are byte addresses (control block, class record 0),
 * `limit` the end of the slab range.
 */
export function take(cw: u32, classes: u32, limit: u32, c: i32): i32 {
  const rec = classes + ((<u32>c << CLASS_SHIFT) << 2);
  if (get(cw, W_PARKED_CLASS) == c) {
    const parked = get(cw, W_PARKED_PTR);
    set(cw, W_PARKED_PTR, 0);
    set(cw, W_PARKED_CLASS, -1);
    count(rec, C_ALLOCS_F64);
    return parked;
  }
  const s = <u32>get(rec, C_CURRENT) << 2;
  if (s == 0 || s >= limit) return 0;
  const head = get(s, S_FREE);
  let i: i32;
  if (head != 0) {
    i = head - 1;
    if (<u32>i >= <u32>get(s, S_BUMP)) return 0;
  } else {
    i = get(s, S_BUMP);
    if (i >= get(s, S_COUNT)) return 0;
  }
  const w = s - 4 - ((<u32>i >>> 5) << 2);
  const bit = 1 << (i & 31);
  const bits = load<i32>(w);
  if ((bits & bit) != 0) return 0;
  const p = <u32>(get(s, S_BASE) + i * get(s, S_SIZE));
  if (head != 0) set(s, S_FREE, load<i32>(p));
  else set(s, S_BUMP, i + 1);
  store<i32>(w, bits | bit);
  set(s, S_USED, get(s, S_USED) + 1);
  count(rec, C_ALLOCS_F64);
  return <i32>p;
}

/**
 * Frees the live slot at `ptr`, whose page tag is `tag` (the caller checked
 * that `ptr` lies in the page map): parks it when nothing is parked, else
 * pushes it on its slab's free list. 0: done. 1: not a live slot of this
 * allocator (or its slab header is damaged), nothing written: JS explains.
 * Otherwise the slab header's word index, when the slab's use count reached
 * its relink mark or 0: JS moves the slab between lists.
 */
export function free(cw: u32, classes: u32, ownerTag: i32, shift: u32, hdrOffset: u32, limit: u32, ptr: u32, tag: i32): i32 {
  const d = <u32>(tag ^ ownerTag);
  if (d - 1 >= DATA_MAX) return 1;
  const base = d << shift;
  if (base >= limit) return 1;
  const s = (base + hdrOffset) & ~3;
  const off = ptr - base;
  const size = <u32>get(s, S_SIZE);
  if (size == 0) return 1;
  const i = off / size;
  if (i * size != off || i >= <u32>get(s, S_BUMP)) return 1;
  const w = s - 4 - ((i >>> 5) << 2);
  const bit = 1 << (i & 31);
  const bits = load<i32>(w);
  if ((bits & bit) == 0) return 1;
  const parked = <u32>get(cw, W_PARKED_PTR);
  if (parked == ptr) return 1;
  const c = get(s, S_CLASS);
  count(classes + ((<u32>c << CLASS_SHIFT) << 2), C_FREES_F64);
  if (parked == 0) {
    // Park it: if the next allocation asks for this class it takes the slot without touching the slab.
    set(cw, W_PARKED_PTR, ptr);
    set(cw, W_PARKED_CLASS, c);
    return 0;
  }
  store<i32>(w, bits ^ bit);
  store<i32>(ptr, get(s, S_FREE));
  set(s, S_FREE, <i32>i + 1);
  const used = get(s, S_USED) - 1;
  set(s, S_USED, used);
  return used == get(s, S_LINK_AT) || used == 0 ? <i32>(s >>> 2) : 0;
}

/**
 * reallocate's common case: the live slot at `ptr` (page tag `tag`, checked
 * as `free` checks it) moves to a slot of class `c`, whose slots hold `size`
 * bytes, and the bytes both hold are copied. Returns the new slot; the caller
 * then frees the old one (`free`). 1: the slot is of class `c` already and
 * stays. 0: not a live slot of this allocator, or no slot of class `c`
 * without a refill: nothing written, JS takes over.
 *
 * Its slot checks are `free`'s, written out again: as one shared function asc
 * kept a call, and `free` got 1-6 ns slower (docs/perf-log.md, round 9).
 */
export function move(cw: u32, classes: u32, limit: u32, ownerTag: i32, shift: u32, hdrOffset: u32, ptr: u32, tag: i32, c: i32, size: u32): i32 {
  const d = <u32>(tag ^ ownerTag);
  if (d - 1 >= DATA_MAX) return 0;
  const base = d << shift;
  if (base >= limit) return 0;
  const s = (base + hdrOffset) & ~3;
  const off = ptr - base;
  const old = <u32>get(s, S_SIZE);
  if (old == 0) return 0;
  const i = off / old;
  if (i * old != off || i >= <u32>get(s, S_BUMP)) return 0;
  if ((load<i32>(s - 4 - ((i >>> 5) << 2)) & (1 << (i & 31))) == 0) return 0;
  if (<u32>get(cw, W_PARKED_PTR) == ptr) return 0;
  if (get(s, S_CLASS) == c) return 1;
  const p = take(cw, classes, limit, c);
  if (p == 0) return 0;
  memory.copy(<u32>p, ptr, old < size ? old : size);
  return p;
}
