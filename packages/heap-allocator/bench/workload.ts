import { SeededRandom } from "@memkit/core";

/** Workload C: log-uniform sizes 16 B..64 KiB, 2,000 live blocks, 200k steady-state operations. */
export interface Workload {
  /** Sizes of the blocks allocated first, then one per replacement. */
  sizes: Uint32Array;
  /** Which live slot each replacement frees. */
  slots: Uint32Array;
  live: number;
}

export function workloadC(ops = 200_000, live = 2000, seed = 0xc0ffee): Workload {
  const rng = new SeededRandom(seed);
  const replacements = ops >>> 1; // each replacement is one free and one allocate
  const sizes = new Uint32Array(live + replacements);
  for (let i = 0; i < sizes.length; i++) sizes[i] = rng.logUniform(16, 65536);
  const slots = new Uint32Array(replacements);
  for (let i = 0; i < replacements; i++) slots[i] = rng.int(0, live - 1);
  return { sizes, slots, live };
}

/** Minimal allocator surface the runner drives. */
export interface Malloc {
  alloc(size: number): number;
  free(ptr: number): void;
}

/**
 * Runs the workload once; returns the peak of the asked-for live bytes.
 * `beforeFreeAll` runs after the steady phase (to read footprints).
 * Operations counted: live + 2 * replacements + live (the final frees).
 */
export function run(w: Workload, a: Malloc, ptrs: Uint32Array, liveSizes: Uint32Array, beforeFreeAll?: () => void): number {
  const { sizes, slots, live } = w;
  let liveBytes = 0;
  for (let i = 0; i < live; i++) {
    ptrs[i] = a.alloc(sizes[i]!);
    liveSizes[i] = sizes[i]!;
    liveBytes += sizes[i]!;
  }
  let peak = liveBytes;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    a.free(ptrs[slot]!);
    liveBytes -= liveSizes[slot]!;
    const size = sizes[live + i]!;
    ptrs[slot] = a.alloc(size);
    liveSizes[slot] = size;
    liveBytes += size;
    if (liveBytes > peak) peak = liveBytes;
  }
  beforeFreeAll?.();
  for (let i = 0; i < live; i++) a.free(ptrs[i]!);
  return peak;
}

export function opsOf(w: Workload): number {
  return 2 * w.live + 2 * w.slots.length;
}
