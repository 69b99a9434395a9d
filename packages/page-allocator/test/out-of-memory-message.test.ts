import { expect, it } from "vitest";
import { AddressSpace, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";

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
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
  const pages = new PageAllocator(space, { pageSize: 4096 });
  expect(catchOom(() => pages.allocate(67_112_961)).message).toContain("cannot allocate 67,112,961 B (64.0 MiB)");
  // Within the maximum, but more than is left after a few spans.
  const held = [pages.allocate(6 << 20), pages.allocate(6 << 20)];
  expect(catchOom(() => pages.allocate(5_000_001)).message).toContain("cannot allocate 5,000,001 B (4.77 MiB)");
  const moving = pages.allocate(4096);
  expect(catchOom(() => pages.reallocate(moving, 9_000_003)).message).toContain("cannot allocate 9,000,003 B (8.58 MiB)");
  expect(pages.allocatedSize(moving)).toBe(4096);
  for (const p of [...held, moving]) pages.deallocate(p);
  pages.check();
});
