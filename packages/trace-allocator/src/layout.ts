import type { ControlLayout } from "@memkit/core";

/*
 * A scope tree's state, all of it in linear memory, reachable from one
 * control block. A second handle (`TraceAllocator.attach`, another thread,
 * a restored save) reads the same words; the JS objects are handles.
 *
 *   control block (u32 words from its first word; leased from the tree's backing, 64-aligned)
 *   +0..3   header: magic "TRCE", version, bytes, seal (core's control-block.ts)
 *   fixed (sealed, never change):
 *   +4   W_FLAGS        bit 0: guarded headers (header-guard.ts); bit 1: shared backing (any backing of
 *                       the space may serve the tables: per-thread routed allocators); bit 2: shared by
 *                       threads (every handle holds the tree lock; "off" scopes keep records)
 *   +5   W_RING_SLOTS   entries of the recent-free ring (a power of two, 1..2^20)
 *   +6   W_STACK_DEPTH  frames kept per captured call stack (1..256)
 *   +7   W_TREE_ID      a random number naming this tree (keys this thread's stack texts)
 *   +8   W_BACKING      control block of the tree's backing allocator (0: it has none)
 *   state:
 *   +9   W_NEXT_STACK   next call-stack id (ids name stacks across threads; text stays in JS)
 *   +10  W_SERIAL       scopes ever created (a row's SERIAL orders children by creation)
 *   +11  W_META_BLOCKS  backing blocks the tree's own state holds (this block included)
 *   +12  W_META_BYTES   their bytes
 *   +13  table descriptors of ROWS .. BACKINGS, 5 words each: PTR, CAP, USED, FREE, LIVE
 *   the block's fourth cache line (words 48..63) holds what every allocate and free reads:
 *   +56  W_FRAME        the engine's frame number (markFrame)
 *   +57  W_RING_AT      next ring word to write (even, < 2 * ring slots)
 *   +58  W_EPOCH        goes up (mod 2^29) whenever a table moves or any row's STATE changes:
 *                       a handle re-reads what it caches (table positions, its row's state) then
 *   +59  the RECORDS descriptor: +59 PTR, +60 CAP, +61 USED (live records), +62, +63 unused
 *   +64  ring: RING_SLOTS pairs (ptr, row) of the last frees (tells a double free from a foreign pointer)
 *   Not the first line: blocks from a page allocator all start at offset 0 of a 4 KiB page, so
 *   their headers share one set of the L1 cache; hot words at offset 0 would be evicted by them.
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
 *   row (256 B; the table 64-aligned and starting 64 bytes into its block, for the same reason as
 *   the control block's hot line): the first 64 bytes hold what every allocate and free touches
 *   in each scope up the chain, so a walk up the tree reads one cache line per scope
 *     u32 +0  STATE    gen (bits 8..31) | LIVE (5) | GUARDED (4) | BUDGETED (3) | DISPOSED (2) | level (0..1)
 *                      24 + 1 + 1 + 1 + 1 + 1 + 2 = 31 bits (bits 6, 7 unused)
 *     i32 +1  PARENT   parent row (-1: the root); a free row's next free row + 1
 *     f64 1..7   TOTAL_BYTES TOTAL_COUNT TOTAL_PEAK (subtree)  LIVE_BYTES LIVE_COUNT PEAK_BYTES FREE_COUNT (own)
 *     f64 8..14  ALLOC_COUNT ALLOC_BYTES LIMIT EPOCH PEAK_FRAME TOTAL_PEAK_FRAME REALLOC_COUNT
 *     u32 +30 COUNTDOWN  allocations until the next sampled stack   +31 SAMPLE  sampleEvery
 *     f64 16..17 RETAINED_COUNT BUDGET
 *     u32 +36 PATH     string: the scope path ("root/physics")
 *     +39 BUDGET_FLAGS  HAS_BUDGET (0) | WARN (1)
 *     +40 STAGE   string (0: none)       +41 BACKING    backing id (0: the tree's)
 *     +42 SERIAL  creation order         +43 SITES      first site of the scope
 *     +44 UNSAMPLED the (no stack, no label) site     +45 TALLIES  first label tally
 *     f64 24     RETAINED_BYTES
 *     f64 25..26 TEMP_COUNT TEMP_BYTES  blocks freed in the frame they were allocated in (own; see markFrame)
 *     LIMIT is the budget the hot path checks (Infinity when none, or once a "warn" budget warned);
 *     EPOCH goes up at each new subtree peak (sites.ts).
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

// Literals, not sums: a bundler inlines a literal constant into the hot paths (V8 does not fold a
// module-level const), and the drawing above reads the same. W_FLAGS is the first word after
// core's header (CONTROL_BLOCK_HEADER_WORDS, checked in tree-control.ts).
export const W_FLAGS = 4;
export const W_RING_SLOTS = 5;
export const W_STACK_DEPTH = 6;
export const W_TREE_ID = 7;
export const W_BACKING = 8;
export const W_NEXT_STACK = 9;
export const W_SERIAL = 10;
export const W_META_BLOCKS = 11;
export const W_META_BYTES = 12;
/** First word of the table descriptors (ROWS first; RECORDS sits with the hot words). */
export const W_TABLES = 13;
export const W_FRAME = 56;
export const W_RING_AT = 57;
export const W_EPOCH = 58;
/**
 * Epochs wrap below 2^29, so -1 never names one, and a handle's cached epoch
 * with bit 29 set (a shared tree's, scope-state.ts) is still a small integer
 * (V8 keeps integers up to 2^30 - 1 unboxed) that names none.
 */
export const EPOCH_MASK = 0x1fffffff;
/** That bit: a shared tree's handles tag their cached epochs with it (scope-state.ts's sync()). */
export const NEVER_CURRENT = 0x20000000;
/** First word of the recent-free ring. */
export const W_RING = 64;

/** W_FLAGS: every block has a guarded header. */
export const FLAG_GUARDED = 1;
/** W_FLAGS: the tables may be leased from any backing of the space (tree-lock.ts); W_BACKING is 0. */
export const FLAG_SHARED_BACKING = 2;
/** W_FLAGS: the tree is shared by threads: every handle on it holds the tree lock (tree-lock.ts). */
export const FLAG_THREADS = 4;
/** Every W_FLAGS bit. */
export const FLAGS_MASK = 7;

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
  return (t === T_RECORDS ? W_REC_PTR : W_TABLES + (t - 1) * TABLE_WORDS) + field;
}

/** Bytes between a table's block and its first entry (ROWS: its hot lines off page offset 0). */
export const TABLE_SKEW: readonly number[] = [0, 64, 0, 0, 0, 0, 0, 0, 0];

// The hot paths' descriptor words, spelled out (tableWord(T_RECORDS, TW_PTR) and so on).
export const W_REC_PTR = 59;
export const W_REC_CAP = 60;
export const W_REC_COUNT = 61;
export const W_ROWS_PTR = 13;
export const W_ROWS_USED = 15;
export const W_CHAINS_PTR = 28;
export const W_SITES_PTR = 23;

// ---------------------------------------------------------------- records

/** Bytes of the header in front of every block (at the least). */
export const HEADER_BYTES = 8;
export const R_PTR = 0;
export const R_SIZE = 1;
export const R_WORD = 2;
export const R_SITE = 3;
/** Bit of a record word marking a block kept on purpose (its R_SITE then names a RETAINED entry). */
export const RETAINED = 0x1000000;
/** Mask of the owner row in a record word. */
export const ROW_MASK = 0xffffff;
/** Where log2(H) - 3 sits in a record word (4 bits: H is 8 to 64 KiB). */
export const HEADER_SHIFT = 25;
export const HEADER_CODE_MASK = 15;
/** The header code of a 16-byte header (align 16: C's malloc alignment), which the inline paths take too. */
export const HEADER_16 = 1 << 25;
/** Row and retained bit: what a word holds once the header code is masked off. */
export const OWNER_MASK = (1 << HEADER_SHIFT) - 1;
/** Bit of a record word marking a block with a guarded header (header-guard.ts). */
export const GUARDED = 1 << 29;

// ---------------------------------------------------------------- rows

export const ROW_WORDS = 64;
export const ROW_F64 = 32;
/** log2 of ROW_WORDS and ROW_F64: row offsets are shifts (a multiply would carry an overflow check). */
export const ROW_WORD_SHIFT = 6;
export const ROW_F64_SHIFT = 5;
export const S_STATE = 0;
export const S_PARENT = 1;
export const S_PATH = 36;
export const S_COUNTDOWN = 30;
export const S_SAMPLE = 31;
export const S_BUDGET_FLAGS = 39;
export const S_STAGE = 40;
export const S_BACKING = 41;
export const S_SERIAL = 42;
export const S_SITES = 43;
export const S_UNSAMPLED = 44;
export const S_TALLIES = 45;

// Float64 slots of a row: the first cache line (with STATE and PARENT in slot 0), then the rest.
export const D_TOTAL_BYTES = 1;
export const D_TOTAL_COUNT = 2;
export const D_TOTAL_PEAK = 3;
export const D_LIVE_BYTES = 4;
export const D_LIVE_COUNT = 5;
export const D_PEAK_BYTES = 6;
export const D_FREE_COUNT = 7;
export const D_ALLOC_COUNT = 8;
export const D_ALLOC_BYTES = 9;
export const D_LIMIT = 10;
export const D_EPOCH = 11;
export const D_PEAK_FRAME = 12;
export const D_TOTAL_PEAK_FRAME = 13;
export const D_REALLOC_COUNT = 14;
export const D_RETAINED_BYTES = 24;
export const D_TEMP_COUNT = 25;
export const D_TEMP_BYTES = 26;
export const D_RETAINED_COUNT = 16;
export const D_BUDGET = 17;

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
/** STATE bits that say which scope a row holds (its generation and LIVE), as an int32: `(0xffffff00 | LIVE) | 0`. */
export const GEN_LIVE = -224;
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

/** ENTRY_BYTES[T_SITES], for the steps every allocate and free of a site's block takes. */
export const SITE_BYTES = 80;
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

/** ENTRY_BYTES[T_CHAINS], for the walk every site change takes. */
export const CHAIN_BYTES = 40;
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
