import { CorruptionError, ThreadState, type ThreadTable } from "@memkit/core";
import { checkTree } from "./check.js";
import {
  COUNTER_SHIFT,
  C_ADOPT_BYTES,
  C_ADOPT_COUNT,
  C_ALLOC_BYTES,
  C_ALLOC_COUNT,
  C_FREE_BYTES,
  C_FREE_COUNT,
  C_TEMP_BYTES,
  C_TEMP_COUNT,
  C_SEEN,
  E_PTR,
  E_SIZE,
  E_WORD,
  LANE_SLOTS,
  L_FOLDED,
  L_OPS,
  L_OWNER,
  L_REMOTE,
  L_REPAIRED,
  L_ROWS_PTR,
  L_ROW_CAP,
  L_USED,
  L_DIR,
  LANE_WORDS,
  CHUNK_BYTES,
  CHUNK_MASK,
  CHUNK_SHIFT,
  laneCode,
} from "./lane-layout.js";
import {
  D_ALLOC_BYTES,
  D_ALLOC_COUNT,
  D_EPOCH,
  D_FREE_COUNT,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_PEAK_FRAME,
  D_TEMP_BYTES,
  D_TEMP_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_COUNT,
  D_TOTAL_PEAK,
  D_TOTAL_PEAK_FRAME,
  HEADER_BYTES,
  ROW_MASK,
  T_RECORDS,
  W_FRAME,
  W_REC_CAP,
  W_REC_COUNT,
} from "./layout.js";
import { forEachLiveEntry, laneOf, lanesDirectory, repairLane } from "./lanes.js";
import { addRecord } from "./records.js";
import { bumpEpoch, growTable } from "./tables.js";
import { isLiveRow, parentOf, rowCount, rowF64, type TreeMemory, type TreeView } from "./tree-view.js";

/*
 * How the tree takes in what the lanes did (lane-layout.ts), under the tree
 * lock. Its readers (reports, check, budgets, dispose, walks over blocks)
 * then read the tree as they always did:
 *   foldCounters  adds each lane's counts since the last fold to the rows and
 *                 their ancestors' subtree totals; peaks move at folds
 *   adoptAll      moves every lane block into the tree's records (a walk over
 *                 blocks needs them all there)
 *   adoptOne      the same for one block (a general path was handed it)
 *   claimLaneBlock a free by another thread (or off the lane path): the
 *                 caller counts it in the rows; the entry goes back
 *   checkFolding  check.ts's check, folding again when a call in flight on
 *                 another thread shows as a counter not yet folded
 * A block is adopted or freed by claiming its entry (a compare-and-swap of
 * PTR from the pointer to 0, the same step the owner's free takes, so exactly
 * one of them wins); its entry then goes onto the lane's remote list for the
 * owner to reuse.
 */

/** True while the thread that owns a lane (its slot and generation) is attached. */
function ownerRuns(table: ThreadTable, slot: number, generation: number): boolean {
  return table.stateOf(slot) === ThreadState.LIVE && table.generationOf(slot) === generation;
}

/**
 * Folds every lane's counts into the rows. A lane whose thread is no longer
 * attached (ended, declared dead, its slot released) is repaired first, once.
 */
export function foldCounters(mem: TreeView, table: ThreadTable | undefined): void {
  const dir = lanesDirectory(mem);
  if (dir === 0) return;
  const u32 = mem.u32;
  const rows = rowCount(mem);
  let touched = 0;
  for (let slot = 0; slot < LANE_SLOTS; slot++) {
    const lw = u32[dir + slot]! >>> 2;
    if (lw === 0) continue;
    const owner = u32[lw + L_OWNER]!;
    if (table !== undefined && owner !== 0 && u32[lw + L_REPAIRED] !== owner && !ownerRuns(table, slot, owner - 1)) {
      repairLane(mem, lw, slot);
      u32[lw + L_REPAIRED] = owner;
      u32[lw + L_FOLDED] = u32[lw + L_OPS]! + 1; // fold it now
    }
    const ops = Atomics.load(u32, lw + L_OPS);
    if (ops === u32[lw + L_FOLDED]) continue;
    u32[lw + L_FOLDED] = ops;
    const cf = u32[lw + L_ROWS_PTR]! >>> 3;
    const cap = Math.min(u32[lw + L_ROW_CAP]!, rows);
    for (let row = 0; row < cap; row++) {
      const c = cf + (row << COUNTER_SHIFT);
      if (!foldRow(mem, row, c)) continue;
      if (touched === touchedRows.length) touchedRows = growRows(touchedRows);
      touchedRows[touched++] = row;
    }
  }
  for (let k = 0; k < touched; k++) raisePeaks(mem, touchedRows[k]!);
}

/** Rows a fold changed (reused: a fold makes no JS objects). */
let touchedRows: Int32Array = new Int32Array(64);

function growRows(rows: Int32Array): Int32Array {
  const bigger = new Int32Array(rows.length * 2);
  bigger.set(rows);
  return bigger;
}

/**
 * Adds what a lane counted for `row` (its counter row at float64 `c`) since
 * the fold last saw it to the row and the subtree totals up the chain, and
 * remembers what it saw. False when nothing moved (or the row holds no scope
 * now: a scope disposed meanwhile took its counts along).
 */
function foldRow(mem: TreeView, row: number, c: number): boolean {
  const f64 = mem.f64;
  const allocs = f64[c + C_ALLOC_COUNT]!;
  const allocBytes = f64[c + C_ALLOC_BYTES]!;
  const frees = f64[c + C_FREE_COUNT]!;
  const freeBytes = f64[c + C_FREE_BYTES]!;
  const temps = f64[c + C_TEMP_COUNT]!;
  const tempBytes = f64[c + C_TEMP_BYTES]!;
  const s = c + C_SEEN;
  const dAllocs = allocs - f64[s + C_ALLOC_COUNT]!;
  const dAllocBytes = allocBytes - f64[s + C_ALLOC_BYTES]!;
  const dFrees = frees - f64[s + C_FREE_COUNT]!;
  const dFreeBytes = freeBytes - f64[s + C_FREE_BYTES]!;
  const dTemps = temps - f64[s + C_TEMP_COUNT]!;
  const dTempBytes = tempBytes - f64[s + C_TEMP_BYTES]!;
  if (dAllocs === 0 && dAllocBytes === 0 && dFrees === 0 && dFreeBytes === 0 && dTemps === 0 && dTempBytes === 0) return false;
  f64[s + C_ALLOC_COUNT] = allocs;
  f64[s + C_ALLOC_BYTES] = allocBytes;
  f64[s + C_FREE_COUNT] = frees;
  f64[s + C_FREE_BYTES] = freeBytes;
  f64[s + C_TEMP_COUNT] = temps;
  f64[s + C_TEMP_BYTES] = tempBytes;
  if (!isLiveRow(mem, row)) return false;
  const o = rowF64(mem, row);
  f64[o + D_ALLOC_COUNT]! += dAllocs;
  f64[o + D_ALLOC_BYTES]! += dAllocBytes;
  f64[o + D_FREE_COUNT]! += dFrees;
  f64[o + D_TEMP_COUNT]! += dTemps;
  f64[o + D_TEMP_BYTES]! += dTempBytes;
  f64[o + D_LIVE_BYTES]! += dAllocBytes - dFreeBytes;
  f64[o + D_LIVE_COUNT]! += dAllocs - dFrees;
  for (let r = row; r >= 0; r = parentOf(mem, r)) {
    const p = rowF64(mem, r);
    f64[p + D_TOTAL_BYTES]! += dAllocBytes - dFreeBytes;
    f64[p + D_TOTAL_COUNT]! += dAllocs - dFrees;
  }
  return true;
}

/** Peaks as the private paths keep them, seen at a fold: the row's own, and the subtree totals up the chain. */
function raisePeaks(mem: TreeView, row: number): void {
  const f64 = mem.f64;
  const frame = mem.u32[mem.cw + W_FRAME]!;
  const o = rowF64(mem, row);
  if (f64[o + D_LIVE_BYTES]! > f64[o + D_PEAK_BYTES]!) {
    f64[o + D_PEAK_BYTES] = f64[o + D_LIVE_BYTES]!;
    f64[o + D_PEAK_FRAME] = frame;
  }
  for (let r = row; r >= 0; r = parentOf(mem, r)) {
    const p = rowF64(mem, r);
    if (f64[p + D_TOTAL_BYTES]! > f64[p + D_TOTAL_PEAK]!) {
      f64[p + D_TOTAL_PEAK] = f64[p + D_TOTAL_BYTES]!;
      f64[p + D_TOTAL_PEAK_FRAME] = frame;
      f64[p + D_EPOCH]!++;
    }
  }
}

/** Moves every lane block into the tree's records (their counts are folded first). */
export function adoptAll(mem: TreeMemory, table: ThreadTable | undefined): void {
  if (lanesDirectory(mem) === 0) return;
  foldCounters(mem, table);
  // Room first: growing the records may run the backing, which may open lanes; entries added since stay in their lanes.
  let need = 0;
  forEachLiveEntry(mem, () => need++);
  if (mem.u32[mem.cw + W_REC_CAP]! - mem.u32[mem.cw + W_REC_COUNT]! < need) growTable(mem, T_RECORDS, mem.u32[mem.cw + W_REC_COUNT]! + need);
  forEachLiveEntry(mem, (slot, lw, e, r, ptr) => {
    if (mem.u32[mem.cw + W_REC_COUNT]! < mem.u32[mem.cw + W_REC_CAP]!) adoptEntry(mem, lw, slot, e, r, ptr);
  });
}

/**
 * When `ptr`'s header names a lane entry that holds it: moves the block into
 * the tree's records, so the caller's lookup finds it there. Anything else
 * (not a lane block, a stale header, a pointer past the views) is left as it
 * is, for the lookup to judge.
 */
export function adoptOne(mem: TreeMemory, ptr: number): void {
  if (typeof ptr !== "number" || (ptr & 7) !== 0 || ptr < HEADER_BYTES) return;
  const h = (ptr - HEADER_BYTES) >> 2;
  if (h + 1 >= mem.i32.length) return;
  const code = mem.i32[h]!;
  if (code >= 0) return;
  const slot = (code >>> 24) & 63;
  const e = code & 0xffffff;
  const lw = laneOf(mem, slot);
  const r = lw === 0 ? -1 : entryIn(mem.i32, lw, e);
  if (r < 0 || mem.i32[r + E_PTR] !== ptr) return;
  if (mem.u32[mem.cw + W_REC_COUNT]! >= mem.u32[mem.cw + W_REC_CAP]!) {
    growTable(mem, T_RECORDS, mem.u32[mem.cw + W_REC_CAP]! * 2);
    return adoptOne(mem, ptr); // the backing ran: look again
  }
  adoptEntry(mem, lw, slot, e, r, ptr);
}

/**
 * Int32 index of entry `e` of the lane at `lw`, or -1 when there is no such
 * entry or it lies past these views (memory another thread grew: a caller
 * that did not refresh them must not read, let alone swap, a word there).
 */
function entryIn(i32: Int32Array, lw: number, e: number): number {
  if (lw + LANE_WORDS > i32.length || e >= i32[lw + L_USED]!) return -1;
  const chunk = i32[lw + L_DIR + (e >>> CHUNK_SHIFT)]! >>> 2;
  if (chunk === 0 || chunk + (CHUNK_BYTES >>> 2) > i32.length) return -1;
  return chunk + ((e & CHUNK_MASK) << 2);
}

/** Claims entry `e` (at `r`, holding `ptr`) and records its block in the tree (room is there). */
function adoptEntry(mem: TreeView, lw: number, slot: number, e: number, r: number, ptr: number): void {
  const i32 = mem.i32;
  const h = (ptr - HEADER_BYTES) >> 2;
  if (i32[h] !== laneCode(slot, e)) return; // its owner is still writing it
  if (Atomics.compareExchange(i32, r + E_PTR, ptr, 0) !== ptr) return; // freed meanwhile
  // Read after the claim: the entry may have been freed and taken again (for the same address) before it.
  const size = i32[r + E_SIZE]!;
  const word = i32[r + E_WORD]!;
  addRecord(mem, ptr, size, word, 0, i32[h + 1]!);
  pushRemote(i32, lw, e, r);
  const c = (mem.u32[lw + L_ROWS_PTR]! >>> 3) + ((word & ROW_MASK) << COUNTER_SHIFT);
  mem.f64[c + C_ADOPT_COUNT]!++;
  mem.f64[c + C_ADOPT_BYTES]! += size;
}

/** What claimLaneBlock found (module fields: a claim makes no JS objects). */
export const claimed = { size: 0, word: 0, frame: 0 };

/**
 * Under the tree lock: when `ptr` is a lane block owned by `row`, claims its
 * entry for a free by a thread that is not the lane's (or a call that is not
 * the lane path's), gives the entry back to its lane's remote list and
 * counts it as gone from the lane; true, with the block's size, record word
 * and allocation frame in `claimed`. The caller counts the free in the rows
 * and gives the backing block back. False (nothing done) otherwise.
 */
export function claimLaneBlock(mem: TreeView, ptr: number, row: number): boolean {
  if (typeof ptr !== "number" || (ptr & 7) !== 0 || ptr < HEADER_BYTES) return false;
  const i32 = mem.i32;
  const h = (ptr - HEADER_BYTES) >> 2;
  if (h + 1 >= i32.length) return false;
  const code = i32[h]!;
  if (code >= 0) return false;
  const slot = (code >>> 24) & 63;
  const e = code & 0xffffff;
  const lw = laneOf(mem, slot);
  const r = lw === 0 ? -1 : entryIn(i32, lw, e);
  if (r < 0 || i32[r + E_PTR] !== ptr || (i32[r + E_WORD]! & ROW_MASK) !== row) return false;
  if (Atomics.compareExchange(i32, r + E_PTR, ptr, 0) !== ptr) return false;
  claimed.size = i32[r + E_SIZE]!;
  claimed.word = i32[r + E_WORD]!;
  claimed.frame = i32[h + 1]!;
  pushRemote(i32, lw, e, r);
  const c = (mem.u32[lw + L_ROWS_PTR]! >>> 3) + (row << COUNTER_SHIFT);
  mem.f64[c + C_ADOPT_COUNT]!++;
  mem.f64[c + C_ADOPT_BYTES]! += claimed.size;
  return true;
}

/** Gives entry `e` (at `r`, claimed) back to its lane through the remote list (any thread). */
function pushRemote(i32: Int32Array, lw: number, e: number, r: number): void {
  for (;;) {
    const head = Atomics.load(i32, lw + L_REMOTE);
    i32[r + E_SIZE] = head;
    if (Atomics.compareExchange(i32, lw + L_REMOTE, head, e + 1) === head) return;
  }
}

/** How long check() waits for a lane call in flight on another thread before its CorruptionError stands. */
const IN_FLIGHT_WAIT_MS = 2000;

/**
 * check.ts's checkTree on a tree whose lanes other threads may be writing:
 * lane calls do not take the tree lock, so a call in flight (its lane's OPS
 * odd), or one that began while the check read, shows as a counter that
 * does not match yet. So, on a mismatch: move the epoch, which sends every
 * lane call that starts from then on to the locked paths (they wait for this
 * check); wait until no running thread's lane is in flight (a thread
 * descheduled mid-call resumes within a time slice); fold; look again. The
 * CorruptionError stands after seven tries, or when a lane stays in flight
 * for IN_FLIGHT_WAIT_MS.
 */
export function checkFolding(mem: TreeMemory, who: string, table: ThreadTable | undefined): void {
  for (let tries = 0; ; tries++) {
    try {
      checkTree(mem, who);
      return;
    } catch (err) {
      if (!(err instanceof CorruptionError) || tries >= 7 || lanesDirectory(mem) === 0) throw err;
      if (tries === 0) bumpEpoch(mem);
      if (!lanesSettle(mem, table)) throw err;
      adoptAll(mem, table);
    }
  }
}

/**
 * Waits (spinning: check() is synchronous, and a browser's main thread may
 * not block) until no lane of a running thread has a call in flight; false
 * when one still has after IN_FLIGHT_WAIT_MS. A lane whose thread is gone is
 * repaired by the fold instead.
 */
function lanesSettle(mem: TreeView, table: ThreadTable | undefined): boolean {
  const dir = lanesDirectory(mem);
  const u32 = mem.u32;
  let deadline = 0;
  for (let slot = 0; slot < LANE_SLOTS; slot++) {
    const lw = u32[dir + slot]! >>> 2;
    if (lw === 0) continue;
    const owner = u32[lw + L_OWNER]!;
    while ((Atomics.load(u32, lw + L_OPS) & 1) !== 0 && (table === undefined || (owner !== 0 && ownerRuns(table, slot, owner - 1)))) {
      if (deadline === 0) deadline = Date.now() + IN_FLIGHT_WAIT_MS;
      else if (Date.now() > deadline) return false;
    }
  }
  return true;
}
