import { CorruptionError } from "./errors.js";
import { hex } from "./format.js";

/*
 * A remote-free list: blocks another thread freed, waiting for the thread
 * that owns their allocator to take them back (docs/threads.md). A lock-free
 * stack in linear memory: its head is one int32 word (a block pointer, 0 when
 * empty), and each block on it holds the next block's pointer in its first
 * four bytes (the block is free, so those bytes are the allocator's).
 *
 * Any thread pushes, with a compare-and-swap on the head; only the owner
 * takes, and it takes the whole list at once with one exchange, so the stack
 * never pops a single node and has no ABA problem. The link is a plain store
 * sequenced before the compare-and-swap that publishes the block, and the
 * owner reads the links after the exchange that received them: Atomics
 * operations are sequentially consistent, so the owner sees every link.
 */

/**
 * Pushes the free block at `ptr` (non-zero, 4-aligned, at least 4 bytes
 * long) onto the list whose head is `i32[head]`. Any thread; lock-free.
 */
export function pushRemoteFree(i32: Int32Array, head: number, ptr: number): void {
  let seen = Atomics.load(i32, head);
  for (;;) {
    i32[ptr >>> 2] = seen;
    const was = Atomics.compareExchange(i32, head, seen, ptr);
    if (was === seen) return;
    seen = was;
  }
}

/**
 * Takes the whole list whose head is `i32[head]`, leaving it empty; returns
 * its first block (0 when it was empty). Follow the links with
 * {@link nextRemoteFree}. The owner of the allocator only.
 */
export function takeRemoteFrees(i32: Int32Array, head: number): number {
  // A plain read first: most calls find the list empty and need no locked instruction.
  return i32[head] === 0 ? 0 : Atomics.exchange(i32, head, 0);
}

/** The block after `ptr` on a list taken by {@link takeRemoteFrees} (0 at the end). */
export function nextRemoteFree(i32: Int32Array, ptr: number): number {
  return i32[ptr >>> 2]!;
}

/** The list's first block without taking it (for check() walks; the owner only, as pushes only prepend). */
export function peekRemoteFrees(i32: Int32Array, head: number): number {
  return Atomics.load(i32, head);
}

/**
 * Takes the whole list whose head is word `head` and frees each block with
 * `free`, after `isLive` says it is a live block of the owner (the owner
 * only). `view` gives the current int32 view: a free may grow the memory.
 * A list entry that is not live (a block pushed twice, or a list written
 * over) ends the walk with a CorruptionError naming `who`; what came before
 * it is freed. Returns how many blocks were freed. A cold path (the
 * callbacks are closures).
 */
export function collectRemoteFrees(view: () => Int32Array, head: number, isLive: (ptr: number) => boolean, free: (ptr: number) => void, who: string): number {
  let ptr = takeRemoteFrees(view(), head);
  let n = 0;
  while (ptr !== 0) {
    if (!isLive(ptr)) {
      throw new CorruptionError(
        `${who}: entry ${n} of the remote-free list, ${hex(ptr >>> 0)}, is not a live block of it ` +
          `(freed twice by other threads, or the list was overwritten); the entries after it are lost.`,
      );
    }
    const next = nextRemoteFree(view(), ptr);
    free(ptr);
    ptr = next;
    n++;
  }
  return n;
}
