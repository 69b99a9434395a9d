/*
 * The byte pattern thread tests write into every block: a function of the
 * block's address, so a block that moved, was handed out twice or was
 * overwritten by another thread fails the check.
 */

/** Fills `size` bytes at `ptr` with the block's pattern. */
export function fillPattern(u8: Uint8Array, ptr: number, size: number): void {
  for (let b = 0; b < size; b++) u8[ptr + b] = ((ptr >>> 3) + b) % 251;
}

/** True when the `size` bytes at `ptr` still hold the block's pattern. */
export function holdsPattern(u8: Uint8Array, ptr: number, size: number): boolean {
  return holdsPatternOf(u8, ptr, ptr, size);
}

/** True when the `size` bytes at `ptr` hold the pattern of the block that was at `origin` (a block reallocate moved). */
export function holdsPatternOf(u8: Uint8Array, ptr: number, origin: number, size: number): boolean {
  for (let b = 0; b < size; b++) if (u8[ptr + b] !== ((origin >>> 3) + b) % 251) return false;
  return true;
}
