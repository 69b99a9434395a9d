import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import { DynamicArray } from "@memkit/containers";
import { RelocatableAllocator } from "@memkit/relocatable-allocator";

// The README's example, verbatim (imports hoisted above). The last test checks
// this file still contains every line of it.

function example(): void {
  const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 256 << 20 });
  const root = new TraceAllocator(new GenericAllocator(new PageAllocator(space)));
  const level = root.child("level");                        // the chunks are counted here
  const blocks = new RelocatableAllocator(level, { name: "level-blocks" });
  const mesh = blocks.create(4096);                         // a handle: a number, never 0
  const texture = blocks.create(64 << 10);
  space.u8.fill(7, blocks.resolve(mesh), blocks.resolve(mesh) + 4096); // resolve on access: O(1)
  blocks.free(texture);                                     // merges with the chunk's free tail
  const lights = new DynamicArray(blocks, "f32", { name: "lights" }); // a container in relocatable memory
  lights.push(1.5);
  blocks.free(mesh);                                        // a hole below the array
  const moved = blocks.compact({ maxBytes: 64 << 10 });    // every frame: at most 64 KiB moved
  console.log(moved.movedBlocks, lights.get(0));            // 1 1.5: the array moved and followed
  const h = blocks.create(100);
  const ptr = blocks.pin(h);                                // pinned: ptr stays valid until unpin
  blocks.unpin(h);
  blocks.compact();                                         // offline: one whole pass (a load screen)
  blocks.resolve(h);                                        // the block's address now
  blocks.free(h);
  console.log(blocks.isAlive(h));                           // false: blocks.resolve(h) throws StaleHandleError
  blocks.check();                                           // every chunk, bin and slot
  lights.dispose();
  blocks.destroy();                                         // chunks, tables and control block back to the scope
  level.dispose();                                          // nothing left: no LeakError
  void ptr;
}

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

afterEach(() => {
  vi.restoreAllMocks();
});

it("runs the README example as written, printing what its comments say", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  example();
  expect(log.mock.calls).toEqual([[1, 1.5], [false]]);
});

it("the README's example is the code this test runs", () => {
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").map((line) => line.trim()).filter((line) => line.length > 0).join("\n");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(1);
  const lines = blocks[0]!.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("import "));
  expect(source).toContain(lines.join("\n"));
});
