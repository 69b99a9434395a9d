import { COUNT_MASK, FREE, SL_COUNT, W_FL_BITMAP, W_FREE_PAGES, W_HEADS, W_SL_BITMAPS, binFl, binSl, ffs, roundUpToBin } from "./layout.js";
import { PageMap } from "./page-map.js";

/**
 * Free spans, filed in TLSF-style bins over page counts (see layout.ts):
 * doubly linked lists through the next/prev page arrays, with a first-level
 * and 32 second-level bitmaps, so a fit is found with two bit scans.
 */
export abstract class PageBins extends PageMap {
  /** The head of a free span of at least `need` pages (not unlinked), or 0. O(1). */
  protected findFree(need: number): number {
    const u32 = this.u32;
    const cw = this.cw;
    const rounded = roundUpToBin(need);
    if (rounded > COUNT_MASK) return 0;
    let fl = binFl(rounded);
    const sl = binSl(rounded);
    let slMap = u32[cw + W_SL_BITMAPS + fl]! & (~0 << sl);
    if (slMap === 0) {
      const flMap = fl + 1 < 32 ? u32[cw + W_FL_BITMAP]! & (~0 << (fl + 1)) : 0;
      if (flMap === 0) return 0;
      fl = ffs(flMap);
      slMap = u32[cw + W_SL_BITMAPS + fl]!;
    }
    return u32[cw + W_HEADS + fl * SL_COUNT + ffs(slMap)]!;
  }

  /**
   * A span of at least `need` pages in `need`'s own bin, whose smaller spans
   * the good-fit search skips (a 9-page request looks from the bin [10, 11]
   * up; a 9-page span files in [8, 9]). O(spans in that bin): failing path
   * only. Bounded by the page count, so a damaged list cannot hang it.
   */
  protected findExact(need: number): number {
    if (need > COUNT_MASK) return 0;
    const u32 = this.u32;
    let node = u32[this.cw + W_HEADS + binFl(need) * SL_COUNT + binSl(need)]!;
    for (let steps = 0; node !== 0 && steps < this.maxPages; steps++) {
      if ((u32[this.stateBase + node]! & COUNT_MASK) >= need) return node;
      node = u32[this.nextBase + node]!;
    }
    return 0;
  }

  /** Marks [head, head+count) free and files it. */
  protected insertFree(head: number, count: number): void {
    this.writeSpan(head, count, FREE);
    this.link(head, count);
    const u32 = this.u32;
    this.store.put(u32, this.cw + W_FREE_PAGES, u32[this.cw + W_FREE_PAGES]! + count);
  }

  /** Takes the free span at `head` off its bin. */
  protected unlinkFree(head: number, count: number): void {
    this.unlink(head, count);
    const u32 = this.u32;
    this.store.put(u32, this.cw + W_FREE_PAGES, u32[this.cw + W_FREE_PAGES]! - count);
  }

  private link(head: number, count: number): void {
    const u32 = this.u32;
    const st = this.store;
    const cw = this.cw;
    const fl = binFl(count);
    const sl = binSl(count);
    const slot = cw + W_HEADS + fl * SL_COUNT + sl;
    const first = u32[slot]!;
    st.put(u32, this.nextBase + head, first);
    if (u32[this.prevBase + head] !== 0) st.put(u32, this.prevBase + head, 0);
    if (first !== 0) st.put(u32, this.prevBase + first, head);
    st.put(u32, slot, head);
    const slMap = u32[cw + W_SL_BITMAPS + fl]!;
    if ((slMap & (1 << sl)) === 0) st.put(u32, cw + W_SL_BITMAPS + fl, (slMap | (1 << sl)) >>> 0);
    const flMap = u32[cw + W_FL_BITMAP]!;
    if ((flMap & (1 << fl)) === 0) st.put(u32, cw + W_FL_BITMAP, (flMap | (1 << fl)) >>> 0);
  }

  private unlink(head: number, count: number): void {
    const u32 = this.u32;
    const st = this.store;
    const cw = this.cw;
    const next = u32[this.nextBase + head]!;
    const prev = u32[this.prevBase + head]!;
    if (next !== 0) st.put(u32, this.prevBase + next, prev);
    if (prev !== 0) {
      st.put(u32, this.nextBase + prev, next);
    } else {
      const fl = binFl(count);
      const sl = binSl(count);
      st.put(u32, cw + W_HEADS + fl * SL_COUNT + sl, next);
      if (next === 0) {
        const slMap = (u32[cw + W_SL_BITMAPS + fl]! & ~(1 << sl)) >>> 0;
        st.put(u32, cw + W_SL_BITMAPS + fl, slMap);
        if (slMap === 0) st.put(u32, cw + W_FL_BITMAP, (u32[cw + W_FL_BITMAP]! & ~(1 << fl)) >>> 0);
      }
    }
    if (next !== 0) st.put(u32, this.nextBase + head, 0);
    if (prev !== 0) st.put(u32, this.prevBase + head, 0);
  }
}
