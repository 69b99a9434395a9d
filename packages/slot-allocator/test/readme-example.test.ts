import { expect, it } from "vitest";
import { AddressSpace, DoubleFreeError, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";

// The README's example, with its claims as assertions.
it("runs the README example", () => {
  const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 256 << 20 });
  const pages = new PageAllocator(space);
  const slots = new SlotAllocator(pages, { name: "particles" });

  const p = slots.allocate(24);
  space.f32[p >>> 2] = 1.5;
  expect(slots.allocatedSize(p)).toBe(24);
  const q = slots.allocate(100, 64);
  expect(slots.allocatedSize(q)).toBe(128);
  expect(q % 64).toBe(0);
  slots.deallocate(p);
  slots.deallocate(q);

  expect(() => slots.deallocate(q)).toThrow(DoubleFreeError);
  expect(() => slots.deallocate(q)).toThrow(/particles\.deallocate: 0x[0-9a-f]{8} was already freed \(slot 0 of slab 0x[0-9a-f]{8} \(128-byte slots\)\)/);
  expect(() => slots.deallocate(q + 8)).toThrow(/0x[0-9a-f]{8} was not handed out by this allocator \(8 bytes into the slot at/);
  expect(() => slots.allocate(4000)).toThrow(OutOfMemoryError);
  expect(() => slots.allocate(4000)).toThrow(/4,000 B \(3\.91 KiB\) \(align 8\): that is above the largest slot \(1024 B\)[\s\S]*use the generic allocator/);
  slots.check();
  expect(slots.stats().liveCount).toBe(0);
  slots.destroy();
  pages.destroy();
});
