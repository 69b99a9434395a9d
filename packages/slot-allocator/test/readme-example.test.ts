import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";

// The README's example, verbatim (imports hoisted above). The last test checks
// this file still contains every line of it, and that the printed lines match.

function example(): void {
  const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 256 << 20 });
  const pages = new PageAllocator(space);                 // 64 KiB pages
  const slots = new SlotAllocator(pages, { name: "particles" });

  const p = slots.allocate(24);                           // a 24-byte slot, 8-aligned
  space.f32[p >>> 2] = 1.5;
  slots.allocatedSize(p);                                 // 24
  const q = slots.allocate(100, 64);                      // 128-byte class: multiples of 64 are 64-aligned
  slots.deallocate(p);
  slots.deallocate(q);

  // Mistakes throw typed errors and change nothing:
  for (const mistake of [() => slots.deallocate(q), () => slots.deallocate(q + 8), () => slots.allocate(4000)]) {
    try {
      mistake();
    } catch (err) {
      console.log(String(err).split("\n")[0]);
    }
  }
  // DoubleFreeError [ERR_DOUBLE_FREE]: particles.deallocate: 0x00050000 was already freed (slot 0 of slab 0x00050000 (128-byte slots)).
  // InvalidPointerError [ERR_INVALID_POINTER]: particles.deallocate: 0x00050008 was not handed out by this allocator (8 bytes into the slot at 0x00050000 of slab 0x00050000 (128-byte slots)).
  // OutOfMemoryError [ERR_OUT_OF_MEMORY]: particles: cannot allocate 4,000 B (3.91 KiB) (align 8): that is above the largest slot (1024 B).

  // All state is in the memory: a second handle (another thread, a restored save) needs only the pointer.
  const other = SlotAllocator.attach(space, slots.controlPtr);
  const r = other.allocate(40);
  slots.deallocate(r);                                    // either handle frees what the other handed out
  other.detach();                                         // this handle ends; the allocator lives on

  slots.check();              // walks every slab; CorruptionError names the slab and the broken invariant
  console.log(slots.stats().liveCount, slots.storageReport().totalFreeBytes > 0); // 0 true
  slots.reclaim();            // empty slabs go back to the page allocator (it asks for them itself before failing)
  slots.destroy();            // every slab and the control block go back; every call after throws DestroyedError
}

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

afterEach(() => {
  vi.restoreAllMocks();
});

it("runs the README example as written, printing what its comments say", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  example();
  const printed = log.mock.calls.map((call) => call.map(String).join(" "));
  const shown = [...readme.matchAll(/^\/\/ ((?:DoubleFree|InvalidPointer|OutOfMemory)Error \[.*)$/gm)].map((m) => m[1]);
  expect(printed).toEqual([...shown, "0 true"]);
});

it("the README's example is the code this test runs", () => {
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").map((line) => line.trim()).filter((line) => line.length > 0).join("\n");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(1);
  const lines = blocks[0]!.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("import "));
  expect(source).toContain(lines.join("\n"));
});
