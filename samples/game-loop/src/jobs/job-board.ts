/*
 * The job board: how the main thread hands a frame's parallel phases to the
 * job workers without a message per frame. It is an Int32Array over a
 * SharedArrayBuffer (the sync words stay out of memkit's memory, so its
 * growth never moves them). A phase's units are cut into chunks (index
 * ranges); every thread, the main thread included, claims chunks until none
 * is left:
 *
 *   main                                         workers
 *   write the phase's parameters
 *   done = 0; claim = tag | 0; seq++  ───────►   wake on seq (Atomics.wait), read the phase
 *   notify(seq)
 *   claim a chunk, run it, done++ ...            claim a chunk, run it, done++ ... (CAS on claim)
 *   wait until done == chunks  ◄──────────────   the last one notifies
 *   merge the chunks' results in chunk order
 *
 * A worker that is descheduled (the machine is shared) simply claims
 * nothing: the others take its chunks, and the main thread waits only for
 * chunks that were started. The claim word carries the phase's sequence
 * number (its tag), so a worker that wakes late cannot claim a chunk of a
 * phase that is over. Every hand-over goes through an Atomics operation
 * (seq-cst), so what one side wrote before it (parameters, results, the
 * game's records in memkit's shared memory) is visible to the other after.
 * A worker that throws writes its message into the error buffer and sets
 * `failed`; the main thread throws it at its next join.
 */

/** Board words (i32 indices). */
export const W_SEQ = 0; // bumped once per dispatched phase
export const W_PHASE = 1; // the phase to run (PHASE_*)
export const W_PENDING = 2; // exit phase: workers not yet detached
export const W_FAILED = 3; // 0; -1 while a failing worker writes its message; then its number (jobs-N)
export const W_ERROR_BYTES = 4; // UTF-8 bytes of the failure in the error buffer
export const W_FRAME = 5; // the main thread's play frame
export const W_CLAIM = 6; // (tag << 16) | the next chunk to claim
export const W_DONE = 7; // chunks of the phase done
// The phase's parameters: the unit count and byte addresses of the records and per-frame arrays.
export const W_N = 8;
export const W_BODIES = 9; // physics bodies (record 0)
export const W_UNITS = 10; // gameplay units (record 0)
export const W_BRAINS = 11; // AI brains (record 0)
export const W_NEXT = 12; // spatial-hash chains: i32 per body, the next body in its cell (-1: none)
export const W_HEADS = 13; // spatial-hash heads: i32 per cell, its first body (-1: none)
export const W_FLOW = 14; // flow fields: i32 per team per cell, the next cell toward the enemy base
export const W_TARGETS = 15; // AI: i32 per unit, the dense index of its target (-1: none)
export const W_PLANS = 16; // AI: i32 per unit, a plan request (-1: none; see kernels.ts)
export const W_CHUNKS = 17; // chunks the phase's units are cut into
export const W_FAILED_PHASE = 18; // the phase and frame a failing worker was in
export const W_FAILED_FRAME = 19;
/** First result row; one row of RESULT_WORDS per chunk. */
export const W_RESULTS = 32;
export const RESULT_WORDS = 4;
export const R_CONTACTS = 0; // u32 index of the chunk's contact list
export const R_CONTACT_COUNT = 1; // its length (values, two per pair)
export const R_SENSES = 2; // sensing passes in the chunk
export const R_PLANS = 3; // paths planned in the chunk

/** Most chunks per phase. */
export const MAX_CHUNKS = 64;
const TAG_MASK = 0x7fff;

/** Phases. */
export const PHASE_EXIT = 1;
export const PHASE_CONTACTS = 2;
export const PHASE_AI_THINK = 3;
export const PHASE_AI_PLAN_STEER = 4;

/** Most workers (threads of the memory's table stay free for others). */
export const MAX_WORKERS = 16;
/** Bytes of the error buffer: a failing worker's message and stack, truncated. */
export const ERROR_BUFFER_BYTES = 16 << 10;

/** The phase's name, for messages. */
export function phaseName(phase: number): string {
  switch (phase) {
    case PHASE_EXIT:
      return "exit";
    case PHASE_CONTACTS:
      return "physics contacts";
    case PHASE_AI_THINK:
      return "AI think";
    case PHASE_AI_PLAN_STEER:
      return "AI plan and steer";
    default:
      return `phase ${phase}`;
  }
}

/** A new board. */
export function createBoard(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (W_RESULTS + RESULT_WORDS * MAX_CHUNKS)));
}

/** Chunks per phase for `threads` threads: a few each, so a late thread's share is small and the others absorb it. */
export function chunksFor(threads: number): number {
  return Math.min(MAX_CHUNKS, 4 * threads);
}

/** First index of chunk `chunk`'s range when `n` units are cut into `chunks`. */
export function rangeStart(n: number, chunk: number, chunks: number): number {
  return Math.floor((n * chunk) / chunks);
}

/** Opens phase sequence `seq` for claims: its tag, and chunk 0 next. */
export function openClaims(board: Int32Array, seq: number): void {
  Atomics.store(board, W_CLAIM, (seq & TAG_MASK) << 16);
}

/** Claims the next chunk of the phase with sequence `seq`: its index, or -1 when none is left (or that phase is over). */
export function claimChunk(board: Int32Array, seq: number): number {
  const tag = seq & TAG_MASK;
  for (;;) {
    const claim = Atomics.load(board, W_CLAIM);
    if (claim >>> 16 !== tag || (claim & 0xffff) >= board[W_CHUNKS]!) return -1;
    if (Atomics.compareExchange(board, W_CLAIM, claim, claim + 1) === claim) return claim & 0xffff;
  }
}

/** Counts a chunk done; the last one wakes the main thread. */
export function chunkDone(board: Int32Array): void {
  if (Atomics.add(board, W_DONE, 1) + 1 === board[W_CHUNKS]) Atomics.notify(board, W_DONE);
}
