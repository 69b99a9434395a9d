import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";

// The README's example, verbatim (imports hoisted above). The last test checks
// this file still contains every line of it.

function example(): void {
  const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 256 << 20 });
  const pages = new PageAllocator(space);          // control block right after page 0
  const span = pages.allocate(200_000);            // 4 pages, 64 KiB aligned
  console.log(pages.allocatedSize(span));          // 262144
  const heap = pages.registerOwner("heap");        // owner id for the page map
  pages.setTag(span, heap, 7);                     // every page of the span: heap << 24 | 7
  console.log(pages.tagOf(span + 100_000) === ((heap << 24) | 7)); // true: O(1) routing from any address inside
  pages.deallocate(span);                          // merges with free neighbours
  pages.check();                                   // verifies the map, bins and counters
  const other = PageAllocator.attach(space, pages.controlPtr); // a second handle (a worker, a restored save)
  console.log(other.ownerName(heap));              // heap: owner names live in the control block
  other.detach();                                  // ends that handle only
  try {
    pages.allocate(300 << 20);                     // more than maximumBytes
  } catch (err) {
    console.log(String(err).split("\n")[0]);
    // OutOfMemoryError [ERR_OUT_OF_MEMORY]: pages: cannot allocate 314,572,800 B (300.0 MiB) (align 8): 0 B live in 0 spans, ...
  }
}

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

afterEach(() => {
  vi.restoreAllMocks();
});

it("runs the README example as written, printing what its comments say", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  example();
  const printed = log.mock.calls.map((call) => String(call[0]));
  expect(printed.slice(0, 3)).toEqual(["262144", "true", "heap"]);
  const shown = /\/\/ (OutOfMemoryError .*)\.\.\.$/m.exec(readme)?.[1];
  expect(shown).toBeDefined();
  expect(printed[3]!.startsWith(shown!)).toBe(true);
  expect(printed).toHaveLength(4);
});

it("the README's example is the code this test runs", () => {
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").map((line) => line.trim()).filter((line) => line.length > 0).join("\n");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(1);
  const lines = blocks[0]!.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("import "));
  expect(source).toContain(lines.join("\n"));
});
