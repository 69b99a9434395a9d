/**
 * Every magic byte and default the debug allocators use, by name (as
 * foonathan/memory's `debug_magic`), so a memory dump can be read at a glance:
 * `fd fd fd fd` is a canary, `66 66` freed memory, `cd cd` memory nobody wrote.
 */

/** Canary guard bytes around every block of a {@link CanaryAllocator} ("fence", as MSVC's no-man's land). */
export const FENCE_BYTE = 0xfd;

/** The guard zone of an {@link EndOfPageAllocator} span (Windows PageHeap's suffix fill). */
export const END_GUARD_BYTE = 0xd0;

/** What {@link FillAllocator} writes into a fresh block by default ("clean", never written by the caller). */
export const CLEAN_BYTE = 0xcd;

/** What freed and quarantined blocks are filled with (the Bitsquid engine's clear-on-free byte). */
export const FREED_BYTE = 0x66;

/** Guard bytes on each side of a canary block. */
export const DEFAULT_GUARD_BYTES = 16;

/** Minimum guard zone of an end-of-page span. */
export const DEFAULT_END_GUARD_BYTES = 256;

/** Bytes a quarantine holds back before it really frees the oldest block. */
export const DEFAULT_QUARANTINE_BYTES = 1 << 20;

/** Blocks a quarantine holds back at most (bounds it when many blocks are tiny). */
export const DEFAULT_QUARANTINE_BLOCKS = 4096;

/** Recently freed pointers each wrapper remembers, so a second free reads as a double free (with the first free's stack). */
export const DEFAULT_FREE_HISTORY = 1024;

/** Seed of the random allocation fill when none is given. */
export const DEFAULT_FILL_SEED = 0x0badf00d;
