import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { LeakError } from "@memkit/core";
import { DynamicArray } from "@memkit/containers";
import { MemoryGlobals, wasmHeapOf } from "@memkit/memory-globals";
import { tinyModule } from "./fixtures/tiny-module.js";
import { MemoryGlobals as LeanMemoryGlobals } from "@memkit/memory-globals/lean";
import "@memkit/memory-globals/debug";

// The README's example, verbatim (imports hoisted above). The last test checks
// this file still contains every line of it.

function example(): void {
  const memory = MemoryGlobals.init({ initialBytes: 64 << 20, maximumBytes: 1 << 30, tracing: "counts" });

  {
    using physics = memory.scope("physics", { budget: { bytes: 32 << 20 } });
    const bodies = physics.allocate(4096);        // counted under root/physics
    memory.beginStage("play");                    // peaks restart: find the heaviest stage
    for (let frame = 0; frame < 600; frame++) {
      memory.beginFrame();                        // recycles the oldest frame arena
      memory.frame.allocate(1024);                // a contact list: gone when its arena comes round again
      const mark = memory.scratch.mark();
      memory.scratch.allocate(256);               // scratch work...
      memory.scratch.release(mark);               // ...freed in O(1)
    }
    memory.endStage();
    physics.deallocate(bodies);
  }                                               // `using`: the scope asserts it holds nothing

  console.log(memory.formatReport());             // the scope tree: live, peak, allocations, budgets
  memory.check();                                 // every invariant, guard and quarantine
  memory.shutdown();                              // one LeakError naming every scope still holding memory
}

// The README's save and restore examples, verbatim; the test shuts the first memory down between them.
function saveExample(): Uint8Array {
  const memory = MemoryGlobals.init();
  const ids = new DynamicArray(memory.scope("physics"), "u32", { name: "ids" });
  ids.push(42);
  memory.setRoot("ids", ids.persist());       // containers write their descriptors into memory
  const bytes = memory.save();                // a Uint8Array: write it to a file, send it, keep it
  return bytes;
}

function restoreExample(bytes: Uint8Array): DynamicArray<"u32"> {
  const restored = MemoryGlobals.restore(bytes);
  const again = DynamicArray.restore(restored.openScope("physics"), restored.root("ids"), { kind: "u32" });
  console.log(again.get(0));                  // 42: the same block, in the same scope, under the same budget
  return again;
}

// The README's timeline example, verbatim.
function timelineExample(): NonNullable<ReturnType<MemoryGlobals["timeline"]>> {
  const memory = MemoryGlobals.init({ timeline: { frames: 600, leakWindow: 240 } });
  const ai = memory.scope("ai");
  for (let frame = 0; frame < 400; frame++) {
    if (frame % 9 === 0) ai.allocate(48);   // a cache nobody empties
    memory.beginFrame();
  }
  const timeline = memory.timeline()!;       // also memory.snapshot().timeline, for tools/memreport
  console.log(timeline.frames.at(-1));       // 399: a sample is the state when that frame ended
  console.log(timeline.scopes[1]);           // { path: "root/ai", liveBytes: [48, 48, ...], allocs: [1, 0, ...], ... }
  console.log(timeline.leakSuspects);        // [{ path: "root/ai", fromFrame: 160, toFrame: 399, ... }]
  return timeline;
}

// The README's lean-entry example, verbatim but for the import alias.
function leanExample(): void {
  const memory = LeanMemoryGlobals.init({ debug: true });
  memory.shutdown();
}

// The README's WebAssembly example, verbatim; `bytes` is a small hand-assembled module whose exports call its imports.
async function wasmExample(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Instance> {
  const memory = MemoryGlobals.init({ wasmStaticBytes: 256 << 10 });   // [0x1000, 0x41000): modules' data and stacks
  const imports = memory.wasmImports("audio", { module: bytes });      // bytes: the .wasm; its data and stack must lie in that region
  const { instance } = await WebAssembly.instantiate(bytes, imports);  // its malloc and free: blocks of root/audio
  const heap = wasmHeapOf(imports);                                    // the scope, the last failure, the static claim
  console.log(heap.scope.stats().liveBytes);                           // what the module holds now
  memory.shutdown();                                                   // a block it never freed: LeakError naming root/audio
  return instance;
}

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

afterEach(() => {
  vi.restoreAllMocks();
  MemoryGlobals.current?.shutdown();
});

it("runs the README example as written", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  example();
  expect(log).toHaveBeenCalledTimes(1);
  expect(String(log.mock.calls[0]![0])).toMatch(/^scope +live/);
  expect(MemoryGlobals.current).toBeUndefined();
});

it("runs the README's lean-entry example as written", () => {
  leanExample();
  expect(MemoryGlobals.current).toBeUndefined();
});

it("runs the README's save and restore examples as written", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  const bytes = saveExample();
  expect(() => MemoryGlobals.current!.shutdown()).toThrow(LeakError); // the example keeps its array
  const again = restoreExample(bytes);
  expect(log).toHaveBeenCalledWith(42);
  again.dispose();
  MemoryGlobals.current!.openScope("physics").dispose();
  MemoryGlobals.current!.setRoot("ids", 0);
  MemoryGlobals.current!.shutdown();
});

it("runs the README's WebAssembly example as written: clean when the module freed everything, a LeakError naming its scope when not", async () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  const instance = await wasmExample(tinyModule({ data: { at: 0x1000, bytes: 64 } }));
  expect(log).toHaveBeenCalledWith(0);
  expect(typeof instance.exports.wasm_malloc).toBe("function");
  // The example's last line, when the module keeps a block.
  const memory = MemoryGlobals.init({ wasmStaticBytes: 256 << 10 });
  const bytes = tinyModule();
  const imports = memory.wasmImports("audio", { module: bytes });
  const { instance: kept } = await WebAssembly.instantiate(bytes, imports);
  (kept.exports.wasm_malloc as (n: number) => number)(100);
  expect(() => memory.shutdown()).toThrow(/root\/audio/);
});

it("runs the README's timeline example as written, and its comments hold", () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  const timeline = timelineExample();
  expect(log).toHaveBeenCalledTimes(3);
  expect(log.mock.calls[0]![0]).toBe(399);
  expect(timeline.frames).toEqual(Array.from({ length: 400 }, (_, i) => i));
  expect(timeline.scopes[1]!.path).toBe("root/ai");
  expect(timeline.scopes[1]!.liveBytes.slice(0, 2)).toEqual([48, 48]);
  expect(timeline.scopes[1]!.allocs.slice(0, 2)).toEqual([1, 0]);
  expect(timeline.leakSuspects.map((s) => [s.path, s.fromFrame, s.toFrame])).toEqual([["root/ai", 160, 399]]);
  expect(() => MemoryGlobals.current!.shutdown()).toThrow(LeakError);
});

it("the README's examples are the code this test runs", () => {
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").map((line) => line.trim()).filter((line) => line.length > 0).join("\n");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(6);
  for (const block of blocks) {
    const lines = block.split("\n").map((line) => line.trim()).filter((line) => line.length > 0 && !line.startsWith("import "));
    expect(source).toContain(lines.join("\n").replace("MemoryGlobals.init({ debug: true })", "LeanMemoryGlobals.init({ debug: true })"));
  }
});
