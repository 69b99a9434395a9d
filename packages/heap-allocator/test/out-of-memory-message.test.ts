import { expect, it } from "vitest";
import { AddressSpace, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";

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
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 8 << 20 });
  const heap = new HeapAllocator(new PageAllocator(space, { pageSize: 4096 }), { spanBytes: 256 << 10 });
  expect(catchOom(() => heap.allocate(67_112_961)).message).toContain("cannot allocate 67,112,961 B (64.0 MiB)");
  expect(catchOom(() => heap.allocate(67_112_961, 64)).message).toContain("cannot allocate 67,112,961 B (64.0 MiB) (align 64)");
  expect(catchOom(() => heap.allocate(1_073_741_825)).message).toContain("cannot allocate 1,073,741,825 B (1.00 GiB)");
  const a = heap.allocate(1000);
  expect(catchOom(() => heap.reallocate(a, 9_000_001)).message).toContain("cannot allocate 9,000,001 B (8.58 MiB)");
  expect(heap.allocatedSize(a)).toBeGreaterThanOrEqual(1000);
  heap.deallocate(a);
  heap.check();
});
