/*
 * What the soak's main thread and workers share (soak.ts, soak-worker.ts):
 * the block pattern, the rings through which a worker hands blocks to
 * another one to free, and the victim's ledger.
 */

/** The scopes the soak allocates through: memory.default (the root) and two children. */
export const SOAK_SCOPES = ["", "physics", "ai"] as const;

/**
 * Fills a block with a pattern that is a function of its address: int32
 * words over the whole words (blocks are at least 8-aligned), bytes over the
 * tail. A block handed out twice, moved, or written by another thread fails
 * {@link holdsPattern}. (@memkit/test-workers' pattern is a byte loop in a
 * TypeScript-only package; the soak writes 5-10 GB of patterns, so words.)
 */
export function fillPattern(i32: Int32Array, u8: Uint8Array, ptr: number, size: number): void {
  const words = size >>> 2;
  const w0 = ptr >>> 2;
  for (let i = 0; i < words; i++) i32[w0 + i] = ptr ^ Math.imul(i + 1, 0x9e3779b9);
  for (let b = words << 2; b < size; b++) u8[ptr + b] = (ptr + b) & 255;
}

/** True when the block still holds its {@link fillPattern}. */
export function holdsPattern(i32: Int32Array, u8: Uint8Array, ptr: number, size: number): boolean {
  const words = size >>> 2;
  const w0 = ptr >>> 2;
  for (let i = 0; i < words; i++) if (i32[w0 + i] !== (ptr ^ Math.imul(i + 1, 0x9e3779b9))) return false;
  for (let b = words << 2; b < size; b++) if (u8[ptr + b] !== ((ptr + b) & 255)) return false;
  return true;
}

/*
 * A ring from one worker (the giver) to another (the receiver), int32 words:
 *   0 published   entries the giver wrote (it only grows)
 *   1 taken       entries the receiver freed (it only grows)
 *   2 done        the giver gives no more (the main thread sets it for a dead giver)
 *   3 closed      the receiver is dead: give it nothing more
 *   4..           RING_CAPACITY entries of (ptr, size, scope index)
 */
export const RING_PUBLISHED = 0;
export const RING_TAKEN = 1;
export const RING_DONE = 2;
export const RING_CLOSED = 3;
const RING_HEADER = 4;
export const RING_ENTRY = 3;
export const RING_CAPACITY = 1 << 15;
export const RING_BYTES = 4 * (RING_HEADER + RING_ENTRY * RING_CAPACITY);

/** Int32 index of ring entry number `n` (counts from 0 for ever; wraps around the capacity). */
export function ringEntry(n: number): number {
  return RING_HEADER + RING_ENTRY * (n % RING_CAPACITY);
}

/*
 * The victim's ledger (int32 words), so the main thread knows exactly what it
 * held when it was terminated:
 *   0 intent kind   INTENT_NONE, or the operation under way
 *   1 intent ptr    its block (0 for an allocation not returned yet)
 *   2 intent size
 *   3 intent scope
 *   4 held          blocks in the list below
 *   5 progress      ops done (the main thread terminates the victim once it passes a mark)
 *   6..             (ptr, size, scope) per held block
 * The intent is written before an operation and cleared after the list is
 * updated, so a block whose state the list may not show is always the intent's.
 */
export const INTENT_NONE = 0;
export const INTENT_ALLOC = 1;
export const INTENT_FREE = 2;
export const INTENT_GIVE = 3;
export const INTENT_TAKE = 4;
export const LEDGER_INTENT = 0;
export const LEDGER_HELD = 4;
export const LEDGER_PROGRESS = 5;
export const LEDGER_ENTRIES = 6;
export const LEDGER_CAPACITY = 1 << 16;
export const LEDGER_BYTES = 4 * (LEDGER_ENTRIES + 3 * LEDGER_CAPACITY);

/** One block: where, how many bytes asked for, and which of {@link SOAK_SCOPES}. */
export interface SoakBlock {
  ptr: number;
  size: number;
  scope: number;
}

/** What a worker tells the main thread once it has run its ops and drained its inbox. */
export interface HoldingReport {
  kind: "holding";
  /** Blocks it still holds, flattened (ptr, size, scope). */
  held: number[];
  ops: number;
  allocs: number;
  localFrees: number;
  /** Blocks it handed to other workers. */
  given: number;
  /** Blocks of other workers it freed. */
  taken: number;
  badPatterns: number;
}

/** What a worker tells the main thread after freeing what it held and detaching. */
export interface DoneReport {
  kind: "done";
  badPatterns: number;
}
