import type { ControlLayout } from "@memkit/core";

/*
 * A relocatable allocator's memory, all of it in the address space (so a save
 * of the memory keeps it and `RelocatableAllocator.attach` finds it again):
 *
 * Control block (leased from the backing, 8-aligned; u32 words, f64 slots by index):
 *
 *   +0..3   core header: magic "RELO", version, bytes, seal
 *   fixed (sealed):
 *   +4   W_CHUNK_BYTES   bytes of a standard chunk
 *   +5   W_INDEX_BITS    bits of a handle holding the slot index (8..22)
 *   +6   W_BACKING       the backing's controlPtr (0: it has none)
 *   +7   W_LEASED        1: this control block is a block of the backing
 *   state:
 *   +8   W_SLOTS         slot table block (0: none yet)
 *   +9   W_SLOT_CAP      slots the table holds
 *   +10  W_SLOTS_USED    slots ever handed out (the high-water mark)
 *   +11  W_FREE_HEAD     i32: first free slot (-1: none), reused first-in first-out
 *   +12  W_FREE_TAIL     i32: last free slot
 *   +13  W_CHUNKS        chunk table block (0: none yet): [ptr, bytes] per chunk
 *   +14  W_CHUNK_CAP     entries the chunk table holds
 *   +15  W_CHUNK_COUNT   chunks leased now
 *   +16  W_BIN_MAP       bit k set: bin k has a free block
 *   +17  W_CURSOR_CHUNK  chunk where compaction resumes
 *   +18  W_CURSOR        block header where compaction resumes (0: the chunk's first block)
 *   +19  W_LIVE_COUNT    live blocks
 *   +20  W_PINNED        live blocks with at least one pin
 *   +21  (padding)
 *   +22..53 W_BINS       32 free-list heads (block header address, 0: empty)
 *   f64 slots (index d = controlPtr / 8 + D_x): live bytes (usable), peak, reserved,
 *   allocations, frees, bytes moved, blocks moved, compact calls — f64 so they never wrap.
 *
 * Slot (4 words, 16 B) in the slot table, one per handle index:
 *
 *   +0  i32 state       live: the block's handle; free: -(next free slot + 2) (-1: end of list)
 *   +4  u32 generation  the live block's, or the next one's when free (1..2^(30 - indexBits) - 1)
 *   +8  u32 ptr         the block's payload address (what resolve() returns)
 *   +12 u32 pins        16 + 16 bits: | flags 16 | pin count 16 |
 *                       flag ANCHORED: allocated through the pointer API (`allocate`): it moves
 *                       only when a holder of this handle follows it (containers do)
 *
 * Chunk (leased from the backing, 8-aligned):
 *
 *   | chunk header 16 B | block | block | ... | sentinel 8 B |
 *   chunk header: u32 bytes, u32 CHUNK_MAGIC, 8 B unused
 *   sentinel: a block header of size 0, not free: walks and forward coalescing stop there
 *
 * Block (8-aligned header, payload 8-aligned right after it):
 *
 *   +0  u32 size | flags   size: whole block, header included, a multiple of 8 (>= 24);
 *                          bit 0 FREE, bit 1 PREV_FREE (the block before is free)   29 + 1 + 1 + 1 = 32 bits
 *   +4  u32 slot           live: its slot index; free: unused
 *   free blocks only:
 *   +8  u32 next free block of the bin (0: end)
 *   +12 u32 previous free block of the bin (0: head)
 *   end-4 u32 size         footer: lets a freed block merge with a free block before it
 *
 * Free blocks are coalesced at once, so no two free blocks touch; a free block
 * is in bin floor(log2(size)). Compaction slides live blocks down over the free
 * block before them, so holes bubble up to the chunk's end (compact.ts).
 */

export const RELOCATABLE_MAGIC = "RELO";

/** The control block: magic "RELO". */
export const RELOCATABLE_LAYOUT: ControlLayout = { kind: "RelocatableAllocator", magic: "RELO", version: 1, fixedWords: 4 };

export const W_CHUNK_BYTES = 4;
export const W_INDEX_BITS = 5;
export const W_BACKING = 6;
export const W_LEASED = 7;
export const W_SLOTS = 8;
export const W_SLOT_CAP = 9;
export const W_SLOTS_USED = 10;
export const W_FREE_HEAD = 11;
export const W_FREE_TAIL = 12;
export const W_CHUNKS = 13;
export const W_CHUNK_CAP = 14;
export const W_CHUNK_COUNT = 15;
export const W_BIN_MAP = 16;
export const W_CURSOR_CHUNK = 17;
export const W_CURSOR = 18;
export const W_LIVE_COUNT = 19;
export const W_PINNED = 20;
export const W_BINS = 22;
export const BIN_COUNT = 32;

/** f64 slots, after the words (word 54 = byte 216, 8-aligned). */
export const D_LIVE_BYTES = 27;
export const D_PEAK = 28;
export const D_RESERVED = 29;
export const D_ALLOCS = 30;
export const D_FREES = 31;
export const D_MOVED_BYTES = 32;
export const D_MOVES = 33;
export const D_COMPACTS = 34;
/** Bytes of the control block. */
export const CONTROL_BYTES = 35 * 8;

/** Slot words. */
export const SLOT_WORDS = 4;
export const S_STATE = 0;
export const S_GENERATION = 1;
export const S_PTR = 2;
export const S_PINS = 3;
/** Pin count bits of S_PINS. */
export const PIN_MASK = 0xffff;
export const MAX_PINS = 0xffff;
/** Flag of S_PINS: a pointer-API block (see above). */
export const ANCHORED = 0x10000;
/** Free-list link "none". */
export const FREE_END = -1;

/** Block header flags. */
export const FREE = 1;
export const PREV_FREE = 2;
export const FLAGS = 7;
/** Block header bytes (in front of the payload). */
export const HEADER = 8;
/** Smallest block: header, two free-list links, footer. */
export const MIN_BLOCK = 24;
/** Chunk header bytes. */
export const CHUNK_HEADER = 16;
/** Bytes of the sentinel at a chunk's end. */
export const SENTINEL = 8;
/** "RCHK": the word after a chunk's size. */
export const CHUNK_MAGIC = 0x5243484b;
/** Payload alignment: every block keeps it when it moves. */
export const BLOCK_ALIGN = 8;

/** Standard chunk size. @defaultValue 256 KiB */
export const DEFAULT_CHUNK_BYTES = 256 << 10;
export const MIN_CHUNK_BYTES = 4096;
export const MAX_CHUNK_BYTES = 1 << 30;

/** Block bytes (header included) for a request of `size` bytes. */
export function blockBytesFor(size: number): number {
  const b = (size + HEADER + 7) & ~7;
  return b < MIN_BLOCK ? MIN_BLOCK : b;
}
