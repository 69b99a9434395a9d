import type { Allocator } from "@memkit/core";

/**
 * What a backing allocator offers when it can take reclaim hooks: a page
 * allocator (`@memkit/page-allocator`), or an allocator in front of one
 * (the generic allocator). Checked by shape, so any backing works.
 */
interface ReclaimRegistry {
  addReclaimer(reclaim: () => number): () => void;
}

/**
 * Registers `reclaim` with `backing` when it takes reclaim hooks: before an
 * allocation fails there, the temp allocator is asked to give back the chunks
 * it only caches. Returns the function that unregisters it (a no-op when the
 * backing takes no hooks).
 */
export function registerReclaim(backing: Allocator, reclaim: () => number): () => void {
  const registry = backing as Allocator & Partial<ReclaimRegistry>;
  return typeof registry.addReclaimer === "function" ? registry.addReclaimer(reclaim) : () => undefined;
}
