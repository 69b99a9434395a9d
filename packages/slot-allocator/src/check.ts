import { CorruptionError, controlWord, hex, openControl, peekRemoteFrees, type AddressSpace } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import type { SlotGeometry } from "./geometry.js";
import {
  CLASS_SHIFT,
  C_ALLOCS_F64,
  CURRENT,
  C_CURRENT,
  C_FREES_F64,
  C_PARTIAL,
  C_PARTIAL_COUNT,
  C_SLABS,
  DATA_MAX,
  FULL,
  PARTIAL,
  SLOT_LAYOUT,
  SPARE,
  S_ALL_PREV,
  S_BASE,
  S_BUMP,
  S_CLASS,
  S_FREE,
  S_LINK_AT,
  S_NEXT,
  S_PREV,
  S_SIZE,
  S_STATE,
  S_USED,
  W_ALL_HEAD,
  W_PARKED_CLASS,
  W_PARKED_PTR,
  W_REMOTE_HEAD,
  W_SLAB_COUNT,
  W_SPARE_COUNT,
  W_SPARE_HEAD,
  bitmapWords,
} from "./layout.js";
import { expectSlab, forEachSlab, headerProblem, slabError, slabProblem } from "./slab-shape.js";

/** What check() reads: the views, the sealed geometry, the page allocator. */
export interface CheckSubject {
  readonly space: AddressSpace;
  readonly name: string;
  readonly pages: PageAllocator;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly geo: SlotGeometry;
}

/**
 * Verifies the whole allocator and throws CorruptionError at the first fault:
 * the control block's header and seal; every slab on the all-slabs list
 * (position, page-map tags, header against its class, bitmap against free
 * list, state); every page span tagged with this owner is the control block
 * or a listed slab; each class's current slab, partial list and counters;
 * the spare list; the parked slot. Every link is checked before it is
 * followed and every walk is bounded, so damage cannot hang it.
 * O(slabs x slots per slab + the page allocator's spans).
 */
export function checkSlots(a: CheckSubject): void {
  const { i32, f64, geo: g, pages, name } = a;
  openControl(a.space, g.controlPtr, SLOT_LAYOUT, `${name}.check`, [g.controlBytes, g.controlBytes]);
  const classSlabs = new Array<number>(g.classCount).fill(0);
  const classUsed = new Array<number>(g.classCount).fill(0);
  const classPartial = new Array<number>(g.classCount).fill(0);
  let spares = 0;
  let walked = 0;
  let prev = 0;
  forEachSlab(i32, g, pages, name, (s) => {
    walked++;
    if (i32[s + S_ALL_PREV] !== prev) throw slabError(i32, name, s, "all-slabs back link is wrong");
    prev = s;
    const base = i32[s + S_BASE]!;
    const wantTag = (g.ownerTag | (base >>> g.pageShift)) >>> 0;
    for (let page = base; page < base + g.slabBytes; page += g.pageSize) {
      if (pages.tagOf(page) !== wantTag) throw slabError(i32, name, s, `page ${hex(page)} carries tag ${hex(pages.tagOf(page))}, expected ${hex(wantTag)}`);
    }
    const state = i32[s + S_STATE]!;
    const c = i32[s + S_CLASS]!;
    if (c < 0 || c >= g.classCount) throw slabError(i32, name, s, `class index ${c} out of range`);
    if (state === SPARE) {
      if (i32[s + S_USED] !== 0) throw slabError(i32, name, s, `spare with ${i32[s + S_USED]} used slots`);
      spares++;
      return;
    }
    const problem = headerProblem(i32, g, s, c);
    if (problem !== undefined) {
      throw slabError(i32, name, s, problem.startsWith("class") ? `slot size/count/link mark differ from class ${c}: ${problem}` : problem);
    }
    const used = i32[s + S_USED]!;
    const linkAt = i32[s + S_LINK_AT]!;
    checkBitmap(a, s, used);
    switch (state) {
      case CURRENT:
        if (i32[g.classWord + (c << CLASS_SHIFT) + C_CURRENT] !== s) {
          throw slabError(i32, name, s, `marked current but class ${c}'s current slab is ${hex(i32[g.classWord + (c << CLASS_SHIFT) + C_CURRENT]! << 2)}`);
        }
        break;
      case PARTIAL:
        if (used === 0 || used > linkAt) throw slabError(i32, name, s, `on the partial list with ${used} used slots (expected 1..${linkAt})`);
        classPartial[c]!++;
        break;
      case FULL:
        if (used <= linkAt) throw slabError(i32, name, s, `full with only ${used} used slots: it should have rejoined the partial list at ${linkAt}`);
        break;
      default:
        throw slabError(i32, name, s, `unknown state ${state}`);
    }
    classSlabs[c]!++;
    classUsed[c]! += used;
  });
  if (walked !== i32[g.cw + W_SLAB_COUNT]) throw new CorruptionError(`${name}: ${i32[g.cw + W_SLAB_COUNT]} slabs counted, ${walked} on the all-slabs list.`);
  checkTaggedSpans(a, walked);

  for (let c = 0; c < g.classCount; c++) {
    const rec = g.classWord + (c << CLASS_SHIFT);
    const what = `class ${c} (${g.sizes[c]}-byte slots)`;
    const current = i32[rec + C_CURRENT]!;
    if (current !== 0) {
      expectSlab(i32, g, pages, name, current, `${what}'s current slab`);
      if (i32[current + S_STATE] !== CURRENT || i32[current + S_CLASS] !== c) throw slabError(i32, name, current, `is ${what}'s current slab but its header says otherwise`);
    }
    let n = 0;
    let back = 0;
    for (let s = i32[rec + C_PARTIAL]!; s !== 0; s = i32[s + S_NEXT]!) {
      expectSlab(i32, g, pages, name, s, `${what}'s partial list`);
      if (i32[s + S_STATE] !== PARTIAL || i32[s + S_CLASS] !== c) throw slabError(i32, name, s, `on ${what}'s partial list but not a partial slab of it`);
      if (i32[s + S_PREV] !== back) throw slabError(i32, name, s, `partial-list back link is wrong in ${what}`);
      if (++n > classPartial[c]!) throw slabError(i32, name, s, `${what}'s partial list is longer than its ${classPartial[c]} partial slabs (a cycle?)`);
      back = s;
    }
    if (n !== classPartial[c] || n !== i32[rec + C_PARTIAL_COUNT]) {
      throw new CorruptionError(`${name}: ${what} has ${classPartial[c]} partial slabs, ${n} on its list, ${i32[rec + C_PARTIAL_COUNT]} counted.`);
    }
    if (classSlabs[c] !== i32[rec + C_SLABS]) throw new CorruptionError(`${name}: ${what} counts ${i32[rec + C_SLABS]} slabs, ${classSlabs[c]} found.`);
    const live = f64[(rec + C_ALLOCS_F64) >>> 1]! - f64[(rec + C_FREES_F64) >>> 1]!;
    const held = classUsed[c]! - (i32[g.cw + W_PARKED_CLASS] === c ? 1 : 0);
    if (live !== held) throw new CorruptionError(`${name}: ${what} counters say ${live} live slots, its slabs hold ${held}${held !== classUsed[c] ? " besides the parked one" : ""}.`);
  }
  const parked = parkedProblem(i32, g, pages, name);
  if (parked !== undefined) throw parked;
  const remote = remoteListProblem(i32, f64, g, pages, name);
  if (remote !== undefined) throw remote;
  let n = 0;
  for (let s = i32[g.cw + W_SPARE_HEAD]!; s !== 0; s = i32[s + S_NEXT]!) {
    expectSlab(i32, g, pages, name, s, "the spare list");
    if (i32[s + S_STATE] !== SPARE) throw slabError(i32, name, s, "on the spare list but not a spare slab");
    if (++n > spares) throw slabError(i32, name, s, "spare list longer than the spare slabs (a cycle?)");
  }
  if (n !== spares || n !== i32[g.cw + W_SPARE_COUNT]) {
    throw new CorruptionError(`${name}: ${spares} spare slabs, ${n} on the spare list, ${i32[g.cw + W_SPARE_COUNT]} counted.`);
  }
}

/**
 * What is wrong with `ptr` as a carved, bitmap-marked slot start of a slab of
 * this allocator (of class `c` when `c >= 0`), or undefined. Bounded reads
 * only: safe on any value.
 */
export function markedSlotProblem(i32: Int32Array, g: SlotGeometry, pages: PageAllocator, ptr: number, c: number): string | undefined {
  if (ptr <= 0 || ptr >= g.slabLimit) return "is not a slot address";
  const d = pages.tagOf(ptr) ^ g.ownerTag;
  if ((d - 1) >>> 0 >= DATA_MAX) return "is not in a slab of this allocator";
  const base = d << g.pageShift;
  const s = (base + g.hdrOffset) >>> 2;
  const problem = slabProblem(i32, g, pages, s);
  if (problem !== undefined) return `is in no slab (${problem})`;
  const size = i32[s + S_SIZE]!;
  const i = Math.floor((ptr - base) / size);
  if (i32[s + S_STATE] === SPARE || (c >= 0 && (i32[s + S_CLASS] !== c || size !== g.sizes[c]))) return `is in slab ${hex(base)}, which is not a slab of class ${c}`;
  if (i * size !== ptr - base || i >= i32[s + S_BUMP]!) return `is not a carved slot start of slab ${hex(base)}`;
  if ((i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) === 0) return `is not marked live in the bitmap of slab ${hex(base)}`;
  return undefined;
}

/**
 * The parked slot must be none (0, -1) or a carved, still-marked slot start
 * of a slab of its class: a CorruptionError saying what is wrong, or undefined.
 */
export function parkedProblem(i32: Int32Array, g: SlotGeometry, pages: PageAllocator, name: string): CorruptionError | undefined {
  const ptr = i32[g.cw + W_PARKED_PTR]!;
  const c = i32[g.cw + W_PARKED_CLASS]!;
  if (ptr === 0 && c === -1) return undefined;
  if (ptr <= 0 || c < 0 || c >= g.classCount) return new CorruptionError(`${name}: the parked slot ${hex(ptr >>> 0)} (class ${c}) has a pointer/class pair where only one is set or the class is out of range.`);
  const problem = markedSlotProblem(i32, g, pages, ptr, c);
  return problem === undefined ? undefined : new CorruptionError(`${name}: the parked slot ${hex(ptr)} (class ${c}) ${problem}.`);
}

/**
 * The remote-free list (slots other threads freed, not yet collected): every
 * entry a marked slot of this allocator other than the parked one, and no
 * more entries than live slots (so a cycle ends the walk). Read by the owner
 * only; other threads only prepend, so the walk is safe while they push.
 */
export function remoteListProblem(i32: Int32Array, f64: Float64Array, g: SlotGeometry, pages: PageAllocator, name: string): CorruptionError | undefined {
  let live = 0;
  for (let c = 0; c < g.classCount; c++) {
    const rec = g.classWord + (c << CLASS_SHIFT);
    live += f64[(rec + C_ALLOCS_F64) >>> 1]! - f64[(rec + C_FREES_F64) >>> 1]!;
  }
  let n = 0;
  for (let ptr = peekRemoteFrees(i32, g.cw + W_REMOTE_HEAD); ptr !== 0; ptr = i32[ptr >>> 2]!) {
    const problem = ptr === i32[g.cw + W_PARKED_PTR] ? "is the parked slot (already free)" : markedSlotProblem(i32, g, pages, ptr, -1);
    if (problem !== undefined) return new CorruptionError(`${name}: entry ${n} of the remote-free list, ${hex(ptr >>> 0)}, ${problem}.`);
    if (++n > live) return new CorruptionError(`${name}: the remote-free list holds more entries than the ${live} live slots (a cycle, or a slot freed twice by other threads).`);
  }
  return undefined;
}

/** Bitmap against free list for one slab (its header already checked). */
function checkBitmap(a: CheckSubject, s: number, used: number): void {
  const { i32, name } = a;
  const bump = i32[s + S_BUMP]!;
  let live = 0;
  for (let k = 0; k < bitmapWords(bump); k++) {
    let bits = i32[s - 1 - k]!;
    while (bits !== 0) {
      bits &= bits - 1;
      live++;
    }
  }
  if (live !== used) throw slabError(i32, name, s, `bitmap holds ${live} live slots, used count says ${used}`);
  const seen = new Uint8Array(bump);
  const size = i32[s + S_SIZE]!;
  const base = i32[s + S_BASE]!;
  let listed = 0;
  for (let link = i32[s + S_FREE]!; link !== 0; ) {
    const i = link - 1;
    if (i < 0 || i >= bump) throw slabError(i32, name, s, `free list links to slot ${i}, outside the ${bump} carved slots`);
    if ((i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) !== 0) throw slabError(i32, name, s, `free list holds slot ${i} (${hex(base + i * size)}), which the bitmap says is live`);
    if (seen[i] !== 0) throw slabError(i32, name, s, `free list visits slot ${i} twice (a cycle)`);
    seen[i] = 1;
    listed++;
    link = i32[(base + i * size) >>> 2]!;
  }
  if (listed + used !== bump) throw slabError(i32, name, s, `${listed} free-list slots + ${used} used != ${bump} carved`);
}

/** Every live span the page map gives this owner is the control block or one of the `slabs` listed slabs. */
function checkTaggedSpans(a: CheckSubject, slabs: number): void {
  const { geo: g, pages, name } = a;
  let tagged = 0;
  let control = 0;
  pages.forEachSpan((ptr, _bytes, used, tag) => {
    if (!used || tag >>> 24 !== g.ownerId) return;
    if (ptr === g.controlPtr) control++;
    else tagged++;
  });
  if (control !== 1 || tagged !== slabs) {
    throw new CorruptionError(`${name}: the page map gives this allocator ${tagged} slab spans${control === 1 ? "" : " and no control block span"}, ${slabs} slabs are on the all-slabs list.`);
  }
}

/**
 * The state words an attach relies on before anything is allocated: counts
 * in range, list heads and each class's current and first partial slab are
 * slabs of this allocator (the current ones fit their class), the parked
 * slot is a marked slot of its class. O(classes + bitmap words past the
 * current slabs' carved slots). check() verifies the rest.
 */
export function checkAttachState(a: CheckSubject, who: string): void {
  const { i32, geo: g, pages } = a;
  const u32 = a.space.u32;
  const ptr = g.controlPtr;
  const slabs = controlWord(u32, ptr, W_SLAB_COUNT, 0, g.maxSlabs, SLOT_LAYOUT, "slab count");
  controlWord(u32, ptr, W_SPARE_COUNT, 0, Math.min(slabs, g.keepEmptySlabs), SLOT_LAYOUT, "spare count");
  const head = (word: number, via: string, state: number, c: number): void => {
    const s = i32[g.cw + word]!;
    if (s === 0) return;
    expectSlab(i32, g, pages, who, s, via);
    if ((state >= 0 && i32[s + S_STATE] !== state) || (c >= 0 && i32[s + S_CLASS] !== c)) throw slabError(i32, who, s, `${via} leads here, but the slab is in state ${i32[s + S_STATE]} of class ${i32[s + S_CLASS]}`);
    if (state === CURRENT) {
      const problem = headerProblem(i32, g, s, c);
      if (problem !== undefined) throw slabError(i32, who, s, problem);
    }
  };
  head(W_ALL_HEAD, "the all-slabs list head", -1, -1);
  head(W_SPARE_HEAD, "the spare list head", SPARE, -1);
  for (let c = 0; c < g.classCount; c++) {
    const rec = g.classWord + (c << CLASS_SHIFT) - g.cw;
    controlWord(u32, ptr, rec + C_SLABS, 0, slabs, SLOT_LAYOUT, `class ${c} slab count`);
    controlWord(u32, ptr, rec + C_PARTIAL_COUNT, 0, slabs, SLOT_LAYOUT, `class ${c} partial count`);
    head(rec + C_CURRENT, `class ${c}'s current slab`, CURRENT, c);
    head(rec + C_PARTIAL, `class ${c}'s partial list`, PARTIAL, c);
  }
  const parked = parkedProblem(i32, g, pages, who);
  if (parked !== undefined) throw parked;
  const remote = remoteListProblem(i32, a.f64, g, pages, who);
  if (remote !== undefined) throw remote;
}
