import { expect, it } from "vitest";
import { AddressSpace, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";

function catchOom(run: () => unknown): OutOfMemoryError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(OutOfMemoryError);
    return err as OutOfMemoryError;
  }
  throw new Error("expected an OutOfMemoryError");
}

it("names the exact byte count asked for in every tier, with the human figure beside it", () => {
  const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 4 << 20 });
  const generic = new GenericAllocator(new PageAllocator(space, { pageSize: 4096 }), { heap: { spanBytes: 256 << 10 } });
  expect(catchOom(() => generic.allocate(67_112_961)).message).toMatch(/^generic: cannot allocate 67,112,961 B \(64\.0 MiB\)/);
  const held: number[] = [];
  // Medium blocks until the heap tier cannot lease a span.
  const heapOom = catchOom(() => {
    for (;;) held.push(generic.allocate(200_001));
  });
  expect(heapOom.message).toContain("cannot allocate 200,001 B (195.3 KiB)");
  const slotOom = catchOom(() => {
    for (;;) held.push(generic.allocate(1000));
  });
  expect(slotOom.message).toContain("cannot allocate 1,000 B");
  for (const p of held) generic.deallocate(p);
  generic.check();
});
