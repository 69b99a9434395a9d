import type { ControlLayout } from "@memkit/core";

/*
 * A debug wrapper's state, all of it in linear memory, under one control
 * block leased from the wrapper's backing: a second handle
 * (`CanaryAllocator.attach(space, controlPtr, { backing })`, a restored
 * save) reads and writes the same words. The JS object is a handle: views,
 * the backing, and what only JS can hold (the origin source, call-stack
 * texts). Every kind (canary, end-of-page, fill, quarantine) has this one
 * shape, under its own magic. W_ = u32 word offset from the block's first
 * word; D_ = float64 slot offset from its first float64 slot (the block is
 * 8-aligned).
 *
 *  word
 *   0..3   header: magic, layout version, bytes, seal (core's control-block.ts)
 *  -- fixed: written at creation, covered by the seal -------------------------------
 *   4      W_ID             a random number naming this wrapper (keys this thread's texts)
 *   5      W_BACKING        controlPtr of the backing when it has one, else 0 (attach compares)
 *   6      W_FLAGS          bit 0: frees capture call stacks                     1 + 31 unused = 32 bits
 *   7      W_CHECK_EVERY    walk the own blocks every N operations (0: never)
 *   8      W_HISTORY_CAP    entries of the free history ring (0..2^20)
 *   9      W_HISTORY_SLOTS  slots of its index (0, or a power of two >= 2 x the ring)
 *   10..13 W_PARAM_A..D     the kind's settings:
 *                             canary      A guardBytes
 *                             end-of-page A mode (0 overrun, 1 underrun)  B guardBytes
 *                             fill        A allocation fill (0 none, 1 byte, 2 random)
 *                                         B its byte  C free fill byte (NO_BYTE: none)  D seed
 *                             quarantine  A maxBytes  B maxBlocks  C fill byte
 *  -- state ---------------------------------------------------------------------------
 *   14     W_OPS            operations since the last periodic walk
 *   15     W_NEXT_TEXT      next text id (call stacks and origins: ids here, text in JS)
 *   16..27 D_LIVE_BYTES .. D_RESERVED (slots 8..13): liveBytes, liveCount, peakLiveBytes,
 *                            allocCount, freeCount, and the bytes the blocks hold from the
 *                            backing (guards, spans, quarantined blocks)
 *   28     W_STATE_BYTES    bytes of the wrapper's own state held from the backing
 *                            (this block and the tables below)
 *   29     W_HISTORY_NEXT   next ring entry the free history writes
 *   30     W_TABLE          the live-block table (block-table.ts), leased from the backing (0: none yet)
 *   31     W_TABLE_SLOTS    its slots (a power of two, 0 when none)
 *   32     W_TABLE_COUNT    live blocks in it
 *   33     W_TABLE_HELD     bytes of its block
 *   34     W_CURSOR         fill: position in the random pool
 *   35     W_QUEUE          quarantine: the queue block (quarantine-queue.ts; 0: none yet)
 *   36     W_QUEUE_CAP      its ring entries (a power of two, 0 when none)
 *   37     W_QUEUE_HEAD     ring entry of the oldest block
 *   38     W_QUEUE_COUNT    blocks held
 *   39     W_QUEUE_HELD     bytes of its block
 *   40..41 D_QUEUE_BYTES    (slot 20) bytes the quarantined blocks hold
 *   42..47 zero
 *   48..   the free history (free-history.ts), sized at creation:
 *            ring:  W_HISTORY_CAP entries of 4 words: ptr, size asked, stack id, zero
 *            index: W_HISTORY_SLOTS slots of 2 words: ptr, ring entry
 *
 * Nothing lives next to the guarded blocks: a wild write into a guard, a
 * fill or a quarantined block cannot reach the bookkeeping that finds it.
 */

export const W_ID = 4;
export const W_BACKING = 5;
export const W_FLAGS = 6;
export const W_CHECK_EVERY = 7;
export const W_HISTORY_CAP = 8;
export const W_HISTORY_SLOTS = 9;
export const W_PARAM_A = 10;
export const W_PARAM_B = 11;
export const W_PARAM_C = 12;
export const W_PARAM_D = 13;
/** Fixed words after the header (W_ID .. W_PARAM_D). */
export const WRAPPER_FIXED_WORDS = 10;

export const W_OPS = 14;
export const W_NEXT_TEXT = 15;
export const D_LIVE_BYTES = 8;
export const D_LIVE_COUNT = 9;
export const D_PEAK_BYTES = 10;
export const D_ALLOCS = 11;
export const D_FREES = 12;
export const D_RESERVED = 13;
export const W_STATE_BYTES = 28;
export const W_HISTORY_NEXT = 29;
export const W_TABLE = 30;
export const W_TABLE_SLOTS = 31;
export const W_TABLE_COUNT = 32;
export const W_TABLE_HELD = 33;
export const W_CURSOR = 34;
export const W_QUEUE = 35;
export const W_QUEUE_CAP = 36;
export const W_QUEUE_HEAD = 37;
export const W_QUEUE_COUNT = 38;
export const W_QUEUE_HELD = 39;
export const D_QUEUE_BYTES = 20;
/** First word of the free history ring. */
export const W_HISTORY = 48;

/** Words of a free history ring entry, and of one index slot. */
export const HISTORY_ENTRY_WORDS = 4;
export const INDEX_SLOT_WORDS = 2;

/** W_FLAGS: frees capture their call stack. */
export const FLAG_STACKS = 1;

/** A byte parameter that is off (fill's free fill "none"). */
export const NO_BYTE = 0xffffffff;

/** Most entries a free history remembers. */
export const MAX_FREE_HISTORY = 1 << 20;

export const CANARY_LAYOUT: ControlLayout = { kind: "CanaryAllocator", magic: "CNRY", version: 1, fixedWords: WRAPPER_FIXED_WORDS };
export const END_OF_PAGE_LAYOUT: ControlLayout = { kind: "EndOfPageAllocator", magic: "EOPG", version: 1, fixedWords: WRAPPER_FIXED_WORDS };
export const FILL_LAYOUT: ControlLayout = { kind: "FillAllocator", magic: "FILL", version: 1, fixedWords: WRAPPER_FIXED_WORDS };
export const QUARANTINE_LAYOUT: ControlLayout = { kind: "QuarantineAllocator", magic: "QRNT", version: 1, fixedWords: WRAPPER_FIXED_WORDS };

/** Slots of the free history's index for a ring of `cap` entries: a power of two, at least twice `cap` (0 for none). */
export function historySlots(cap: number): number {
  if (cap === 0) return 0;
  let slots = 16;
  while (slots < cap * 2) slots *= 2;
  return slots;
}

/** Bytes of a control block whose free history holds `cap` entries. */
export function wrapperControlBytes(cap: number): number {
  return (W_HISTORY + cap * HISTORY_ENTRY_WORDS + historySlots(cap) * INDEX_SLOT_WORDS) * 4;
}
