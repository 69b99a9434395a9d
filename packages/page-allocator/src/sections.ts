import type { SharedLock } from "@memkit/core";
import { COUNT_MASK, W_FREE_COUNT, W_LIVE_PAGES, W_LIVE_SPANS, W_TOP_PAGE } from "./layout.js";
import { PageSpans } from "./spans.js";

/**
 * How a page allocator operation runs: on a private space directly; on a
 * shared one holding the allocator's lock, after catching up with growth
 * made by other threads, rolled back when it throws. Also the pieces the
 * public operations share: freeing a span, and the retry after the
 * reclaimers ran (outside the lock).
 */
export abstract class PageSections extends PageSpans {
  /** Frees the live span whose head page is `head`: tags cleared, merged, counted. */
  protected freeSpan(head: number): void {
    const u32 = this.u32;
    const st = this.store;
    const count = u32[this.stateBase + head]! & COUNT_MASK;
    this.clearTags(head, count);
    this.release(head, count);
    st.put(u32, this.cw + W_LIVE_SPANS, u32[this.cw + W_LIVE_SPANS]! - 1);
    st.put(u32, this.cw + W_LIVE_PAGES, u32[this.cw + W_LIVE_PAGES]! - count);
    st.put(u32, this.cw + W_FREE_COUNT, u32[this.cw + W_FREE_COUNT]! + 1);
  }

  /** An allocation found no room: ask the lessees for their cached pages (outside the lock), then try once more or throw OutOfMemoryError. */
  protected takeAfterReclaim(count: number, align: number, size: number): number {
    this.runReclaimers();
    const lock = this.lock;
    if (lock === null) return this.take(count, align, size, true);
    this.enter(lock, "allocate");
    try {
      this.follow();
      return this.take(count, align, size, true);
    } catch (err) {
      lock.rollback();
      throw err;
    } finally {
      lock.release();
    }
  }

  /**
   * Takes the lock for `op` (an ended handle throws DestroyedError first: its
   * control block may be gone). Not re-entrant: a grow listener or a span
   * visitor that calls back into this allocator on a shared space throws.
   */
  protected enter(lock: SharedLock, op: string): void {
    if (!this.alive) throw this.endedError(op);
    lock.acquire();
  }

  /** Holding the lock: when another thread carved pages past this thread's views, catch up before following any pointer. */
  protected follow(): void {
    if (this.u32[this.cw + W_TOP_PAGE]! * this.pageSize > this.u8.length) this.space.refresh();
  }

  /** Runs `body` holding the lock on a shared space (undoing it if it throws), directly on a private one. For cold calls. */
  protected locked<T>(op: string, body: () => T): T {
    this.assertAlive(op);
    const lock = this.lock;
    if (lock === null) return body();
    this.enter(lock, op);
    try {
      this.follow();
      return body();
    } catch (err) {
      lock.rollback();
      throw err;
    } finally {
      lock.release();
    }
  }
}
