import { InvalidPointerError, OutOfMemoryError, describe, formatCount, hex } from "@memkit/core";
import { HANDLE_BITS, StaleHandleError } from "@memkit/containers";
import { regrowTable, type Leasing } from "./chunks.js";
import { FREE_END, SLOT_WORDS, S_GENERATION, S_PINS, S_PTR, S_STATE, W_FREE_HEAD, W_FREE_TAIL, W_SLOTS, W_SLOTS_USED, W_SLOT_CAP } from "./layout.js";

/**
 * The handle table: one slot per handle index, with HandlePool's packing
 * (`handle = generation * 2^indexBits + index`, 30 bits, never 0; containers'
 * HANDLE_BITS) and its first-in first-out reuse of free slots.
 */
export interface SlotTable extends Leasing {
  readonly indexBits: number;
  /** 2^indexBits. */
  readonly maxRecords: number;
  readonly maxGeneration: number;
}

/** Makes sure a slot can be taken without allocating: grows the table (doubling) when every slot is in use. */
export function ensureSlot(r: SlotTable): void {
  const u32 = r.u32;
  const w = r.w;
  if (r.i32[w + W_FREE_HEAD] !== FREE_END) return;
  const cap = u32[w + W_SLOT_CAP]!;
  if (u32[w + W_SLOTS_USED]! < cap) return;
  if (cap >= r.maxRecords) {
    throw new OutOfMemoryError(
      `${r.name}: full at ${formatCount(r.maxRecords)} live blocks (indexBits ${r.indexBits}). Raise indexBits or free blocks.`,
    );
  }
  const grown = Math.min(r.maxRecords, cap === 0 ? 64 : cap * 2);
  r.u32[w + W_SLOTS] = regrowTable(r, u32[w + W_SLOTS]!, cap * SLOT_WORDS * 4, grown * SLOT_WORDS * 4, "handle table");
  r.u32[w + W_SLOT_CAP] = grown;
}

/** Takes a slot (ensureSlot first) for the block whose payload is at `ptr`; returns its handle. */
export function takeSlot(r: SlotTable, ptr: number, flags: number): number {
  const u32 = r.u32;
  const i32 = r.i32;
  const w = r.w;
  let index = i32[w + W_FREE_HEAD]!;
  let generation = 1;
  if (index !== FREE_END) {
    const s = (u32[w + W_SLOTS]! >>> 2) + index * SLOT_WORDS;
    const next = -i32[s + S_STATE]! - 2;
    i32[w + W_FREE_HEAD] = next;
    if (next === FREE_END) i32[w + W_FREE_TAIL] = FREE_END;
    generation = u32[s + S_GENERATION]!;
  } else {
    index = u32[w + W_SLOTS_USED]!;
    u32[w + W_SLOTS_USED] = index + 1;
  }
  const s = (u32[w + W_SLOTS]! >>> 2) + index * SLOT_WORDS;
  const handle = generation * r.maxRecords + index;
  i32[s + S_STATE] = handle;
  u32[s + S_GENERATION] = generation;
  u32[s + S_PTR] = ptr;
  u32[s + S_PINS] = flags;
  return handle;
}

/** Frees slot `index`: the next generation (wrapping to 1), appended to the free list. */
export function freeSlot(r: SlotTable, index: number): void {
  const u32 = r.u32;
  const i32 = r.i32;
  const w = r.w;
  const base = u32[w + W_SLOTS]! >>> 2;
  const s = base + index * SLOT_WORDS;
  const next = u32[s + S_GENERATION]! + 1;
  u32[s + S_GENERATION] = next > r.maxGeneration ? 1 : next;
  i32[s + S_STATE] = FREE_END;
  u32[s + S_PTR] = 0;
  u32[s + S_PINS] = 0;
  const tail = i32[w + W_FREE_TAIL]!;
  if (tail === FREE_END) i32[w + W_FREE_HEAD] = index;
  else i32[base + tail * SLOT_WORDS + S_STATE] = -index - 2;
  i32[w + W_FREE_TAIL] = index;
}

/** The InvalidPointerError / StaleHandleError for a handle that failed the live check. Cold. */
export function handleError(r: SlotTable, who: string, handle: unknown): InvalidPointerError {
  if (typeof handle !== "number" || (handle | 0) !== handle || handle < 0 || handle >= 2 ** HANDLE_BITS) {
    return new InvalidPointerError(`${who}: ${describe(handle)} is not a handle (expected an integer from 1 to 2^${HANDLE_BITS} - 1 from create()).`);
  }
  if (handle === 0) return new InvalidPointerError(`${who}: the null handle (0) addresses no block.`);
  const index = handle % r.maxRecords;
  const generation = Math.floor(handle / r.maxRecords);
  const shown = `${hex(handle)} (index ${index}, generation ${generation})`;
  const used = r.u32[r.w + W_SLOTS_USED]!;
  if (index >= used) {
    return new InvalidPointerError(`${who}: handle ${shown} was never handed out: only ${formatCount(used)} slots have been used. Is it from another allocator?`);
  }
  if (generation === 0) return new InvalidPointerError(`${who}: handle ${shown} was never handed out: generation 0 is never issued.`);
  const s = (r.u32[r.w + W_SLOTS]! >>> 2) + index * SLOT_WORDS;
  const state = r.i32[s + S_STATE]!;
  const current = r.u32[s + S_GENERATION]!;
  const why =
    state > 0
      ? `slot ${index} now holds another block (generation ${current}, handle ${hex(state)})`
      : `its block was freed (slot ${index} is free; its next generation is ${current})`;
  return new StaleHandleError(`${who}: stale handle ${shown}: ${why}. Drop handles when you destroy their blocks.`, handle, index, generation, current);
}
