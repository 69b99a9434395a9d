import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator, type SlotAllocatorOptions } from "@memkit/slot-allocator";

/** A fresh space, page allocator and slot allocator. */
export interface Rig {
  space: AddressSpace;
  pages: PageAllocator;
  slots: SlotAllocator;
  /** Destroys the slot and page allocators (a property, so it can be destructured). */
  dispose: () => void;
}

export interface RigOptions extends SlotAllocatorOptions {
  initialBytes?: number;
  maximumBytes?: number;
  pageSize?: number;
}

export function makeRig(options: RigOptions = {}): Rig {
  const { initialBytes = 4 << 20, maximumBytes = 256 << 20, pageSize, ...slotOptions } = options;
  const space = AddressSpace.create({ initialBytes, maximumBytes });
  const pages = new PageAllocator(space, pageSize === undefined ? {} : { pageSize });
  const slots = new SlotAllocator(pages, slotOptions);
  return {
    space,
    pages,
    slots,
    dispose: () => {
      slots.destroy();
      pages.destroy();
    },
  };
}

/** Base address and header word index of the slab holding `ptr` (found the way the allocator does: page tag). */
export function slabOf(rig: Rig, ptr: number): { base: number; s: number } {
  const base = (rig.pages.tagOf(ptr) & 0xff_ffff) << rig.pages.pageShift;
  return { base, s: (base + rig.slots.slabBytes - 64) >>> 2 };
}

/**
 * Fills the parking spot with a freed 8-byte slot, so the frees a test makes
 * next (of other classes) take the full slab path instead of being parked.
 */
export function occupyParking(slots: SlotAllocator): number {
  const p = slots.allocate(8);
  slots.deallocate(p);
  return p;
}

/** Counters that must not move when a call is rejected. */
export function counters(slots: SlotAllocator): string {
  const s = slots.stats();
  return `${s.liveCount}/${s.liveBytes}/${s.allocCount}/${s.freeCount}/${s.reservedBytes}`;
}
