import { CorruptionError, DoubleFreeError, hex, invalidPointer, type InvalidPointerError, type StorageReport } from "@memkit/core";
import { binOf } from "./bins.js";
import { chunkContaining } from "./chunks.js";
import type { SlotTable } from "./slots.js";
import {
  BIN_COUNT,
  CHUNK_HEADER,
  CHUNK_MAGIC,
  D_LIVE_BYTES,
  D_RESERVED,
  FREE,
  FREE_END,
  HEADER,
  MIN_BLOCK,
  PIN_MASK,
  PREV_FREE,
  SENTINEL,
  SLOT_WORDS,
  S_GENERATION,
  S_PINS,
  S_PTR,
  S_STATE,
  W_BINS,
  W_BIN_MAP,
  W_CHUNKS,
  W_CHUNK_CAP,
  W_CHUNK_COUNT,
  W_CURSOR,
  W_CURSOR_CHUNK,
  W_FREE_HEAD,
  W_FREE_TAIL,
  W_LIVE_COUNT,
  W_PINNED,
  W_SLOTS,
  W_SLOTS_USED,
  W_SLOT_CAP,
} from "./layout.js";

/** The error for a pointer that is not a live block start: DoubleFreeError when it is a freed block's start. Cold. */
export function pointerError(r: SlotTable, who: string, ptr: number): InvalidPointerError {
  if (ptr % 8 === 0 && chunkContaining(r, ptr - HEADER) >= 0) {
    const h = r.u32[(ptr - HEADER) >>> 2]!;
    if (h & FREE) return new DoubleFreeError(`${who}: ${hex(ptr)} was already freed (it lies in a free block of this allocator).`);
    return invalidPointer(who, ptr, "it points into a chunk of this allocator but is not the start of a live block");
  }
  return invalidPointer(who, ptr, "it is outside every chunk of this allocator");
}

/**
 * Calls `visit(b, header)` for every block of every chunk, in order, and
 * checks the walk itself: each chunk's header, block sizes that stay inside
 * the chunk, and the sentinel at its end.
 */
function walk(r: SlotTable, visit: (b: number, h: number, chunk: number) => void): void {
  const u32 = r.u32;
  const w = r.w;
  const count = u32[w + W_CHUNK_COUNT]!;
  const t = u32[w + W_CHUNKS]! >>> 2;
  for (let i = 0; i < count; i++) {
    const c = u32[t + i * 2]!;
    const bytes = u32[t + i * 2 + 1]!;
    if (c % 8 !== 0 || c + bytes > u32.length * 4 || u32[c >>> 2] !== bytes || u32[(c >>> 2) + 1] !== CHUNK_MAGIC) {
      throw new CorruptionError(`${r.name}: chunk ${i} at ${hex(c)} (${bytes} B) has a damaged header.`);
    }
    if (!r.backing.owns(c)) throw new CorruptionError(`${r.name}: chunk ${i} at ${hex(c)} is not a live block of the backing "${r.backing.name}".`);
    const end = c + bytes - SENTINEL;
    let b = c + CHUNK_HEADER;
    while (b < end) {
      const h = u32[b >>> 2]!;
      const size = h & ~7;
      if (size < MIN_BLOCK || b + size > end) throw new CorruptionError(`${r.name}: block ${hex(b)} in chunk ${i} claims ${size} bytes, outside 24..${end - b}.`);
      visit(b, h, i);
      b += size;
    }
    if (b !== end || (u32[end >>> 2]! & ~7) !== 0) throw new CorruptionError(`${r.name}: chunk ${i} at ${hex(c)} does not end with its sentinel at ${hex(end)}.`);
  }
}

/**
 * Verifies every invariant: chunk walks, free blocks coalesced, footers and
 * PREV_FREE flags, every free block in the right bin exactly once, the bin
 * bitmap, every live block's slot pointing back at it, the slot free list,
 * the counters, and the compaction cursor on a block boundary.
 */
export function checkRelocatable(r: SlotTable): void {
  const u32 = r.u32;
  const i32 = r.i32;
  const w = r.w;
  const name = r.name;
  const fail = (why: string): never => {
    throw new CorruptionError(`${name}: ${why}`);
  };
  const slots = u32[w + W_SLOTS]! >>> 2;
  const cap = u32[w + W_SLOT_CAP]!;
  const used = u32[w + W_SLOTS_USED]!;
  if (used > cap || cap > r.maxRecords || (cap === 0) !== (slots === 0)) fail(`slot table of ${cap} slots with ${used} used does not fit ${r.maxRecords} handles.`);
  if (u32[w + W_CHUNK_COUNT]! > u32[w + W_CHUNK_CAP]!) fail(`${u32[w + W_CHUNK_COUNT]} chunks in a table of ${u32[w + W_CHUNK_CAP]}.`);
  let freeBlocks = 0;
  let liveBlocks = 0;
  let liveBytes = 0;
  let prevFree = false;
  let cursorSeen = u32[w + W_CURSOR] === 0;
  const cursorChunk = u32[w + W_CURSOR_CHUNK]!;
  if (cursorChunk > u32[w + W_CHUNK_COUNT]!) fail(`compaction cursor in chunk ${cursorChunk} of ${u32[w + W_CHUNK_COUNT]}.`);
  walk(r, (b, h, chunk) => {
    if (b === u32[w + W_CURSOR]) {
      if (chunk !== cursorChunk) fail(`compaction cursor ${hex(b)} is in chunk ${chunk}, not ${cursorChunk}.`);
      cursorSeen = true;
    }
    const size = h & ~7;
    const first = b === u32[(u32[w + W_CHUNKS]! >>> 2) + chunk * 2]! + CHUNK_HEADER;
    if (first) prevFree = false;
    if (((h & PREV_FREE) !== 0) !== prevFree) fail(`block ${hex(b)} says the block before it is ${prevFree ? "live" : "free"}; it is not.`);
    if (h & FREE) {
      if (prevFree) fail(`free blocks touch at ${hex(b)}: they should have merged.`);
      if (u32[(b + size - 4) >>> 2] !== size) fail(`free block ${hex(b)} (${size} B) has a footer of ${u32[(b + size - 4) >>> 2]}.`);
      freeBlocks++;
      prevFree = true;
      return;
    }
    prevFree = false;
    const index = u32[(b + 4) >>> 2]!;
    if (index >= used) fail(`live block ${hex(b)} names slot ${index}, past the ${used} used slots.`);
    const s = slots + index * SLOT_WORDS;
    if (i32[s + S_STATE]! <= 0 || u32[s + S_PTR] !== b + HEADER) fail(`live block ${hex(b)} names slot ${index}, which points at ${hex(u32[s + S_PTR]!)}.`);
    liveBlocks++;
    liveBytes += size - HEADER;
  });
  if (!cursorSeen) fail(`compaction cursor ${hex(u32[w + W_CURSOR]!)} is not on a block boundary.`);
  // Bins: every free block once, in its own bin, links both ways.
  let binned = 0;
  let map = 0;
  for (let k = 0; k < BIN_COUNT; k++) {
    let prev = 0;
    for (let b = u32[w + W_BINS + k]!; b !== 0; b = u32[(b + 8) >>> 2]!) {
      if (++binned > freeBlocks) fail(`the bins hold more blocks than the ${freeBlocks} free ones (a loop or a stale entry, bin ${k}).`);
      const h = u32[b >>> 2]!;
      if (!(h & FREE) || binOf(h & ~7) !== k || u32[(b + 12) >>> 2] !== prev) fail(`bin ${k} holds ${hex(b)}, which is not a free block of that bin with the right links.`);
      map |= 1 << k;
      prev = b;
    }
  }
  if (binned !== freeBlocks) fail(`${freeBlocks} free blocks in the chunks, ${binned} in the bins.`);
  if (map >>> 0 !== u32[w + W_BIN_MAP]) fail(`the bin bitmap ${hex(u32[w + W_BIN_MAP]!)} does not match the bins (${hex(map >>> 0)}).`);
  // Slots: live ones point at live blocks (checked above from the blocks' side: count them), free ones form the list.
  let live = 0;
  let pinned = 0;
  for (let i = 0; i < used; i++) {
    const s = slots + i * SLOT_WORDS;
    const state = i32[s + S_STATE]!;
    const generation = u32[s + S_GENERATION]!;
    if (generation < 1 || generation > r.maxGeneration) fail(`slot ${i} has generation ${generation}, outside 1..${r.maxGeneration}.`);
    if (state > 0) {
      if (state !== generation * r.maxRecords + i) fail(`slot ${i} holds handle ${hex(state)}, not its own.`);
      const ptr = u32[s + S_PTR]!;
      if (ptr < HEADER || u32[(ptr - 4) >>> 2] !== i || (u32[(ptr - HEADER) >>> 2]! & FREE)) fail(`slot ${i} points at ${hex(ptr)}, which is not its live block.`);
      live++;
      if (u32[s + S_PINS]! & PIN_MASK) pinned++;
    } else if (state === 0 || state < -used - 1) fail(`slot ${i} holds state ${state}: neither a handle nor a free link.`);
  }
  if (live !== liveBlocks || live !== u32[w + W_LIVE_COUNT]) fail(`${live} live slots, ${liveBlocks} live blocks, the count says ${u32[w + W_LIVE_COUNT]}.`);
  if (pinned !== u32[w + W_PINNED]) fail(`${pinned} pinned blocks, the count says ${u32[w + W_PINNED]}.`);
  if (liveBytes !== r.f64[r.d + D_LIVE_BYTES]) fail(`live blocks hold ${liveBytes} bytes, the count says ${r.f64[r.d + D_LIVE_BYTES]}.`);
  let free = 0;
  let last = FREE_END;
  for (let i = i32[w + W_FREE_HEAD]!; i !== FREE_END; free++) {
    if (i < 0 || i >= used || free >= used - live || i32[slots + i * SLOT_WORDS + S_STATE]! > 0) fail(`the slot free list reaches ${i} (live, out of range or again).`);
    last = i;
    i = -i32[slots + i * SLOT_WORDS + S_STATE]! - 2;
  }
  if (free !== used - live || last !== i32[w + W_FREE_TAIL]) fail(`the slot free list holds ${free} slots ending at ${last}; ${used - live} are free, the tail says ${i32[w + W_FREE_TAIL]}.`);
  if (r.f64[r.d + D_RESERVED]! < 0) fail(`reserved bytes ${r.f64[r.d + D_RESERVED]} are negative.`);
}

/** Free memory by hole: what `storageReport()` answers. */
export function storageReport(r: SlotTable): StorageReport {
  const histogram: number[] = [];
  let total = 0;
  let largest = 0;
  let used = 0;
  walk(r, (_b, h) => {
    const size = h & ~7;
    if (!(h & FREE)) {
      used += size - HEADER;
      return;
    }
    const usable = size - HEADER;
    total += usable;
    if (usable > largest) largest = usable;
    const k = binOf(usable);
    while (histogram.length <= k) histogram.push(0);
    histogram[k]!++;
  });
  return {
    reservedBytes: r.f64[r.d + D_RESERVED]!,
    usedBytes: used,
    totalFreeBytes: total,
    largestFreeBlock: largest,
    freeHistogram: histogram,
    fragmentation: total === 0 ? 0 : 1 - largest / total,
  };
}

/** Every hole of every chunk, `[address, bytes]`, in chunk order: the memory map's free spans. */
export function holes(r: SlotTable): [number, number][] {
  const out: [number, number][] = [];
  walk(r, (b, h) => {
    if (h & FREE) out.push([b, h & ~7]);
  });
  return out;
}
