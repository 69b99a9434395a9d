import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";

// The README's example, verbatim (imports hoisted above). The last test checks
// this file still contains every line of it.

function example(): void {
  const space = AddressSpace.create({ initialBytes: 64 << 20, maximumBytes: 1 << 30 });
  const generic = new GenericAllocator(new PageAllocator(space));
  const small = generic.allocate(32);          // a slot
  const medium = generic.allocate(10_000);     // a heap block
  const large = generic.allocate(4 << 20);     // a page span
  console.log(generic.tierOf(small), generic.tierOf(medium), generic.tierOf(large)); // slots heap large
  generic.deallocate(large);                   // routed by the page map in O(1)
  generic.stats();                             // totals over the three tiers
  generic.storageReport();                     // free memory across slots and heap
  generic.check();                             // both tiers' invariants + large-span accounting
  generic.deallocate(small);
  generic.deallocate(medium);
  generic.reclaim();                           // cached empty slabs and spans go back to the page allocator
  const other = GenericAllocator.attach(space, generic.controlPtr); // a second handle: all state is in the memory
  other.deallocate(other.allocate(100));
  other.detach();                              // ends that handle only
  generic.destroy();                           // everything back to the page allocator; later calls throw DestroyedError
}

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

afterEach(() => {
  vi.restoreAllMocks();
});

it("runs the README example as written, printing what its comments say", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  example();
  expect(log.mock.calls).toEqual([["slots", "heap", "large"]]);
});

it("the README's example is the code this test runs", () => {
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").map((line) => line.trim()).filter((line) => line.length > 0).join("\n");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(1);
  const lines = blocks[0]!.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("import "));
  expect(source).toContain(lines.join("\n"));
});
