/*
 * Lanes: where each thread of a tree shared by threads records its common
 * blocks ("counts", no budget up the chain, not guarded, align <= 16, no
 * label) without the tree lock (docs/threads.md, "Scopes across threads").
 * A lane belongs to a ThreadTable slot; only the thread holding that slot
 * writes it, but for the words marked "lock" (written by any thread holding
 * the tree lock) and the remote list (a compare-and-swap).
 *
 *   control word W_LANES (62): the lanes directory, 0 until a lane opens
 *   directory (u32): +0..63 the lane block of each thread slot (0: none)
 *                    +64 blocks, +65 bytes the lanes hold (chunks, counter tables, lane blocks)
 *   lane block (u32 words, 64-aligned):
 *     +0  USED      entries ever handed out (the next new entry)
 *     +1  FREE      free list head: entry + 1 (0: empty); links in E_SIZE
 *     +2  REMOTE    entries given back by other threads (an adoption): a stack pushed with a
 *                   compare-and-swap under the tree lock, taken whole by the owner with one exchange
 *     +3  CHUNKS    chunks in the directory below (CHUNK entries each)
 *     +4  ROW_CAP   rows the counter table holds      +5 ROWS_PTR  the counter table (8-aligned)
 *     +6  RING_AT   next ring word                    +7 OWNER     generation + 1 of the slot's thread
 *     +8  REPAIRED  OWNER when the owner's death was repaired (lock)
 *     +9  OPS       2 per operation done (wraps), odd while one is in flight: from the owner's
 *                   first write a reader could see (the entry) to its last (the counters)
 *     +10 FOLDED    OPS when the counters were last folded (lock)
 *     +16 ring of recent frees: RING_SLOTS pairs (ptr, row), for telling a double free from a stray pointer
 *     +80 chunk directory: DIR_SLOTS chunk addresses
 *   entry (16 B, int32): +0 PTR (0: free), +1 SIZE (free: next free entry + 1), +2 WORD (row | header code), +3 0
 *   counter row (16 float64 per scope row): monotone counts, so a reader folds the difference since
 *   it last looked (the owner never resets them):
 *     +0 ALLOC_COUNT +1 ALLOC_BYTES +2 FREE_COUNT +3 FREE_BYTES +4 TEMP_COUNT +5 TEMP_BYTES   (owner)
 *     +6 ADOPT_COUNT +7 ADOPT_BYTES: entries adopted into the tree's records (lock)
 *     +8..13 what the fold saw of +0..5 (lock)
 *   So, per row, whenever the owner is between operations:
 *     ALLOC - FREE - ADOPT = the lane's live entries of the row (count and bytes)
 *
 * A lane block's header word: LANE_BIT | slot << 24 | entry (the entry < 2^24), where a block
 * the tree's records hold has its record index (< 2^31): the sign tells them apart.
 */

export const W_LANES = 62;
export const LANE_SLOTS = 64;
export const DIR_BLOCKS = 64;
export const DIR_BYTES = 65;
export const DIR_WORDS = 66;

export const L_USED = 0;
export const L_FREE = 1;
export const L_REMOTE = 2;
export const L_CHUNKS = 3;
export const L_ROW_CAP = 4;
export const L_ROWS_PTR = 5;
export const L_RING_AT = 6;
export const L_OWNER = 7;
export const L_REPAIRED = 8;
export const L_OPS = 9;
export const L_FOLDED = 10;
export const L_RING = 16;
export const RING_SLOTS = 32;
export const RING_MASK = RING_SLOTS * 2 - 1;
export const L_DIR = 80;
export const DIR_SLOTS = 4096;
export const LANE_WORDS = L_DIR + DIR_SLOTS;

/** Entries per chunk, as a shift: 1,024 entries of 16 bytes. */
export const CHUNK_SHIFT = 10;
export const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;
export const CHUNK_BYTES = 16 << CHUNK_SHIFT;

export const E_PTR = 0;
export const E_SIZE = 1;
export const E_WORD = 2;

export const C_ALLOC_COUNT = 0;
export const C_ALLOC_BYTES = 1;
export const C_FREE_COUNT = 2;
export const C_FREE_BYTES = 3;
export const C_TEMP_COUNT = 4;
export const C_TEMP_BYTES = 5;
export const C_ADOPT_COUNT = 6;
export const C_ADOPT_BYTES = 7;
export const C_SEEN = 8;
/** log2 of the float64 slots of a counter row. */
export const COUNTER_SHIFT = 4;

/** Bit 31 of a header word: the block is a lane's. */
export const LANE_BIT = 0x80000000;
/** The header word of entry `e` of the lane of `slot`, as the int32 views hold it. */
export function laneCode(slot: number, e: number): number {
  return (LANE_BIT | (slot << 24) | e) | 0;
}
