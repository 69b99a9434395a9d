import { OutOfMemoryError, formatBytes, formatSize, type AllocatorError } from "@memkit/core";
import {
  COUNT_MASK,
  FREE,
  FREED,
  USED,
  W_ALLOC_COUNT,
  W_FREE_PAGES,
  W_LIVE_PAGES,
  W_LIVE_SPANS,
  W_PEAK_LIVE_PAGES,
  W_TOP_PAGE,
} from "./layout.js";
import { PageBins } from "./bins.js";
import { Reclaimers } from "./reclaimers.js";

/**
 * Taking and giving back spans: split a free span to fit (and to align),
 * carve new pages from the wilderness, coalesce a freed span with its free
 * neighbours through their boundary words, and, before failing, ask the
 * lessees for their cached pages.
 */
export abstract class PageSpans extends PageBins {
  /** Lessees asked to give back cached pages before an allocation fails: JS callbacks, so one list per handle. */
  protected readonly reclaimers = new Reclaimers();

  /**
   * Finds (or carves) `count` pages aligned to `align`, marks them used,
   * counts the allocation; returns the head page. When nothing fits, returns 0
   * (changing nothing) so the caller can ask the reclaimers outside the lock
   * and call again with `last` set, which throws OutOfMemoryError instead.
   */
  protected take(count: number, align: number, size: number, last: boolean): number {
    const alignPages = align > this.pageSize ? align >>> this.pageShift : 1;
    const need = count + alignPages - 1;
    if (need > this.maxPages) throw this.outOfMemory(size, align);
    let head = this.findFree(need);
    if (head === 0) {
      head = this.takeSlow(need, size, align, last);
      if (head === 0) return 0;
    }
    const u32 = this.u32;
    const st = this.store;
    const sb = this.stateBase;
    const avail = u32[sb + head]! & COUNT_MASK;
    this.unlinkFree(head, avail);
    st.put(u32, sb + head, u32[sb + head]! & FREED);
    if (avail > 1) st.put(u32, sb + head + avail - 1, u32[sb + head + avail - 1]! & FREED);
    const start = (head + alignPages - 1) & -alignPages; // alignPages is a power of two
    if (start > head) this.insertFree(head, start - head);
    if (head + avail > start + count) this.insertFree(start + count, head + avail - start - count);
    // Interior words may hold FREED marks from earlier spans; a used span's interior is all zero.
    for (let i = start + 1; i < start + count - 1; i++) this.clearMark(sb + i);
    this.writeSpan(start, count, USED);
    st.put(u32, this.cw + W_LIVE_SPANS, u32[this.cw + W_LIVE_SPANS]! + 1);
    st.put(u32, this.cw + W_ALLOC_COUNT, u32[this.cw + W_ALLOC_COUNT]! + 1);
    this.addLivePages(count);
    return start;
  }

  /**
   * No bin at or above the rounded request holds a span: carve from the
   * wilderness; failing that, search the request's own bin exactly. Returns
   * a listed free span of at least `need` pages, or 0 — or, when `last`,
   * throws OutOfMemoryError (the latest figures) — and changes nothing. An
   * ended handle (its views are empty) lands here and throws DestroyedError.
   */
  private takeSlow(need: number, size: number, align: number, last: boolean): number {
    this.assertAlive("allocate");
    try {
      return this.carve(need, size, align);
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
      const exact = this.findExact(need);
      if (exact !== 0) return exact;
      if (last) throw err;
      return 0;
    }
  }

  /** Asks the lessees registered with this handle for their cached pages; the bytes they gave back, or -1 when none was asked. */
  protected runReclaimers(): number {
    return this.reclaimers.run();
  }

  /**
   * Grows the carved region so a listed free span of `need` pages sits at its
   * top (extending a free span already there), growing the memory as needed.
   * Returns that span's head. Throws OutOfMemoryError and changes nothing
   * when the maximum is reached.
   */
  private carve(need: number, size: number, align: number): number {
    let top: number;
    let reuse: number;
    let start: number;
    let newTop: number;
    // Grow first, then read the state again: growth runs onGrow listeners, user
    // code that may itself allocate or free pages here. Nothing is claimed until
    // the memory is large enough and no listener can run.
    for (;;) {
      top = this.u32[this.cw + W_TOP_PAGE]!;
      reuse = 0;
      if (top > this.firstPage) {
        const t = this.u32[this.stateBase + top - 1]!;
        if ((t & FREE) !== 0) reuse = t & COUNT_MASK;
      }
      start = top - reuse;
      // The free span at the top already holds `need` pages (findFree's rounded-up bins can miss it):
      // hand it out as it is. Extending it would move the top down and strand the pages above.
      if (reuse >= need) return start;
      newTop = start + need;
      if (newTop > this.maxPages) throw this.outOfMemory(size, align);
      if (newTop * this.pageSize <= this.space.byteLength) break;
      try {
        this.space.ensureByteLength(newTop * this.pageSize);
      } catch (cause) {
        throw this.outOfMemory(size, align, cause);
      }
    }
    // Another thread may have grown the memory past this thread's views: catch up before handing pages out.
    if (newTop * this.pageSize > this.u8.length) this.space.refresh();
    const u32 = this.u32; // a grow listener replaced the view
    const st = this.store;
    if (reuse > 0) {
      this.unlinkFree(start, reuse);
      if (reuse > 1) st.put(u32, this.stateBase + top - 1, u32[this.stateBase + top - 1]! & FREED);
    }
    st.put(u32, this.cw + W_TOP_PAGE, newTop);
    this.insertFree(start, need);
    return start;
  }

  /** Frees [head, head+count) and merges with free neighbours. */
  protected release(head: number, count: number): void {
    const u32 = this.u32;
    const st = this.store;
    const sb = this.stateBase;
    st.put(u32, sb + head, FREED); // stays marked even when merged away: a second free reads as a double free
    if (count > 1) st.put(u32, sb + head + count - 1, 0); // an interior word from now on
    let start = head;
    let total = count;
    if (head > this.firstPage) {
      const left = u32[sb + head - 1]!;
      if ((left & FREE) !== 0) {
        const lc = left & COUNT_MASK;
        start = head - lc;
        this.unlinkFree(start, lc);
        st.put(u32, sb + start, u32[sb + start]! & FREED);
        if (lc > 1) st.put(u32, sb + head - 1, u32[sb + head - 1]! & FREED);
        total += lc;
      }
    }
    const right = head + count;
    if (right < u32[this.cw + W_TOP_PAGE]!) {
      const rs = u32[sb + right]!;
      if ((rs & FREE) !== 0) {
        const rc = rs & COUNT_MASK;
        this.unlinkFree(right, rc);
        st.put(u32, sb + right, u32[sb + right]! & FREED);
        if (rc > 1) st.put(u32, sb + right + rc - 1, u32[sb + right + rc - 1]! & FREED);
        total += rc;
      }
    }
    this.insertFree(start, total);
  }

  protected addLivePages(count: number): void {
    const u32 = this.u32;
    const st = this.store;
    const live = u32[this.cw + W_LIVE_PAGES]! + count;
    st.put(u32, this.cw + W_LIVE_PAGES, live);
    if (live > u32[this.cw + W_PEAK_LIVE_PAGES]!) st.put(u32, this.cw + W_PEAK_LIVE_PAGES, live);
  }

  /** The error for a request that cannot be met (DestroyedError on an ended handle, whose figures are gone). */
  protected outOfMemory(size: number, align: number, cause?: unknown): AllocatorError {
    if (!this.alive) return this.endedError("allocate");
    const u32 = this.u32;
    const cw = this.cw;
    const reserved = (u32[cw + W_TOP_PAGE]! - this.firstPage) * this.pageSize;
    return new OutOfMemoryError(
      `${this.name}: cannot allocate ${formatSize(size)} (align ${align}): ` +
        `${formatBytes(u32[cw + W_LIVE_PAGES]! * this.pageSize)} live in ${u32[cw + W_LIVE_SPANS]} spans, ${formatBytes(reserved)} reserved, ` +
        `${formatBytes(u32[cw + W_FREE_PAGES]! * this.pageSize)} free in carved pages, ` +
        `${formatBytes(this.maxPages * this.pageSize)} maximum.\n  Raise maximumBytes or free spans.`,
      cause === undefined ? undefined : { cause },
    );
  }
}
