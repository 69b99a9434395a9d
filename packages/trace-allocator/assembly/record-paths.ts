/* eslint-disable @typescript-eslint/no-unnecessary-type-assertion -- AssemblyScript, not TypeScript: i32, u32 and f64 are distinct types to asc, and these casts choose the machine operation. */
// A trace scope's inline record steps ("counts", no budget, no label, not
// guarded) compiled to WebAssembly (AssemblyScript; `npm run build:wasm`
// writes src/record-paths-wasm.ts from this file). They are what
// ScopeBlocks.allocate and deallocate do in JS around the backing's call,
// step for step, on the tree's layout (src/layout.ts): the constants below
// are that file's, and a test checks them. Wasm pays no typed-array bounds
// or detached-buffer checks. Whatever is not the common case goes back to
// JS, which takes its general path; nothing is written before that is known.
//
// Addresses: the control block, records and rows are passed as JS caches
// them, as an int32 index (cw, recW) or a float64 index (rowsD).

// Control block words.
const W_FRAME: u32 = 56;
const W_RING_AT: u32 = 57;
const W_EPOCH: u32 = 58;
const W_REC_COUNT: u32 = 61;
const W_RING: u32 = 64;
// A record: 4 words.
const R_PTR: u32 = 0;
const R_SIZE: u32 = 1;
const R_WORD: u32 = 2;
const R_SITE: u32 = 3;
const ROW_MASK: u32 = 0xffffff;
const HEADER_SHIFT: u32 = 25;
const HEADER_BYTES: u32 = 8;
// A row: 32 float64 slots; its parent is int32 word 1 of its first slot.
const ROW_F64_SHIFT: u32 = 5;
const S_PARENT: u32 = 1;
const D_TOTAL_BYTES: u32 = 1;
const D_TOTAL_COUNT: u32 = 2;
const D_TOTAL_PEAK: u32 = 3;
const D_LIVE_BYTES: u32 = 4;
const D_LIVE_COUNT: u32 = 5;
const D_PEAK_BYTES: u32 = 6;
const D_FREE_COUNT: u32 = 7;
const D_ALLOC_COUNT: u32 = 8;
const D_ALLOC_BYTES: u32 = 9;
const D_EPOCH: u32 = 11;
const D_PEAK_FRAME: u32 = 12;
const D_TOTAL_PEAK_FRAME: u32 = 13;
const D_TEMP_COUNT: u32 = 25;
const D_TEMP_BYTES: u32 = 26;

function word(w: u32): i32 {
  return load<i32>(w << 2);
}

function setWord(w: u32, value: i32): void {
  store<i32>(w << 2, value);
}

function slot(d: u32): f64 {
  return load<f64>(d << 3);
}

function setSlot(d: u32, value: f64): void {
  store<f64>(d << 3, value);
}

/**
 * Records the block the backing just handed out at `ptr` (header `code`) for
 * row `row` and counts it there and up the chain: allocate's inline step
 * after the backing call. 0 when the tree's epoch is not `allocEpoch`, the
 * records are full, or the header already names a live record of `ptr` (JS's
 * recordNew then decides); 1 when done.
 */
export function recorded(cw: u32, allocEpoch: i32, recW: u32, recCap: i32, row: u32, rowsD: u32, ptr: u32, size: i32, code: i32): i32 {
  if (allocEpoch < 0 || word(cw + W_EPOCH) != allocEpoch) return 0;
  const n = word(cw + W_REC_COUNT);
  if (n == recCap) return 0;
  const h = (ptr - HEADER_BYTES) >>> 2;
  const seen = word(h);
  if (<u32>seen < <u32>n && word(recW + (<u32>seen << 2) + R_PTR) == <i32>ptr) return 0;
  const r = recW + (<u32>n << 2);
  setWord(r + R_PTR, ptr);
  setWord(r + R_SIZE, size);
  setWord(r + R_WORD, row | code);
  setWord(r + R_SITE, 0);
  setWord(cw + W_REC_COUNT, n + 1);
  const frame = word(cw + W_FRAME);
  setWord(h, n);
  setWord(h + 1, frame);
  const bytes = <f64>size;
  const o = rowsD + (row << ROW_F64_SHIFT);
  const live = slot(o + D_LIVE_BYTES) + bytes;
  setSlot(o + D_LIVE_BYTES, live);
  if (live > slot(o + D_PEAK_BYTES)) {
    setSlot(o + D_PEAK_BYTES, live);
    setSlot(o + D_PEAK_FRAME, <f64>frame);
  }
  setSlot(o + D_LIVE_COUNT, slot(o + D_LIVE_COUNT) + 1);
  setSlot(o + D_ALLOC_COUNT, slot(o + D_ALLOC_COUNT) + 1);
  setSlot(o + D_ALLOC_BYTES, slot(o + D_ALLOC_BYTES) + bytes);
  for (let p = o; ; ) {
    const total = slot(p + D_TOTAL_BYTES) + bytes;
    setSlot(p + D_TOTAL_BYTES, total);
    setSlot(p + D_TOTAL_COUNT, slot(p + D_TOTAL_COUNT) + 1);
    if (total > slot(p + D_TOTAL_PEAK)) {
      setSlot(p + D_TOTAL_PEAK, total);
      setSlot(p + D_TOTAL_PEAK_FRAME, <f64>frame);
      setSlot(p + D_EPOCH, slot(p + D_EPOCH) + 1);
    }
    const parent = word((p << 1) + S_PARENT);
    if (parent < 0) break;
    p = rowsD + (<u32>parent << ROW_F64_SHIFT);
  }
  return 1;
}

/**
 * Deallocate's inline checks, before the backing's call: is `ptr` a live
 * block of row `row` whose record word is the row itself (not retained, not
 * guarded; an 8- or 16-byte header)? -1 when not, or when the tree's epoch is
 * not `freeEpoch` (JS's general path decides). Else `i << 2 | site << 1 | h16`:
 * its record index, whether the record names a site (JS then counts the free
 * itself), and whether its header is 16 bytes. Writes nothing.
 */
export function freeing(cw: u32, freeEpoch: i32, recW: u32, row: u32, ptr: u32): i32 {
  if (freeEpoch < 0 || word(cw + W_EPOCH) != freeEpoch) return -1;
  if ((ptr & 7) != 0 || ptr < HEADER_BYTES || ptr > (<u32>memory.size() << 16)) return -1;
  const i = word((ptr - HEADER_BYTES) >>> 2);
  if (<u32>i >= <u32>word(cw + W_REC_COUNT)) return -1;
  const r = recW + (<u32>i << 2);
  const w = <u32>word(r + R_WORD);
  if (word(r + R_PTR) != <i32>ptr || (w & ~(1 << HEADER_SHIFT)) != row) return -1;
  return (i << 2) | (word(r + R_SITE) != 0 ? 2 : 0) | <i32>(w >>> HEADER_SHIFT);
}

/**
 * Deallocate's inline step after the backing's call, for record `i` of
 * `ptr` (allocated in frame `allocFrame`; freeing() said it names no site):
 * the last record moves into its place (its block's header follows), the
 * row and its chain count the free, and the recent-free ring notes it.
 */
export function freed(cw: u32, recW: u32, rowsD: u32, ringMask: i32, i: u32, ptr: u32, allocFrame: i32): void {
  const r = recW + (i << 2);
  const size = <f64>word(r + R_SIZE);
  const row = <u32>word(r + R_WORD) & ROW_MASK;
  const last = <u32>word(cw + W_REC_COUNT) - 1;
  if (i != last) {
    const l = recW + (last << 2);
    const moved = <u32>word(l + R_PTR);
    setWord(r + R_PTR, moved);
    setWord(r + R_SIZE, word(l + R_SIZE));
    setWord(r + R_WORD, word(l + R_WORD));
    setWord(r + R_SITE, word(l + R_SITE));
    setWord((moved - HEADER_BYTES) >>> 2, i);
  }
  setWord(cw + W_REC_COUNT, last);
  const o = rowsD + (row << ROW_F64_SHIFT);
  setSlot(o + D_LIVE_BYTES, slot(o + D_LIVE_BYTES) - size);
  setSlot(o + D_LIVE_COUNT, slot(o + D_LIVE_COUNT) - 1);
  setSlot(o + D_FREE_COUNT, slot(o + D_FREE_COUNT) + 1);
  if (allocFrame == word(cw + W_FRAME)) {
    setSlot(o + D_TEMP_COUNT, slot(o + D_TEMP_COUNT) + 1);
    setSlot(o + D_TEMP_BYTES, slot(o + D_TEMP_BYTES) + size);
  }
  for (let p = o; ; ) {
    setSlot(p + D_TOTAL_BYTES, slot(p + D_TOTAL_BYTES) - size);
    setSlot(p + D_TOTAL_COUNT, slot(p + D_TOTAL_COUNT) - 1);
    const parent = word((p << 1) + S_PARENT);
    if (parent < 0) break;
    p = rowsD + (<u32>parent << ROW_F64_SHIFT);
  }
  const at = word(cw + W_RING_AT);
  setWord(cw + W_RING + <u32>at, ptr);
  setWord(cw + W_RING + <u32>at + 1, row);
  setWord(cw + W_RING_AT, (at + 2) & ringMask);
}
