import { CorruptionError, hex, magic, peekRemoteFrees, type Ptr } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import {
  D_ALLOC_COUNT,
  D_FREE_COUNT,
  FL_COUNT,
  FREE,
  HEAP_LAYOUT,
  MIN_BLOCK,
  PREV_FREE,
  RESERVED,
  SIZE_MASK,
  SL_COUNT,
  SPAN_AREA_W,
  SPAN_COLOR_MASK,
  SPAN_BITMAP_W,
  SPAN_BYTES_W,
  SPAN_CONTROL_W,
  SPAN_FIRST_W,
  SPAN_FLAGS_W,
  SPAN_HOME,
  SPAN_MAGIC_TEXT,
  SPAN_MAGIC_W,
  SPAN_NEXT_W,
  SPAN_PREV_W,
  W_EMPTY_SPAN,
  W_FIRST_SPAN,
  W_FL_MAP,
  W_HEADS,
  W_HOME,
  W_LIVE,
  W_OWNER,
  W_PAGE_SHIFT,
  W_PEAK,
  W_REMOTE_HEAD,
  W_RESERVED,
  W_SL_MAP,
  W_SPAN_COUNT,
  bitmapBias,
  bitmapBytes,
  firstPayloadOffset,
  flOf,
  slOf,
} from "./layout.js";

const HEAP_MAGIC = magic(HEAP_LAYOUT.magic) | 0;
const SPAN_MAGIC = magic(SPAN_MAGIC_TEXT) | 0;

/**
 * Verifies every invariant of the heap whose control block is at `control`
 * (see layout.ts) and throws CorruptionError naming the first broken one
 * and the block or span it was found at. Reads linear memory only, plus the
 * page map for span tags. O(blocks + bitmap words).
 */
export function checkHeap(m: Int32Array, f: Float64Array, control: Ptr, name: string, pages: PageAllocator): void {
  const fail = (at: Ptr, what: string): never => {
    throw new CorruptionError(`${name}: heap corrupt at ${hex(at)}: ${what}.`);
  };
  const r = control >>> 2;
  if (m[r] !== HEAP_MAGIC || m[r + 1] !== HEAP_LAYOUT.version) {
    fail(control, `control block header is ${hex(m[r]! >>> 0)}/${m[r + 1]}, expected "${HEAP_LAYOUT.magic}" version ${HEAP_LAYOUT.version}`);
  }
  const owner = m[r + W_OWNER]!;
  const pageShift = m[r + W_PAGE_SHIFT]!;
  const spanCount = m[r + W_SPAN_COUNT]!;
  const home = m[r + W_HOME]!;

  const freeBlocks = new Set<Ptr>();
  const usedBlocks = new Set<Ptr>();
  const spans = new Set<Ptr>();
  let liveBytes = 0;
  let liveCount = 0;
  let reserved = 0;
  let spanPages = 0;
  let prevSpan = 0;
  for (let base = m[r + W_FIRST_SPAN]!; base !== 0; base = m[(base >> 2) + SPAN_NEXT_W]!) {
    if (spans.size >= spanCount || spans.has(base)) fail(base, `span list runs past the ${spanCount} spans counted (a cycle?)`);
    if ((base & ((1 << pageShift) - 1)) !== 0 || base <= 0 || base >= m.length * 4) fail(base, "span list links to an address that is not a page inside the memory");
    spans.add(base);
    const bw = base >> 2;
    if (m[bw + SPAN_MAGIC_W] !== SPAN_MAGIC) fail(base, `span header magic is ${hex(m[bw + SPAN_MAGIC_W]! >>> 0)}, expected "${SPAN_MAGIC_TEXT}"`);
    if (m[bw + SPAN_PREV_W] !== prevSpan) fail(base, `span back link is ${hex(m[bw + SPAN_PREV_W]! >>> 0)}, expected ${hex(prevSpan)}`);
    if (m[bw + SPAN_CONTROL_W] !== control) fail(base, `span belongs to the heap at ${hex(m[bw + SPAN_CONTROL_W]! >>> 0)}, not ${hex(control)}`);
    const bytes = m[bw + SPAN_BYTES_W]!;
    const isHome = base === home;
    const flags = m[bw + SPAN_FLAGS_W]!;
    if ((flags & ~SPAN_COLOR_MASK) !== (isHome ? SPAN_HOME : 0)) fail(base, `span flags ${hex(flags >>> 0)} (home span is ${hex(home)})`);
    if (bytes <= 0 || (bytes & ((1 << pageShift) - 1)) !== 0 || base + bytes > m.length * 4) fail(base, `span size ${bytes} is not a whole number of pages inside the memory`);
    const end = base + bytes;
    const tag = ((owner << 24) | (base >>> pageShift)) >>> 0;
    for (let page = base; page < end; page += 1 << pageShift) {
      if (pages.tagOf(page) !== tag) fail(page, `page tag is ${hex(pages.tagOf(page))}, expected ${hex(tag)} (owner ${owner}, span ${hex(base)})`);
    }
    const first = base + firstPayloadOffset(bytes, isHome) + (flags & SPAN_COLOR_MASK);
    if (m[bw + SPAN_FIRST_W] !== first || m[bw + SPAN_AREA_W] !== end - first) {
      fail(base, `span header says first block ${hex(m[bw + SPAN_FIRST_W]! >>> 0)} / area ${m[bw + SPAN_AREA_W]}, expected ${hex(first)} / ${end - first}`);
    }
    reserved += bytes;
    spanPages += bytes >>> pageShift;

    // Physical walk: headers, boundary tags, coalescing, bitmap bits.
    const bias = bitmapBias(base);
    const isStart = (p: Ptr): boolean => (m[bias + (p >>> 8)]! & (1 << ((p >>> 3) & 31))) !== 0;
    const starts = new Set<Ptr>();
    let prevFree = false;
    let p = first;
    while (p < end) {
      const h = m[(p >> 2) - 1]!;
      const size = h & SIZE_MASK;
      if ((h & RESERVED) !== 0) fail(p, `block header ${hex(h >>> 0)} has the reserved bit set`);
      if (size < MIN_BLOCK || size > end - p) fail(p, `block header ${hex(h >>> 0)} gives a size of ${size} B, outside ${MIN_BLOCK}..${end - p} (the rest of the span)`);
      if (!isStart(p)) fail(p, "block start is missing from the span's bitmap");
      if (((h & PREV_FREE) !== 0) !== prevFree) fail(p, `PREV_FREE bit is ${(h & PREV_FREE) !== 0 ? "set" : "clear"} but the block to the left is ${prevFree ? "free" : "used"}`);
      starts.add(p);
      if ((h & FREE) !== 0) {
        if (prevFree) fail(p, "two adjacent free blocks were not merged");
        if (m[((p + size) >> 2) - 2] !== p) fail(p, `free block's footer holds ${hex(m[((p + size) >> 2) - 2]! >>> 0)}, expected its own address`);
        if (m[(p >> 2) + 2] !== bias) fail(p, `free block's bitmap bias is ${m[(p >> 2) + 2]}, expected ${bias}`);
        freeBlocks.add(p);
        prevFree = true;
      } else {
        liveBytes += size - 4;
        liveCount++;
        usedBlocks.add(p);
        prevFree = false;
      }
      p += size;
    }
    const sentinel = m[(end >> 2) - 1]!;
    if (sentinel !== (prevFree ? PREV_FREE : 0)) fail(end - 4, `end-of-span sentinel header is ${hex(sentinel >>> 0)}, expected ${hex(prevFree ? PREV_FREE : 0)}`);
    // Every set bit must be a block start found by the walk.
    const bitmapWords = bitmapBytes(bytes) >>> 2;
    for (let w = 0; w < bitmapWords; w++) {
      const bits = m[bw + SPAN_BITMAP_W + w]!;
      if (bits === 0) continue;
      for (let b = 0; b < 32; b++) {
        const at = base + (w * 32 + b) * 8;
        if ((bits & (1 << b)) !== 0 && !starts.has(at)) fail(at, "the span's bitmap marks a block start where no block starts");
      }
    }
    prevSpan = base;
  }
  if (spans.size !== spanCount) fail(control, `span count is ${spanCount} but the span list holds ${spans.size}`);
  if (!spans.has(home)) fail(home, "the home span is not on the span list");
  const empty = m[r + W_EMPTY_SPAN]!;
  if (empty !== 0 && !spans.has(empty)) fail(empty, "the cached empty span is not on the span list");

  // No page outside the spans carries this heap's owner id: deallocate trusts the tag.
  let tagged = 0;
  const pageCount = Math.floor(pages.range.limit / (1 << pageShift));
  for (let page = 0; page < pageCount; page++) if (pages.tagOf(page << pageShift) >>> 24 === owner) tagged++;
  if (tagged !== spanPages) fail(control, `${tagged} pages carry owner ${owner} in the page map, the spans hold ${spanPages}`);

  // Free lists against the bitmaps and the physical walk.
  const flMap = m[r + W_FL_MAP]!;
  if (flMap >>> FL_COUNT !== 0) fail(control, `first-level bitmap ${hex(flMap >>> 0)} has bits above level ${FL_COUNT - 1}`);
  let listed = 0;
  for (let fl = 0; fl < FL_COUNT; fl++) {
    const slMap = m[r + W_SL_MAP + fl]!;
    if (((flMap >>> fl) & 1) !== (slMap !== 0 ? 1 : 0)) fail(control, `first-level bit ${fl} disagrees with its second-level bitmap ${hex(slMap >>> 0)}`);
    for (let sl = 0; sl < SL_COUNT; sl++) {
      let node = m[r + W_HEADS + fl * SL_COUNT + sl]!;
      if (((slMap >>> sl) & 1) !== (node !== 0 ? 1 : 0)) fail(control, `bitmap bit of size class (${fl}, ${sl}) disagrees with its list head ${hex(node >>> 0)}`);
      let prev = 0;
      while (node !== 0) {
        if (!freeBlocks.has(node)) fail(node, `listed in size class (${fl}, ${sl}) but not a free block of this heap`);
        const size = m[(node >> 2) - 1]! & SIZE_MASK;
        if (flOf(size) !== fl || slOf(size) !== sl) fail(node, `free block of ${size} B is filed in size class (${fl}, ${sl}), not (${flOf(size)}, ${slOf(size)})`);
        if (m[node >> 2] !== prev) fail(node, `free-list back link is ${hex(m[node >> 2]! >>> 0)}, expected ${hex(prev)}`);
        if (++listed > freeBlocks.size) fail(node, "more blocks on the free lists than free blocks (a cycle?)");
        prev = node;
        node = m[(node >> 2) + 1]!;
      }
    }
  }
  if (listed !== freeBlocks.size) {
    for (const p of freeBlocks) {
      const size = m[(p >> 2) - 1]! & SIZE_MASK;
      let node = m[r + W_HEADS + flOf(size) * SL_COUNT + slOf(size)]!;
      let steps = 0;
      while (node !== 0 && node !== p && steps++ <= listed) node = m[(node >> 2) + 1]!;
      if (node !== p) fail(p, `free block of ${size} B is missing from its free list`);
    }
  }

  // Counters.
  const allocCount = f[(control >>> 3) + D_ALLOC_COUNT]!;
  const freeCount = f[(control >>> 3) + D_FREE_COUNT]!;
  if (m[r + W_LIVE] !== liveBytes || allocCount - freeCount !== liveCount) {
    fail(control, `counters say ${allocCount - freeCount} live blocks / ${m[r + W_LIVE]} B, the walk found ${liveCount} / ${liveBytes} B`);
  }
  if (m[r + W_PEAK]! < liveBytes) fail(control, `peakLiveBytes ${m[r + W_PEAK]} is below liveBytes ${liveBytes}`);
  if (m[r + W_RESERVED] !== reserved) fail(control, `reservedBytes is ${m[r + W_RESERVED]}, the spans hold ${reserved}`);

  // Blocks other threads freed, not yet collected: live blocks of this heap, each once (pushes only prepend).
  let n = 0;
  for (let p = peekRemoteFrees(m, r + W_REMOTE_HEAD); p !== 0; p = m[p >> 2]!) {
    if (!usedBlocks.has(p)) fail(p, `entry ${n} of the remote-free list is not a live block of this heap`);
    if (++n > liveCount) fail(p, `the remote-free list holds more entries than the ${liveCount} live blocks (a cycle, or a block freed twice by other threads)`);
  }
}
