/**
 * A lessee's hook: give back to the page allocator every page it holds only
 * as a cache (empty spans, empty slabs, spare chunks) and return the bytes
 * given back (0 when it had none). Called on the failing path of an
 * allocation, so it must not allocate from the page allocator itself (such
 * an allocation fails as it would without the hook).
 */
export type PageReclaimer = () => number;

/** Anything that can register a {@link PageReclaimer}: a page allocator, or an allocator in front of one. */
export interface ReclaimRegistry {
  /** Registers `reclaim`; returns a function that unregisters it (idempotent). */
  addReclaimer(reclaim: PageReclaimer): () => void;
}

/**
 * The reclaimers registered with one page allocator handle. A JS-side list:
 * callbacks cannot live in linear memory, so each handle (each thread) asks
 * the lessees it knows about.
 */
export class Reclaimers implements ReclaimRegistry {
  #list: PageReclaimer[] = [];
  #running = false;

  addReclaimer(reclaim: PageReclaimer): () => void {
    this.#list.push(reclaim);
    return () => {
      const i = this.#list.indexOf(reclaim);
      if (i >= 0) this.#list.splice(i, 1);
    };
  }

  /**
   * Asks every reclaimer in registration order; returns the bytes they gave
   * back, or -1 when there is nothing to ask (none registered, or a reclaim
   * is already running: a reclaimer's own failing allocation does not start
   * another round). A reclaimer that throws stops the round and the error
   * propagates.
   */
  run(): number {
    if (this.#running || this.#list.length === 0) return -1;
    this.#running = true;
    try {
      let bytes = 0;
      for (const reclaim of this.#list.slice()) bytes += reclaim();
      return bytes;
    } finally {
      this.#running = false;
    }
  }
}
