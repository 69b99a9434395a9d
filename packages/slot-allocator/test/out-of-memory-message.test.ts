import { expect, it } from "vitest";
import { AddressSpace, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";

function catchOom(run: () => unknown): OutOfMemoryError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(OutOfMemoryError);
    return err as OutOfMemoryError;
  }
  throw new Error("expected an OutOfMemoryError");
}

it("names the exact byte count asked for, with the human figure beside it", () => {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
  const slots = new SlotAllocator(new PageAllocator(space, { pageSize: 4096 }), { slabBytes: 16384 });
  expect(catchOom(() => slots.allocate(4000)).message).toContain("cannot allocate 4,000 B (3.91 KiB) (align 8)");
  expect(catchOom(() => slots.allocate(1000, 2048)).message).toContain("cannot allocate 1,000 B (align 2048)");
  const held: number[] = [];
  const oom = catchOom(() => {
    for (;;) held.push(slots.allocate(1000));
  });
  expect(oom.message).toContain("cannot allocate 1,000 B: no 1024-byte slot is free");
  for (const p of held) slots.deallocate(p);
  slots.check();
});
