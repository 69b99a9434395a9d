import { CONTROL_BLOCK_HEADER_WORDS, type ControlLayout } from "@memkit/core";

/*
 * A scope tree's state, all of it in linear memory, reachable from one
 * control block. A second handle (`TraceAllocator.attach`, another thread,
 * a restored save) reads the same words; the JS objects are handles.
 *
 *   control block (u32 words from its first word; leased from the tree's backing)
 *   +0..3   header: magic "TRCE", version, bytes, seal (core's control-block.ts)
 *   fixed (sealed, never change):
 *   +4   W_FLAGS        bit 0: guarded headers (header-guard.ts)
 *   +5   W_RING_SLOTS   entries of the recent-free ring (a power of two, 1..2^20)
 *   +6   W_STACK_DEPTH  frames kept per captured call stack (1..256)
 *   +7   W_TREE_ID      a random number naming this tree (keys this thread's stack texts)
 *   +8   W_BACKING      control block of the tree's backing allocator (0: it has none)
 *   state:
 *   +9   W_FRAME        the engine's frame number (markFrame)
 *   +10  W_RING_AT      next ring word to write (even, < 2 * ring slots)
 *   +11  W_NEXT_STACK   next call-stack id (ids name stacks across threads; text stays in JS)
 *   +12  W_SERIAL       scopes ever created (a row's SERIAL orders children by creation)
 *   +13  W_META_BLOCKS  backing blocks the tree's own state holds (this block included)
 *   +14  W_META_BYTES   their bytes
 *   +16  tables, 5 words each (W_T_*): PTR, CAP, USED, FREE, LIVE
 *   +64  ring: RING_SLOTS pairs (ptr, row) of the last frees (tells a double free from a foreign pointer)
 *
 * Tables are blocks leased from the backing and grown by reallocation
 * (tables.ts): entry `id` of table t sits at PTR + id * ENTRY_BYTES[t].
 *   RECORDS   one per live block, dense: CAP entries, USED live (see records.ts)
 *   ROWS      one per scope, free list: CAP entries, USED high-water, FREE next free (id + 1), LIVE
 *   STRINGS   bytes: CAP bytes, USED bytes, FREE bytes of dead strings, LIVE strings (strings.ts)
 *   SITES, CHAINS, TALLIES, RETAINED   free lists like ROWS; id 0 is "none", never handed out
 *   LABELS, BACKINGS                   append-only; id 0 is "none"
 *
 *   record (16 B, int32):  +0 ptr  +1 size  +2 word  +3 site (a retained block: its RETAINED entry)
 *     word = row (bits 0..23) | RETAINED (24) | log2(H) - 3 (25..28) | GUARDED (29): 24 + 1 + 4 + 1 = 30 bits
 *
 *   row (256 B): u32 words 0..15, then float64 slots 8..31
 *     +0  STATE    gen (bits 8..31) | LIVE (5) | GUARDED (4) | BUDGETED (3) | DISPOSED (2) | level (0..1)
 *                  24 + 1 + 1 + 1 + 1 + 1 + 2 = 31 bits (bit 6, 7 unused)
 *     +1  PARENT   parent row (-1: the root); a free row's next free row + 1
 *     +2  PATH     string: the scope path ("root/physics")
 *     +3  SAMPLE   sampleEvery          +4  COUNTDOWN  allocations until the next sampled stack
 *     +5  BUDGET_FLAGS  HAS_BUDGET (0) | WARN (1)
 *     +6  STAGE    string (0: none)     +7  BACKING    backing id (0: the tree's)
 *     +8  SERIAL   creation order       +9  SITES      first site of the scope
 *     +10 UNSAMPLED the (no stack, no label) site   +11 TALLIES  first label tally
 *     f64: LIVE_BYTES LIVE_COUNT PEAK_BYTES PEAK_FRAME ALLOC_COUNT FREE_COUNT REALLOC_COUNT
 *          ALLOC_BYTES RETAINED_BYTES RETAINED_COUNT (own blocks), TOTAL_BYTES TOTAL_COUNT
 *          TOTAL_PEAK TOTAL_PEAK_FRAME EPOCH LIMIT (subtree), BUDGET
 *
 *   site (80 B)      +0 TAG (LIVE | ORPHAN) +1 NEXT +2 ROW +3 GEN +4 STACK +5 LABEL +6 TALLY
 *                    +7 CHAIN (first entry) +8 PATH (string) +9 DEPTH; f64 6..9: live bytes/count, event bytes/count
 *   chain (40 B)     +0 TAG +1 NEXT +2 ROW +3 GEN; f64 2..4: touched epoch, saved bytes, saved count
 *   tally (48 B)     +0 TAG +1 NEXT (of its row) +2 LABEL +3 ROW; f64 2..5: live bytes/count, peak bytes, peak frame
 *   retained (32 B)  +0 TAG +1 NEXT +2 SITE +3 ORIGIN_ROW +4 ORIGIN_GEN +5 ORIGIN_PATH +6 REASON +7 BACKING
 *   label (8 B)      +0 TEXT (string) +1 HASH
 *   backing (8 B)    +0 CONTROL (its allocator's control block, 0: none) +1 TAG
 *
 * A row's generation goes up each time it is given back, so a handle (or a
 * site) holding a row number knows when the row means another scope.
 */
export const TRACE_LAYOUT: ControlLayout = { kind: "TraceAllocator", magic: "TRCE", version: 1, fixedWords: 5 };

// ---------------------------------------------------------------- control block

export const W_FLAGS = CONTROL_BLOCK_HEADER_WORDS;
export const W_RING_SLOTS = W_FLAGS + 1;
export const W_STACK_DEPTH = W_FLAGS + 2;
export const W_TREE_ID = W_FLAGS + 3;
export const W_BACKING = W_FLAGS + 4;
export const W_FRAME = W_FLAGS + 5;
export const W_RING_AT = W_FLAGS + 6;
export const W_NEXT_STACK = W_FLAGS + 7;
export const W_SERIAL = W_FLAGS + 8;
export const W_META_BLOCKS = W_FLAGS + 9;
export const W_META_BYTES = W_FLAGS + 10;
/** First word of the table descriptors. */
export const W_TABLES = 16;
/** First word of the recent-free ring. */
export const W_RING = 64;

/** W_FLAGS: every block has a guarded header. */
export const FLAG_GUARDED = 1;

/** Bytes of a control block whose ring holds `slots` entries. */
export function controlBytes(slots: number): number {
  return (W_RING + slots * 2) * 4;
}

// ---------------------------------------------------------------- tables

export const T_RECORDS = 0;
export const T_ROWS = 1;
export const T_STRINGS = 2;
export const T_SITES = 3;
export const T_CHAINS = 4;
export const T_LABELS = 5;
export const T_TALLIES = 6;
export const T_RETAINED = 7;
export const T_BACKINGS = 8;
export const TABLE_COUNT = 9;
/** Words of one table descriptor. */
export const TABLE_WORDS = 5;
// Offsets inside a descriptor.
export const TW_PTR = 0;
export const TW_CAP = 1;
export const TW_USED = 2;
export const TW_FREE = 3;
export const TW_LIVE = 4;

/** Bytes per entry of each table (1: STRINGS counts bytes). All multiples of 8 but STRINGS. */
export const ENTRY_BYTES: readonly number[] = [16, 256, 1, 80, 40, 8, 48, 32, 8];
/** First id a table hands out: id 0 means "none" everywhere but in RECORDS and ROWS. */
export const FIRST_ID: readonly number[] = [0, 0, 8, 1, 1, 1, 1, 1, 1];
/** Names for messages. */
export const TABLE_NAMES: readonly string[] = ["records", "rows", "strings", "sites", "chains", "labels", "tallies", "retained", "backings"];

/** Word of descriptor field `field` of table `t`. */
export function tableWord(t: number, field: number): number {
  return W_TABLES + t * TABLE_WORDS + field;
}

// The hot path's descriptor words, spelled out.
export const W_REC_PTR = W_TABLES + T_RECORDS * TABLE_WORDS + TW_PTR;
export const W_REC_CAP = W_TABLES + T_RECORDS * TABLE_WORDS + TW_CAP;
export const W_REC_COUNT = W_TABLES + T_RECORDS * TABLE_WORDS + TW_USED;
export const W_ROWS_PTR = W_TABLES + T_ROWS * TABLE_WORDS + TW_PTR;

// ---------------------------------------------------------------- records

/** Bytes of the header in front of every block (at the least). */
export const HEADER_BYTES = 8;
export const R_PTR = 0;
export const R_SIZE = 1;
export const R_WORD = 2;
export const R_SITE = 3;
/** Bit of a record word marking a block kept on purpose (its R_SITE then names a RETAINED entry). */
export const RETAINED = 1 << 24;
/** Mask of the owner row in a record word. */
export const ROW_MASK = RETAINED - 1;
/** Where log2(H) - 3 sits in a record word (4 bits: H is 8 to 64 KiB). */
export const HEADER_SHIFT = 25;
export const HEADER_CODE_MASK = 15;
/** Row and retained bit: what a word holds once the header code is masked off. */
export const OWNER_MASK = (1 << HEADER_SHIFT) - 1;
/** Bit of a record word marking a block with a guarded header (header-guard.ts). */
export const GUARDED = 1 << 29;

// ---------------------------------------------------------------- rows

export const ROW_WORDS = 64;
export const ROW_F64 = 32;
export const S_STATE = 0;
export const S_PARENT = 1;
export const S_PATH = 2;
export const S_SAMPLE = 3;
export const S_COUNTDOWN = 4;
export const S_BUDGET_FLAGS = 5;
export const S_STAGE = 6;
export const S_BACKING = 7;
export const S_SERIAL = 8;
export const S_SITES = 9;
export const S_UNSAMPLED = 10;
export const S_TALLIES = 11;

// Float64 slots of a row.
export const D_LIVE_BYTES = 8;
export const D_LIVE_COUNT = 9;
export const D_PEAK_BYTES = 10;
export const D_PEAK_FRAME = 11;
export const D_ALLOC_COUNT = 12;
export const D_FREE_COUNT = 13;
export const D_REALLOC_COUNT = 14;
export const D_ALLOC_BYTES = 15;
export const D_RETAINED_BYTES = 16;
export const D_RETAINED_COUNT = 17;
export const D_TOTAL_BYTES = 18;
export const D_TOTAL_COUNT = 19;
export const D_TOTAL_PEAK = 20;
export const D_TOTAL_PEAK_FRAME = 21;
/** Goes up at each new subtree peak (and at resetPeak): sites save their value once per epoch (sites.ts). */
export const D_EPOCH = 22;
/** The budget the hot path checks: Infinity when none, or when a "warn" budget already warned. */
export const D_LIMIT = 23;
export const D_BUDGET = 24;

// STATE bits.
export const LEVEL_MASK = 3;
export const OFF = 0;
export const COUNTS = 1;
export const CALLSTACKS = 2;
export const DISPOSED = 1 << 2;
export const BUDGETED = 1 << 3;
export const ROW_GUARDED = 1 << 4;
export const LIVE = 1 << 5;
export const GEN_SHIFT = 8;
export const GEN_MASK = 0xffffff;

// BUDGET_FLAGS bits.
export const HAS_BUDGET = 1;
export const WARN = 2;

/** The STATE word of a live, undisposed row of generation `gen` at `level` with `flags` (BUDGETED, ROW_GUARDED). */
export function stateWord(gen: number, level: number, flags: number): number {
  return ((gen << GEN_SHIFT) | LIVE | flags | level) >>> 0;
}

// ---------------------------------------------------------------- other entries

export const ENTRY_TAG = 0;
export const ENTRY_NEXT = 1;
/** TAG of a live entry. */
export const TAG_LIVE = 1;
/** TAG bit of a site whose scope was disposed. */
export const TAG_ORPHAN = 2;

export const SITE_ROW = 2;
export const SITE_GEN = 3;
export const SITE_STACK = 4;
export const SITE_LABEL = 5;
export const SITE_TALLY = 6;
export const SITE_CHAIN = 7;
export const SITE_PATH = 8;
export const SITE_DEPTH = 9;
export const SITE_D_LIVE_BYTES = 6;
export const SITE_D_LIVE_COUNT = 7;
export const SITE_D_EVENT_BYTES = 8;
export const SITE_D_EVENT_COUNT = 9;

export const CHAIN_ROW = 2;
export const CHAIN_GEN = 3;
export const CHAIN_D_TOUCHED = 2;
export const CHAIN_D_SAVED_BYTES = 3;
export const CHAIN_D_SAVED_COUNT = 4;

export const TALLY_LABEL = 2;
export const TALLY_ROW = 3;
export const TALLY_D_LIVE_BYTES = 2;
export const TALLY_D_LIVE_COUNT = 3;
export const TALLY_D_PEAK_BYTES = 4;
export const TALLY_D_PEAK_FRAME = 5;

export const RET_SITE = 2;
export const RET_ORIGIN_ROW = 3;
export const RET_ORIGIN_GEN = 4;
export const RET_ORIGIN_PATH = 5;
export const RET_REASON = 6;
export const RET_BACKING = 7;

export const LABEL_TEXT = 0;
export const LABEL_HASH = 1;

export const BACKING_CONTROL = 0;

/** Distinct labels a tree can hold (a site key packs the stack id and the label id into one number below 2^53). */
export const MAX_LABELS = 1 << 21;
