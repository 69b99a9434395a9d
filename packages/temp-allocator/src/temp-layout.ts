import { CONTROL_BLOCK_HEADER_WORDS } from "@memkit/core";

/*
 * The control block of a temp allocator: all of its state, in linear memory,
 * so a second handle (`FrameAllocator.attach`, `ScratchAllocator.attach`)
 * reads and writes the same allocator. Both kinds start with the words below
 * (the bump chain and the counters, which bump-chain.ts and temp-counters.ts
 * own); frame-layout.ts and scratch-layout.ts draw what each appends.
 * W_ = u32 word offset from the block's first word; D_ = float64 slot offset
 * from its first float64 slot (the block is 8-aligned).
 *
 *  word
 *   0..3   header: magic, layout version, bytes, seal (core's control-block.ts)
 *  -- fixed: written at creation, covered by the seal ---------------------------
 *   4      W_KEY          stamp key: mixed into every block header and chunk magic
 *   5      W_CHUNK_BYTES  bytes of a standard chunk (the chunkBytes option)
 *   6      W_BACKING      controlPtr of the backing when it has one, else 0 (attach compares)
 *   7      W_CONFIG       bit 0: the control block was leased from the backing (destroy gives it back)
 *                         bit 1: frame debug mode
 *                         bits 8..14: frame arenas (1..64)        1 + 1 + 6 unused + 7 + 17 unused = 32 bits
 *   8..9   D_FACTOR       (slot 4) frame: growthWarningFactor, Infinity = off; scratch: 0
 *  -- state: the bump chain (bump-chain.ts) -----------------------------------
 *   10     W_CHUNK        current chunk (0: none leased)
 *   11     W_TOP          next free byte in it
 *   12     W_END          its end (chunk + bytes)
 *   13     W_TOP_PTR      the most recent block (0: none)
 *   14     W_FIRST        first chunk of the chain (frame: of the current arena)
 *   15     W_SPARES       first spare chunk (the list runs through the chunks' next words)
 *   16     W_CHUNKS       chunks held from the backing (chains and spares)
 *   17     W_RESERVED     their bytes
 *   18     W_META_BYTES   other bytes held from the backing: the control block when leased, scratch tables
 *  -- state: counters (temp-counters.ts) ---------------------------------------
 *   19     W_LIVE_COUNT   blocks not yet reclaimed
 *   20     W_LIVE_BYTES   their sizes asked for
 *   21     W_PEAK_BYTES   highest W_LIVE_BYTES (noted lazily, wherever it falls)
 *   22..23 D_FREES        (slot 11) blocks reclaimed, ever (may pass 2^32)
 *   24..   what the kind appends
 */
export const W_KEY = CONTROL_BLOCK_HEADER_WORDS;
export const W_CHUNK_BYTES = W_KEY + 1;
export const W_BACKING = W_KEY + 2;
export const W_CONFIG = W_KEY + 3;
export const D_FACTOR = 4;
/** Fixed words after the header (W_KEY .. D_FACTOR). */
export const TEMP_FIXED_WORDS = 6;

export const W_CHUNK = 10;
export const W_TOP = 11;
export const W_END = 12;
export const W_TOP_PTR = 13;
export const W_FIRST = 14;
export const W_SPARES = 15;
export const W_CHUNKS = 16;
export const W_RESERVED = 17;
export const W_META_BYTES = 18;
export const W_LIVE_COUNT = 19;
export const W_LIVE_BYTES = 20;
export const W_PEAK_BYTES = 21;
export const D_FREES = 11;
/** First word a kind may use for its own state. */
export const TEMP_STATE_END = 24;

/** W_CONFIG bits. */
export const CONFIG_LEASED = 1;
export const CONFIG_DEBUG = 2;
export const CONFIG_ARENAS_SHIFT = 8;
export const CONFIG_ARENAS_MASK = 0x7f;
