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
  W_OWNER_COUNT,
  W_PEAK_LIVE_PAGES,
  W_SL_BITMAPS,
  W_TOP_PAGE,
  binFl,
  binSl,
} from "./layout.js";
import { nameTableFault } from "./owner-names.js";

/** Where a page allocator's arrays live in `u32` (word indexes), and how it reports a fault. */
export interface PageMapView {
  cw: number;
  firstPage: number;
  maxPages: number;
  stateBase: number;
  tagWordBase: number;
  nextBase: number;
  prevBase: number;
  corrupt: (page: number, what: string) => CorruptionError;
}

/**
 * Walks every carved span and every bin list and verifies boundary words,
 * interior words, coalescing (no two adjacent free spans), tags (a used
 * span's pages all carry its head's tag, of a registered owner; free and
 * uncarved pages none), bins and bitmaps, list links, the counters and the
 * owner name table. Throws the CorruptionError `m.corrupt` builds at the
 * first fault. O(maxPages) word reads; bounded whatever the damage.
 */
export function checkPageMap(u8: Uint8Array, u32: Uint32Array, m: PageMapView): void {
  const sb = m.stateBase;
  const tb = m.tagWordBase;
  const cw = m.cw;
  const top = u32[cw + W_TOP_PAGE]!;
  if (top < m.firstPage || top > m.maxPages) throw m.corrupt(0, `top page ${top} outside ${m.firstPage}..${m.maxPages}`);
  const owners = u32[cw + W_OWNER_COUNT]!;
  const fault = nameTableFault(u8, u32, cw);
  if (fault !== undefined) throw m.corrupt(0, `owner name table: ${fault}`);
  for (let page = 0; page < m.maxPages; page = page === m.firstPage - 1 ? top : page + 1) {
    if (page >= m.firstPage && page < top) continue;
    if (u32[sb + page] !== 0 || u32[tb + page] !== 0) throw m.corrupt(page, `a page outside the carved range holds state ${hex(u32[sb + page]!)}, tag ${hex(u32[tb + page]!)}`);
  }
  let livePages = 0;
  let liveSpans = 0;
  let freePages = 0;
  const freeHeads = new Set<number>();
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
      const tag = u32[tb + page]!;
      if (tag >>> 24 > owners) throw m.corrupt(page, `tag ${hex(tag)} names owner ${tag >>> 24}, but only ${owners} are registered`);
      for (let i = page + 1; i < page + count; i++) {
        if (u32[tb + i] !== tag) throw m.corrupt(i, `page tag ${hex(u32[tb + i]!)} differs from its span's tag ${hex(tag)}`);
      }
      livePages += count;
      liveSpans++;
      prevFree = false;
    } else {
      if (prevFree) throw m.corrupt(page, "two adjacent free spans were not coalesced");
      freePages += count;
      freeHeads.add(page);
      prevFree = true;
      for (let i = page; i < page + count; i++) {
        if (u32[tb + i] !== 0) throw m.corrupt(i, "a free page still carries a tag");
      }
    }
    page += count;
  }
  let listed = 0;
  const flBitmap = u32[cw + W_FL_BITMAP]!;
  for (let fl = 0; fl < FL_COUNT; fl++) {
    const slBitmap = u32[cw + W_SL_BITMAPS + fl]!;
    if (slBitmap >>> SL_COUNT !== 0) throw m.corrupt(0, `second-level bitmap ${fl} has bits above bin ${SL_COUNT - 1}`);
    if (((flBitmap >>> fl) & 1) !== (slBitmap !== 0 ? 1 : 0)) throw m.corrupt(0, `first-level bit ${fl} disagrees with its second-level bitmap`);
    for (let sl = 0; sl < SL_COUNT; sl++) {
      let node = u32[cw + W_HEADS + fl * SL_COUNT + sl]!;
      if (((slBitmap >>> sl) & 1) !== (node !== 0 ? 1 : 0)) throw m.corrupt(0, `bitmap bit (${fl}, ${sl}) disagrees with its list`);
      let prev = 0;
      while (node !== 0) {
        if (!freeHeads.has(node)) throw m.corrupt(node, `listed in bin (${fl}, ${sl}) but not the head of a free span`);
        const count = u32[sb + node]! & COUNT_MASK;
        if ((u32[sb + node]! & FREE_HEAD) !== FREE_HEAD) throw m.corrupt(node, `listed in bin (${fl}, ${sl}) but not a free span head`);
        if (binFl(count) !== fl || binSl(count) !== sl) throw m.corrupt(node, `${count} pages filed in the wrong bin (${fl}, ${sl})`);
        if (u32[m.prevBase + node] !== prev) throw m.corrupt(node, "free-list back link is wrong");
        if (++listed > freeHeads.size) throw m.corrupt(node, "more spans on the free lists than free spans (a cycle?)");
        prev = node;
        node = u32[m.nextBase + node]!;
      }
    }
  }
  if (listed !== freeHeads.size) throw m.corrupt(0, `${freeHeads.size} free spans but ${listed} on the free lists`);
  if (livePages !== u32[cw + W_LIVE_PAGES] || liveSpans !== u32[cw + W_LIVE_SPANS] || freePages !== u32[cw + W_FREE_PAGES]) {
    throw m.corrupt(0, `counters say ${u32[cw + W_LIVE_SPANS]} spans/${u32[cw + W_LIVE_PAGES]} live pages/${u32[cw + W_FREE_PAGES]} free pages, the walk found ${liveSpans}/${livePages}/${freePages}`);
  }
  if (u32[cw + W_PEAK_LIVE_PAGES]! < livePages) throw m.corrupt(0, `peak ${u32[cw + W_PEAK_LIVE_PAGES]} live pages is below the ${livePages} live now`);
}
