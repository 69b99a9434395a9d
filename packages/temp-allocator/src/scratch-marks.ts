import { InvalidArgumentError } from "@memkit/core";
import { CHUNK_HEADER } from "./chunk.js";
import type { ScratchAllocator } from "./scratch-allocator.js";
import {
  MARK_INDEX_LIMIT,
  MARK_SEQ_LIMIT,
  M_CHUNK,
  M_DEPTH,
  M_LIVE_BYTES,
  M_LIVE_COUNT,
  M_STRIDE,
  M_TOP,
  M_TOP_PTR,
  M_VALUE,
  W_DEPTH,
  W_FLOOR_PTR,
  W_MARK_CAP,
  W_MARK_COUNT,
  W_TABLES,
} from "./scratch-layout.js";
import { unwindTo } from "./scratch-stack.js";
import { growTables } from "./scratch-tables.js";
import { countFreed } from "./temp-counters.js";
import { W_CHUNK, W_FIRST, W_LIVE_BYTES, W_LIVE_COUNT, W_TOP, W_TOP_PTR } from "./temp-layout.js";

/*
 * The scratch stack's marks: a record per live mark in the tables block
 * (scratch-layout.ts draws the record and the mark's bit budget), so every
 * handle on the stack releases every mark. O(1) both ways, no JS objects.
 */

/** The realm-wide mark sequence: marks of two stacks differ. Not allocator state (a nonce), so it lives here. */
let markSequence = 0;

/** Records the current top in a new mark record and returns the mark (the caller checked the handle is alive). */
export function takeMark(s: ScratchAllocator): number {
  let u32 = s.u32;
  const w = s.w;
  const index = u32[w + W_MARK_COUNT]!;
  if (index >= u32[w + W_MARK_CAP]!) {
    growTables(s, true);
    u32 = s.u32;
  }
  markSequence = markSequence + 1 < MARK_SEQ_LIMIT ? markSequence + 1 : 1;
  const value = markSequence * MARK_INDEX_LIMIT + index;
  const r = (u32[w + W_TABLES]! >>> 2) + index * M_STRIDE;
  u32[r + M_VALUE] = value;
  u32[r + M_TOP] = u32[w + W_TOP]!;
  u32[r + M_TOP_PTR] = u32[w + W_TOP_PTR]!;
  u32[r + M_CHUNK] = u32[w + W_CHUNK]!;
  u32[r + M_DEPTH] = u32[w + W_DEPTH]!;
  u32[r + M_LIVE_COUNT] = u32[w + W_LIVE_COUNT]!;
  u32[r + M_LIVE_BYTES] = u32[w + W_LIVE_BYTES]!;
  u32[w + W_MARK_COUNT] = index + 1;
  u32[w + W_FLOOR_PTR] = u32[w + W_TOP_PTR]!;
  return value;
}

/** Moves the top back to mark `m` (a positive integer; the caller checked the handle is alive). Throws InvalidArgumentError for a mark not live here. */
export function releaseMark(s: ScratchAllocator, m: number): void {
  const u32 = s.u32;
  const w = s.w;
  const index = m % MARK_INDEX_LIMIT;
  const r = (u32[w + W_TABLES]! >>> 2) + index * M_STRIDE;
  if (index >= u32[w + W_MARK_COUNT]! || u32[r + M_VALUE] !== m) throw staleMark(s, m, index);
  if (u32[w + W_CHUNK] !== 0) {
    const chunk = u32[r + M_CHUNK]!;
    if (chunk === 0) {
      // No chunk was leased when the mark was taken: back to the start of the first.
      const first = u32[w + W_FIRST]!;
      if (u32[w + W_DEPTH] !== 0) unwindTo(s, first, 0);
      u32[w + W_TOP] = first + CHUNK_HEADER;
    } else {
      const depth = u32[r + M_DEPTH]!;
      if (depth !== u32[w + W_DEPTH]) unwindTo(s, chunk, depth);
      u32[w + W_TOP] = u32[r + M_TOP]!;
    }
  }
  u32[w + W_TOP_PTR] = u32[r + M_TOP_PTR]!;
  countFreed(u32, s.f64, w, s.d, u32[w + W_LIVE_COUNT]! - u32[r + M_LIVE_COUNT]!, u32[w + W_LIVE_BYTES]! - u32[r + M_LIVE_BYTES]!);
  u32[w + W_MARK_COUNT] = index;
  u32[w + W_FLOOR_PTR] = index > 0 ? u32[r - M_STRIDE + M_TOP_PTR]! : 0;
}

function staleMark(s: ScratchAllocator, mark: number, index: number): InvalidArgumentError {
  const seq = Math.floor(mark / MARK_INDEX_LIMIT);
  const count = s.u32[s.w + W_MARK_COUNT]!;
  const why = index >= count ? `only ${count} mark${count === 1 ? " is" : "s are"} live` : `slot ${index} now holds a newer mark`;
  return new InvalidArgumentError(
    `${s.name}.release: mark ${mark} (#${seq} at depth ${index}) is not live here (${why}).\n` +
      `  It was released already, dropped when an earlier mark was released or the stack was reset, or it belongs to another ScratchAllocator.\n` +
      `  Marks nest: release the newest first, and each mark once.`,
  );
}
