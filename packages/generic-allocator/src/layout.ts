import { CONTROL_BLOCK_HEADER_WORDS, type ControlLayout } from "@memkit/core";

/*
 * The generic allocator's control block: which tiers it routes to, its
 * routing policy, and the large-span counters. It lives in a page span of
 * its own, tagged `largeOwnerId << 24 | CONTROL_TAG` so routing sends a
 * pointer into it to the large tier, which refuses it (large spans carry
 * data 0).
 *
 *   word    field
 *   0..3    core's header: magic "GNRC", layout version, bytes, seal
 *   ---- fixed words (written once, covered by the seal) ----
 *   4       pagesPtr         controlPtr of the page allocator every tier leases from
 *   5       slotsPtr         controlPtr of the slot tier ("SLOT")
 *   6       heapPtr          controlPtr of the heap tier ("HEAP")
 *   7       largeOwnerId     page-map owner of large spans and of this block's span (1..255)
 *   8       smallMax         sizes up to this (and align up to smallAlignMax) go to slots
 *   9       smallAlignMax    a power of two
 *   10      largeThreshold   sizes from this up are large spans
 *   11      routesPtr        the routes table shared with other threads' generic allocators (routes.ts; 0 = none)
 *   ---- state (float64 slots, from the block's float64 index) ----
 *   12      D_LARGE_BYTES    bytes of live large spans (whole pages)
 *   14      D_LARGE_COUNT    live large spans
 *   16      D_LARGE_PEAK     highest D_LARGE_BYTES since the last resetPeak
 *   18      D_LARGE_ALLOCS   large spans ever handed out
 *   20      D_LARGE_FREES    large spans ever freed
 *   22      remoteHead       first large span another thread freed, awaiting collection (0 = none)
 *   23      (0)
 *   24      end (96 bytes)
 *
 * The large spans themselves are the page map's: every live span tagged
 * `largeOwnerId << 24 | 0` is one, so check() and destroy() find them there.
 */

export const W_PAGES = CONTROL_BLOCK_HEADER_WORDS;
export const W_SLOTS = W_PAGES + 1;
export const W_HEAP = W_PAGES + 2;
export const W_LARGE_OWNER = W_PAGES + 3;
export const W_SMALL_MAX = W_PAGES + 4;
export const W_SMALL_ALIGN_MAX = W_PAGES + 5;
export const W_LARGE_THRESHOLD = W_PAGES + 6;
export const W_ROUTES = W_PAGES + 7;
export const FIXED_WORDS = 8;

export const D_LARGE_BYTES = (CONTROL_BLOCK_HEADER_WORDS + FIXED_WORDS) / 2;
export const D_LARGE_COUNT = D_LARGE_BYTES + 1;
export const D_LARGE_PEAK = D_LARGE_BYTES + 2;
export const D_LARGE_ALLOCS = D_LARGE_BYTES + 3;
export const D_LARGE_FREES = D_LARGE_BYTES + 4;

/** Head of the remote-free list of large spans: freed by other threads, collected by the owner. */
export const W_REMOTE_HEAD = (D_LARGE_FREES + 1) * 2;

/** Bytes of the control block. */
export const CONTROL_BYTES = (W_REMOTE_HEAD + 2) * 4;

/** Tag data of the control block's span (large spans carry 0). */
export const CONTROL_TAG = 1;

/** Identifies a generic allocator's control block. */
export const GENERIC_LAYOUT: ControlLayout = { kind: "GenericAllocator", magic: "GNRC", version: 2, fixedWords: FIXED_WORDS };
