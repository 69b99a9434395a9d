import { AddressSpace, AllocatorError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { expect, it } from "vitest";
import { debugWrap } from "../src/index.js";

// The README's example, step by step, with what it prints.
it("runs the README example", () => {
  const printed: string[] = [];
  const log = (line: string): void => void printed.push(line);

  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  const pages = new PageAllocator(space, { pageSize: 4096 });
  const heap = debugWrap(pages, { captureStacks: true });

  function report(what: string, fn: () => void): void {
    try {
      fn();
      log(`${what}: nothing found`);
    } catch (error) {
      if (!(error instanceof AllocatorError)) throw error;
      log(`${what}: ${error.name} ${error.message}`);
    }
  }

  const ptr = heap.allocate(24); // 24 bytes of 0xcd between 0xfd guards
  space.u8.fill(1, ptr, ptr + 25); // one byte too many
  report("overrun", () => heap.check());
  space.u8[ptr + 24] = 0xfd; // repair, for the example's sake

  function dropBlock(): void {
    heap.deallocate(ptr); // filled with 0x66 and held in quarantine
  }
  dropBlock();
  space.u8[ptr + 3] = 7; // a stale pointer writes
  report("write after free", () => heap.check());
  report("double free", () => heap.deallocate(ptr));
  space.u8[ptr + 3] = 0x66;
  heap.destroy(); // flushes the quarantine, detaches from the space
  expect(pages.stats().liveCount).toBe(0);

  expect(printed[0]).toBe(
    "overrun: CorruptionError canary(pages): block 0x0008e010 (24 B) —\n" +
      "  guard byte after the block changed at +24 (expected 0xfd, found 0x01), 1 of 16 guard bytes after it differ;\n" +
      "  Something wrote past the end of the block (an overrun): check the sizes, strides and loop bounds of code writing to it.",
  );
  expect(printed[1]).toMatch(
    /^write after free: CorruptionError quarantine\(fill\(canary\(pages\)\)\): block 0x0008e010 \(24 B\) —\n {2}write after free: byte changed at \+3 \(expected 0x66, found 0x07\), 1 of 24 bytes differ;\n {2}freed at dropBlock /,
  );
  expect(printed[2]).toMatch(
    /^double free: DoubleFreeError quarantine\(fill\(canary\(pages\)\)\)\.deallocate: double free of block 0x0008e010 \(24 B\): it was already freed and is still in quarantine\.\n {2}first freed at dropBlock /,
  );
});
