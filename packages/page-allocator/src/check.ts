import { hex, type CorruptionError } from "@memkit/core";
import {
  COUNT_MASK,
  FL_COUNT,
  FREE,
  FREED,
  FREE_HEAD,
  HEAD,
  SL_COUNT,
  USED,
  W_FL_BITMAP,
  W_FREE_PAGES,
  W_HEADS,
  W_LIVE_PAGES,
  W_LIVE_SPANS,
  W_SL_BITMAPS,
  W_TOP_PAGE,
  binFl,
  binSl,
} from "./layout.js";

/** Where a page allocator's arrays live in `u32` (word indexes), and how it reports a fault. */
export interface PageMapView {
  cw: number;
  firstPage: number;
  stateBase: number;
  tagWordBase: number;
  nextBase: number;
  prevBase: number;
  corrupt: (page: number, what: string) => CorruptionError;
}

/**
 * Walks every carved span and every bin list and verifies boundary words,
 * interior words, coalescing (no two adjacent free spans), free pages carry no
 * tag, bins and bitmaps, list links and the counters. Throws the
 * CorruptionError `m.corrupt` builds at the first fault. O(spans + free pages).
 */
export function checkPageMap(u32: Uint32Array, m: PageMapView): void {
  const sb = m.stateBase;
  const cw = m.cw;
  const top = u32[cw + W_TOP_PAGE]!;
  let livePages = 0;
  let liveSpans = 0;
  let freePages = 0;
  let freeSpans = 0;
  let prevFree = false;
  for (let page = m.firstPage; page < top; ) {
    const s = u32[sb + page]!;
    const count = s & COUNT_MASK;
    const used = (s & USED) !== 0;
    if ((s & HEAD) === 0 || count === 0 || page + count > top || used === ((s & FREE) !== 0)) {
      throw m.corrupt(page, `bad span head word ${hex(s)}`);
    }
    if (count > 1 && (u32[sb + page + count - 1]! & ~FREED) !== (s & ~HEAD & ~FREED)) {
      throw m.corrupt(page, `tail word ${hex(u32[sb + page + count - 1]!)} does not match head ${hex(s)} (${count} pages)`);
    }
    for (let i = page + 1; i < page + count - 1; i++) {
      const w = u32[sb + i]!;
      if (w !== 0 && (used || w !== FREED)) throw m.corrupt(i, `interior page of a ${used ? "used" : "free"} span holds ${hex(w)}`);
    }
    if (used) {
      livePages += count;
      liveSpans++;
      prevFree = false;
    } else {
      if (prevFree) throw m.corrupt(page, "two adjacent free spans were not coalesced");
      freePages += count;
      freeSpans++;
      prevFree = true;
      for (let i = page; i < page + count; i++) {
        if (u32[m.tagWordBase + i] !== 0) throw m.corrupt(i, "a free page still carries a tag");
      }
    }
    page += count;
  }
  let listed = 0;
  const flBitmap = u32[cw + W_FL_BITMAP]!;
  for (let fl = 0; fl < FL_COUNT; fl++) {
    const slBitmap = u32[cw + W_SL_BITMAPS + fl]!;
    if (((flBitmap >>> fl) & 1) !== (slBitmap !== 0 ? 1 : 0)) throw m.corrupt(0, `first-level bit ${fl} disagrees with its second-level bitmap`);
    for (let sl = 0; sl < SL_COUNT; sl++) {
      let node = u32[cw + W_HEADS + fl * SL_COUNT + sl]!;
      if (((slBitmap >>> sl) & 1) !== (node !== 0 ? 1 : 0)) throw m.corrupt(0, `bitmap bit (${fl}, ${sl}) disagrees with its list`);
      let prev = 0;
      while (node !== 0) {
        const s = u32[sb + node]!;
        const count = s & COUNT_MASK;
        if ((s & FREE_HEAD) !== FREE_HEAD) throw m.corrupt(node, `listed in bin (${fl}, ${sl}) but not a free span head`);
        if (binFl(count) !== fl || binSl(count) !== sl) throw m.corrupt(node, `${count} pages filed in the wrong bin (${fl}, ${sl})`);
        if (u32[m.prevBase + node] !== prev) throw m.corrupt(node, "free-list back link is wrong");
        if (++listed > freeSpans) throw m.corrupt(node, "more spans on the free lists than free spans (a cycle?)");
        prev = node;
        node = u32[m.nextBase + node]!;
      }
    }
  }
  if (listed !== freeSpans) throw m.corrupt(0, `${freeSpans} free spans but ${listed} on the free lists`);
  if (livePages !== u32[cw + W_LIVE_PAGES] || liveSpans !== u32[cw + W_LIVE_SPANS] || freePages !== u32[cw + W_FREE_PAGES]) {
    throw m.corrupt(0, `counters say ${u32[cw + W_LIVE_SPANS]} spans/${u32[cw + W_LIVE_PAGES]} live pages/${u32[cw + W_FREE_PAGES]} free pages, the walk found ${liveSpans}/${livePages}/${freePages}`);
  }
}
