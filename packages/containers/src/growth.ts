/** Capacity multiplier when a container finds itself full. */
export const CONTAINER_GROWTH_FACTOR = 2;
/** Smallest capacity a growing array allocates (elements or records). */
export const CONTAINER_MIN_CAPACITY = 8;

/**
 * The capacity to grow to when `needed` elements must fit:
 * `max(needed, 2 × current, 8)`, capped at `max`. Doubling makes a run of
 * pushes amortised O(1) with at most half the block unused.
 */
export function grownCapacity(current: number, needed: number, max: number): number {
  return Math.min(max, Math.max(needed, current * CONTAINER_GROWTH_FACTOR, CONTAINER_MIN_CAPACITY));
}
