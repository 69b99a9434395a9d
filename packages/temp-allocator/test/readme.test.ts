import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";

// The README's examples, verbatim (imports hoisted above). The last test
// checks this file still contains every line of every example.

function scratchExample(): void {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  const scratch = new ScratchAllocator(new PageAllocator(space)); // 64 KiB chunks

  function sumOfSquares(values: readonly number[]): number {
    const mark = scratch.mark();
    try {
      const tmp = scratch.allocate(values.length * 8);
      const f64 = space.f64; // read views after allocating: the space may have grown
      for (let i = 0; i < values.length; i++) f64[(tmp >>> 3) + i] = values[i]! ** 2;
      let sum = 0;
      for (let i = 0; i < values.length; i++) sum += f64[(tmp >>> 3) + i]!;
      return sum;
    } finally {
      scratch.release(mark); // frees everything allocated since the mark, in O(1)
    }
  }

  console.log(sumOfSquares([1, 2, 3])); // 14
  console.log(scratch.stats().liveCount); // 0
  console.log(scratch.withMark(() => sumOfSquares([4]))); // 16: withMark wraps the mark/release pair
}

function frameExample(): void {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  const frames = new FrameAllocator(new PageAllocator(space), { arenas: 2, debug: true });

  let previous = 0;
  for (let i = 0; i < 3; i++) {
    frames.beginFrame();
    const contacts = frames.allocate(64 * 4, 16); // valid this frame and the next
    space.u32.fill(i, contacts >>> 2, (contacts >>> 2) + 64);
    if (previous !== 0) frames.assertLive(previous); // last frame's list is still valid
    previous = contacts;
  }
  frames.beginFrame();
  frames.beginFrame(); // the frame that allocated `previous` has been recycled
  try {
    frames.assertLive(previous);
  } catch (err) {
    console.log((err as Error).message);
  }
}

function attachExample(): void {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  const pages = new PageAllocator(space);
  const scratch = new ScratchAllocator(pages);
  const mark = scratch.mark();
  const block = scratch.allocate(100);

  // The stack's state is in its control block: a handle attached to it is the same stack.
  const again = ScratchAllocator.attach(space, scratch.controlPtr, { backing: pages });
  console.log(again.owns(block), again.markDepth); // true 1
  again.release(mark); // the mark taken through the first handle
  console.log(scratch.owns(block)); // false
  again.detach(); // ends this handle only
  scratch.destroy(); // ends the stack, for every handle
}

describe("README examples", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("scratch stack with marks", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    scratchExample();
    expect(log.mock.calls.map((c) => c[0] as unknown)).toEqual([14, 0, 16]);
  });

  it("frame loop", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    frameExample();
    expect(log).toHaveBeenCalledTimes(1);
    const message = log.mock.calls[0]![0] as string;
    expect(message).toMatch(/^frame\.assertLive: 0x[0-9a-f]{8} is a stale frame pointer/);
    expect(message).toContain("it belonged to frame 3, recycled when frame 5 began");
    expect(message).toContain("this is frame 5");
    // The README shows this message: keep it in step.
    const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    const shown = /\/\/ (frame\.assertLive: [^\n]*\n\s*\/\/ [^\n]*)/.exec(readme)?.[1]?.replace(/\n\s*\/\/ /, " ");
    expect(shown).toBe(message);
  });

  it("a second handle", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    attachExample();
    expect(log.mock.calls).toEqual([[true, 1], [false]]);
  });

  it("the README's examples are the code these tests run", () => {
    const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    const source = readFileSync(fileURLToPath(import.meta.url), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.length > 0)
      .join("\n");
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBe(3);
    for (const block of blocks) {
      const lines = block
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.length > 0 && !line.startsWith("import ") && !line.startsWith("// frame.assertLive") && !line.startsWith("// allocated in"));
      expect(source).toContain(lines.join("\n"));
    }
  });
});
