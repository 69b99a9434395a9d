/**
 * Block stamps: the check word every temp-allocator block header carries so a
 * pointer can be told from an interior, foreign or stale one in O(1).
 *
 * A stamp mixes the block's address and size with a per-allocator key. A
 * header at `ptr - 8` (or `- 16`) that was not written by this allocator for
 * a block at exactly `ptr` matches with probability about 2^-32, so foreign
 * memory, a pointer into the middle of a block, and another temp allocator's
 * block (different key) are refused.
 */

/** First word of a padding record: no block header has it (sizes stay below 2^31 - 16). */
export const PAD_WORD = 0xffff_ffff;

/** murmur3's 32-bit finaliser over (ptr, size, key): cheap, and every input bit moves every output bit. Returns an int32. */
export function stampHash(ptr: number, size: number, key: number): number {
  let h = Math.imul(ptr ^ key, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h ^ size, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

let keyCounter = 0;

/**
 * A key for a new allocator whose control block is at `controlPtr`. Keys
 * differ between the temp allocators of one address space (the control
 * block's address is in it) and between those created in this JS realm, so
 * one allocator's headers never validate in another; they are deterministic,
 * so runs reproduce. The key is a fixed word of the control block: every
 * handle on the allocator stamps with it.
 */
export function nextAllocatorKey(controlPtr: number): number {
  keyCounter = (keyCounter + 1) | 0;
  return stampHash(keyCounter, controlPtr ^ 0x7e3a_11c5, 0x2545_f491) | 1;
}
