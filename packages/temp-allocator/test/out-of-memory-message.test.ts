import { expect, it } from "vitest";
import { OutOfMemoryError } from "@memkit/core";
import { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import { makePages } from "./helpers.js";

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
  const pages = makePages({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
  const scratch = new ScratchAllocator(pages, { chunkBytes: 4096 });
  const frame = new FrameAllocator(pages, { chunkBytes: 4096 });
  frame.beginFrame();
  expect(catchOom(() => scratch.allocate(5_000_001)).message).toContain("cannot allocate 5,000,001 B (4.77 MiB) (align 8)");
  const held = scratch.allocate(3 << 20);
  expect(catchOom(() => frame.allocate(1_500_001, 64)).message).toContain("cannot allocate 1,500,001 B (1.43 MiB) (align 64)");
  expect(scratch.allocatedSize(held)).toBe(3 << 20);
  expect(catchOom(() => frame.allocate(2 ** 31 - 100)).message).toContain("cannot allocate 2,147,483,548 B (2.00 GiB)");
  scratch.check();
  frame.check();
});
