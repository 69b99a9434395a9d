import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";

// The README's example, verbatim (imports hoisted above). The last test checks
// this file still contains every line of it.

function example(): void {
  const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 1 << 30 });
  const pages = new PageAllocator(space);
  const heap = new HeapAllocator(pages, { name: "heap", spanBytes: 1 << 20 });

  let a = heap.allocate(10_000);              // 8-aligned
  console.log(heap.allocatedSize(a));         // 10004: usable bytes (size + 4-byte header, rounded to 8, minus the header)
  const b = heap.allocate(256, 4096);         // aligned: the front gap stays a free block
  a = heap.reallocate(a, 12_000);             // in place when the right neighbour is free enough, else moves
  console.log(heap.allocatedSize(b));         // 260
  console.log(pages.tagOf(a) >>> 24 === heap.ownerId); // true: routers dispatch on the page map in O(1)
  heap.deallocate(a);
  console.log(heap.owns(a));                  // false; deallocate(a) again -> DoubleFreeError, nothing changes
  console.log(heap.owns(b + 8));              // false; deallocate(b + 8) -> InvalidPointerError "+8 into the live block 0x…"
  const twin = HeapAllocator.attach(space, heap.controlPtr); // a second handle (a worker, a restored save)
  console.log(twin.name, twin.owns(b));       // heap true: named as registered with the page allocator
  twin.detach();                              // ends that handle only
  heap.check();                               // verifies every invariant, or throws CorruptionError
  heap.storageReport();                       // total free, largest free block, histogram, fragmentation
  heap.reclaim();                             // the cached empty span goes back to the page allocator
  heap.destroy();                             // returns every span to the page allocator
}

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

afterEach(() => {
  vi.restoreAllMocks();
});

it("runs the README example as written, printing what its comments say", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  example();
  expect(log.mock.calls.map((call) => (call.length === 1 ? (call[0] as unknown) : call))).toEqual([10004, 260, true, false, false, ["heap", true]]);
});

it("the README's example is the code this test runs", () => {
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").map((line) => line.trim()).filter((line) => line.length > 0).join("\n");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(1);
  const lines = blocks[0]!.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("import "));
  expect(source).toContain(lines.join("\n"));
});
