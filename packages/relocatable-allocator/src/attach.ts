import { CorruptionError, controlWord } from "@memkit/core";
import type { RelocatableAllocator } from "./relocatable-allocator.js";
import { CONTROL_BYTES, RELOCATABLE_LAYOUT, W_CHUNKS, W_CHUNK_CAP, W_CHUNK_COUNT, W_SLOTS, W_SLOTS_USED, W_SLOT_CAP } from "./layout.js";

/**
 * What an attach checks before the handle is used: the table words are in
 * range, then the whole structure (check()). A damaged allocator is a
 * CorruptionError naming the fault, and the half-made handle is detached.
 */
export function verifyAttach(r: RelocatableAllocator, who: string): void {
  try {
    const u32 = r.u32;
    const size = r.space.byteLength;
    const p = r.controlPtr;
    const L = RELOCATABLE_LAYOUT;
    const slotCap = controlWord(u32, p, W_SLOT_CAP, 0, r.maxRecords, L, "slot capacity");
    controlWord(u32, p, W_SLOTS_USED, 0, slotCap, L, "slots used");
    const slots = controlWord(u32, p, W_SLOTS, 0, size - slotCap * 16, L, "slot table");
    const chunkCap = controlWord(u32, p, W_CHUNK_CAP, 0, size / 8, L, "chunk capacity");
    controlWord(u32, p, W_CHUNK_COUNT, 0, chunkCap, L, "chunk count");
    const chunks = controlWord(u32, p, W_CHUNKS, 0, size - chunkCap * 8, L, "chunk table");
    if ((slots === 0) !== (slotCap === 0) || (chunks === 0) !== (chunkCap === 0) || slots % 8 !== 0 || chunks % 8 !== 0) {
      throw new CorruptionError(`${who}: the RelocatableAllocator's tables (slots ${slots}, chunks ${chunks}) do not match their capacities.`);
    }
    if (r.controlPtr % 8 !== 0 || !r.backing.owns(r.controlPtr) || r.backing.allocatedSize(r.controlPtr) < CONTROL_BYTES) {
      throw new CorruptionError(`${who}: the control block is not a block of the backing "${r.backing.name}".`);
    }
    r.check();
  } catch (err) {
    r.detach();
    if (err instanceof CorruptionError) throw new CorruptionError(`${who}: ${err.message}`);
    throw err;
  }
}
