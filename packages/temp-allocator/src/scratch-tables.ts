import { InvalidArgumentError, OutOfMemoryError, formatBytes, formatCount } from "@memkit/core";
import type { ScratchAllocator } from "./scratch-allocator.js";
import { MARK_INDEX_LIMIT, M_STRIDE, W_LIVE_BASE, W_LIVE_CAP, W_MARK_CAP, W_MARK_COUNT, W_TABLES, W_TABLES_BYTES } from "./scratch-layout.js";
import { W_LIVE_COUNT, W_META_BYTES } from "./temp-layout.js";

/*
 * The scratch stack's tables block (scratch-layout.ts draws it): the mark
 * records and the live-block table, leased from the backing and grown by
 * doubling when either is full. Growth is a cold path (at most log2 of the
 * deepest stack times); the hot paths only read W_LIVE_BASE and the caps.
 */

/** Bytes of the first tables block: 8 marks and 192 live blocks (more when the backing rounds up). */
const FIRST_TABLES_BYTES = 1024;
const MARK_BYTES = M_STRIDE * 4;

/**
 * Leases a tables block twice the size of the current one (or the first),
 * with room for one more mark (`forMarks`) or one more live block, moves the
 * records over and gives the old block back. Throws InvalidArgumentError at
 * the mark limit and OutOfMemoryError when the backing has no room; nothing
 * changes then.
 */
export function growTables(s: ScratchAllocator, forMarks: boolean): void {
  let u32 = s.u32;
  const w = s.w;
  const old = u32[w + W_TABLES]!;
  const oldBytes = u32[w + W_TABLES_BYTES]!;
  const markCap = u32[w + W_MARK_CAP]!;
  const liveCap = u32[w + W_LIVE_CAP]!;
  if (forMarks && markCap >= MARK_INDEX_LIMIT) {
    throw new InvalidArgumentError(
      `${s.name}.mark: ${formatCount(MARK_INDEX_LIMIT)} marks are live at once; release the marks you no longer need (or reset()).`,
    );
  }
  const want = old === 0 ? FIRST_TABLES_BYTES : oldBytes * 2;
  let tables: number;
  try {
    tables = s.backing.allocate(want, 8);
  } catch (cause) {
    if (!(cause instanceof OutOfMemoryError)) throw cause;
    throw new OutOfMemoryError(
      `${s.name}: cannot grow its tables of marks and live blocks to ${formatBytes(want)}: the backing "${s.backing.name}" has no room.\n` +
        `  Release marks and blocks sooner, or raise maximumBytes.`,
      { cause },
    );
  }
  const got = s.backing.allocatedSize(tables) & ~7;
  const marks = Math.min(MARK_INDEX_LIMIT, Math.max(markCap + (forMarks ? 1 : 0), Math.floor(got / 4 / MARK_BYTES)));
  const live = Math.floor((got - marks * MARK_BYTES) / 4);
  // The backing may have grown the space.
  u32 = s.u32;
  const base = (tables >>> 2) + marks * M_STRIDE;
  if (old !== 0) {
    u32.copyWithin(tables >>> 2, old >>> 2, (old >>> 2) + u32[w + W_MARK_COUNT]! * M_STRIDE);
    u32.copyWithin(base, u32[w + W_LIVE_BASE]!, u32[w + W_LIVE_BASE]! + Math.min(u32[w + W_LIVE_COUNT]!, liveCap));
  }
  u32[w + W_TABLES] = tables;
  u32[w + W_TABLES_BYTES] = got;
  u32[w + W_MARK_CAP] = marks;
  u32[w + W_LIVE_CAP] = live;
  u32[w + W_LIVE_BASE] = base;
  u32[w + W_META_BYTES] = u32[w + W_META_BYTES]! + got - oldBytes;
  if (old !== 0) s.backing.deallocate(old);
}

/** Gives the tables block back (the stack holds no mark and no block); returns its bytes. */
export function freeTables(s: ScratchAllocator): number {
  const u32 = s.u32;
  const w = s.w;
  const tables = u32[w + W_TABLES]!;
  if (tables === 0) return 0;
  const bytes = u32[w + W_TABLES_BYTES]!;
  u32[w + W_TABLES] = u32[w + W_TABLES_BYTES] = u32[w + W_MARK_CAP] = u32[w + W_LIVE_CAP] = u32[w + W_LIVE_BASE] = 0;
  u32[w + W_META_BYTES] = u32[w + W_META_BYTES]! - bytes;
  s.backing.deallocate(tables);
  return bytes;
}
