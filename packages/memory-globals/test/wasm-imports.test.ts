import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { CorruptionError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, LeakError, OutOfMemoryError } from "@memkit/core";
import { MemoryGlobals, NULL_GUARD_BYTES, wasmHeapOf, wasmModuleLayout, type WasmImports } from "@memkit/memory-globals";
import { tinyModule, type TinyExports } from "./fixtures/tiny-module.js";

afterEach(() => {
  const memory = MemoryGlobals.current;
  if (memory === undefined) return;
  try {
    memory.shutdown();
  } catch {
    // tests that leak on purpose asserted what they needed
  }
});

const small = { initialBytes: 4 << 20, maximumBytes: 256 << 20 };

function instantiate(imports: WasmImports, bytes = tinyModule()): TinyExports {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
  return instance.exports as unknown as TinyExports;
}

describe("memory.wasmImports: a module's heap is a scope", () => {
  it("counts, peaks and frees what the module allocates; JS and wasm see the same bytes", () => {
    const memory = MemoryGlobals.init(small);
    const imports = memory.wasmImports("audio");
    expect(Object.keys(imports.env).sort()).toEqual(["aligned_alloc", "calloc", "free", "malloc", "memory", "realloc"]);
    expect(imports.env.memory).toBe(memory.space.memory);
    const wasm = instantiate(imports);
    const a = wasm.wasm_malloc(1000) >>> 0;
    const b = wasm.wasm_malloc(24) >>> 0;
    expect(a % 16).toBe(0);
    expect(b % 16).toBe(0);
    expect(wasmHeapOf(imports).scope.path).toBe("root/audio");
    expect(wasmHeapOf(imports).scope.stats().liveBytes).toBe(1024);
    expect(wasmHeapOf(imports).scope.stats().liveCount).toBe(2);
    memory.space.u8.fill(7, a, a + 1000);
    expect(new Uint8Array(imports.env.memory.buffer)[a + 999]).toBe(7);
    wasm.wasm_free(a);
    wasm.wasm_free(b);
    wasm.wasm_free(0); // free(NULL) is a no-op
    expect(wasmHeapOf(imports).scope.stats().liveBytes).toBe(0);
    expect(wasmHeapOf(imports).scope.stats().peakLiveBytes).toBe(1024);
    expect(memory.report().children.find((c) => c.path === "root/audio")!.peakLiveBytes).toBe(1024);
    memory.shutdown();
  });

  it("takes the live scope of that name, or creates it with scopeOptions", () => {
    const memory = MemoryGlobals.init(small);
    const audio = memory.scope("audio");
    const imports = memory.wasmImports("audio");
    const p = instantiate(imports).wasm_malloc(64);
    expect(audio.stats().liveBytes).toBe(64);
    expect(audio.owns(p)).toBe(true);
    audio.deallocate(p); // a JS free of a wasm block: one heap
    const fresh = memory.wasmImports("physics", { scopeOptions: { budget: 4096 } });
    expect(memory.report().children.find((c) => c.path === "root/physics")!.budgetBytes).toBe(4096);
    expect(wasmHeapOf(fresh).scope.name).toBe("physics");
  });

  it("calloc zeroes recycled bytes, realloc keeps them, aligned_alloc aligns, malloc(0) is a unique block", () => {
    const memory = MemoryGlobals.init(small);
    const imports = memory.wasmImports("c");
    const wasm = instantiate(imports);
    const u8 = () => memory.space.u8;
    const dirty = wasm.wasm_malloc(256) >>> 0;
    u8().fill(0xee, dirty, dirty + 256);
    wasm.wasm_free(dirty);
    const zeroed = wasm.wasm_calloc(16, 16) >>> 0;
    expect(zeroed).toBe(dirty); // the same bytes came back: calloc had to clear them
    expect(u8().subarray(zeroed, zeroed + 256).every((v) => v === 0)).toBe(true);
    for (let i = 0; i < 256; i++) u8()[zeroed + i] = i;
    const grown = wasm.wasm_realloc(zeroed, 70_000) >>> 0;
    for (let i = 0; i < 256; i++) expect(u8()[grown + i]).toBe(i);
    const shrunk = wasm.wasm_realloc(grown, 100) >>> 0;
    for (let i = 0; i < 100; i++) expect(u8()[shrunk + i]).toBe(i);
    const fromNull = wasm.wasm_realloc(0, 40) >>> 0;
    expect(wasmHeapOf(imports).scope.allocatedSize(fromNull)).toBeGreaterThanOrEqual(40);
    for (const align of [32, 64, 256, 4096]) {
      const p = wasm.wasm_aligned_alloc(align, 100) >>> 0;
      expect(p % align).toBe(0);
      wasm.wasm_free(p);
    }
    const z1 = wasm.wasm_malloc(0) >>> 0;
    const z2 = wasm.wasm_malloc(0) >>> 0;
    expect(z1).not.toBe(0);
    expect(z1).not.toBe(z2);
    for (const p of [shrunk, fromNull, z1, z2]) wasm.wasm_free(p);
    expect(wasmHeapOf(imports).scope.stats().liveBytes).toBe(0);
  });

  it("a budget exceeded from wasm: malloc returns NULL with the typed error kept, or throws it through the module", () => {
    const memory = MemoryGlobals.init(small);
    const imports = memory.wasmImports("capped", { scopeOptions: { budget: 4096 } });
    const wasm = instantiate(imports);
    const kept = wasm.wasm_malloc(4000) >>> 0;
    expect(wasm.wasm_malloc(200)).toBe(0);
    expect(wasmHeapOf(imports).lastError).toBeInstanceOf(OutOfMemoryError);
    expect(wasmHeapOf(imports).lastError!.message).toMatch(/root\/capped/);
    expect(wasm.wasm_calloc(100, 100)).toBe(0);
    expect(wasm.wasm_aligned_alloc(64, 5000)).toBe(0);
    expect(wasm.wasm_realloc(kept, 8000)).toBe(0); // the old block stays, as C expects
    expect(wasmHeapOf(imports).scope.allocatedSize(kept)).toBeGreaterThanOrEqual(4000);
    expect(wasm.wasm_malloc(-16)).toBe(0); // 0xfffffff0 bytes: more than any memory holds
    expect(wasm.wasm_realloc(kept, -16)).toBe(0);
    expect(wasm.wasm_calloc(0x10000, 0x10000)).toBe(0); // count * size overflows 32 bits
    expect(wasmHeapOf(imports).lastError!.message).toMatch(/calloc\(65536, 65536\)/);
    wasmHeapOf(imports).clearError();
    expect(wasmHeapOf(imports).lastError).toBeUndefined();
    const throwing = memory.wasmImports("capped", { outOfMemory: "throw" });
    const strict = instantiate(throwing);
    expect(() => strict.wasm_malloc(200)).toThrow(OutOfMemoryError);
    // Nothing was lost: the allocator still serves, the old block holds its bytes.
    memory.space.u8.fill(5, kept, kept + 4000);
    wasm.wasm_free(kept);
    const again = strict.wasm_malloc(4096) >>> 0;
    expect(again).not.toBe(0);
    strict.wasm_free(again);
    memory.check();
  });

  it("free of a foreign pointer or a double free from wasm is the typed JS error, and the heap still works", () => {
    const memory = MemoryGlobals.init(small);
    const imports = memory.wasmImports("audio");
    const wasm = instantiate(imports);
    const live = wasm.wasm_malloc(64) >>> 0;
    memory.space.u8.fill(9, live, live + 64);
    const p = wasm.wasm_malloc(32) >>> 0;
    wasm.wasm_free(p);
    let caught: unknown;
    try {
      wasm.wasm_free(p);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DoubleFreeError);
    expect((caught as Error).message).toMatch(/0x[0-9a-f]+/i);
    // The error crossed the wasm frame: its stack holds the module's function.
    expect((caught as Error).stack).toMatch(/wasm_free/);
    const other = memory.scope("other").allocate(16);
    expect(() => wasm.wasm_free(other)).toThrow(InvalidPointerError);
    expect(() => wasm.wasm_free(live + 4)).toThrow(InvalidPointerError);
    expect(() => wasm.wasm_realloc(p, 10)).toThrow(InvalidPointerError); // memkit's reallocate of a freed block
    expect(memory.space.u8.subarray(live, live + 64).every((v) => v === 9)).toBe(true);
    const q = wasm.wasm_malloc(32) >>> 0;
    expect(q).not.toBe(0);
    wasm.wasm_free(q);
    wasm.wasm_free(live);
    memory.openScope("other").deallocate(other);
    memory.check();
  });

  it("with debug: true, a module's overrun is caught by check() and its double free is still typed", () => {
    const memory = MemoryGlobals.init({ ...small, debug: true });
    const imports = memory.wasmImports("dbg");
    const wasm = instantiate(imports);
    const p = wasm.wasm_malloc(40) >>> 0;
    memory.check();
    const u8 = memory.space.u8;
    u8[p + 40] = u8[p + 40]! ^ 0xff; // one byte past the block, as an off-by-one in C would write
    expect(() => memory.check()).toThrow(CorruptionError);
    u8[p + 40] = u8[p + 40]! ^ 0xff;
    wasm.wasm_free(p);
    expect(() => wasm.wasm_free(p)).toThrow(DoubleFreeError);
    memory.check();
  });

  it("leaks of a module's blocks are a LeakError naming its scope, at dispose and at shutdown", () => {
    const memory = MemoryGlobals.init(small);
    const imports = memory.wasmImports("decoder");
    instantiate(imports).wasm_malloc(300);
    expect(() => wasmHeapOf(imports).scope.dispose()).toThrow(LeakError);
    expect(() => wasmHeapOf(imports).scope.dispose()).toThrow(/root\/decoder/);
    let error: unknown;
    try {
      memory.shutdown();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LeakError);
    expect((error as LeakError).report.scopes).toContain("root/decoder");
    expect((error as LeakError).report.bytes).toBe(300);
  });

  it("with tracing: \"callstacks\", the module's frames are in the block's stack and the folded stacks", () => {
    const memory = MemoryGlobals.init({ ...small, tracing: "callstacks" });
    const imports = memory.wasmImports("wasm");
    const wasm = instantiate(imports);
    function fromJs(): number {
      return wasm.wasm_calloc(4, 8);
    }
    const p = fromJs();
    const folded = wasmHeapOf(imports).scope.foldedStacks();
    expect(folded).toMatch(/wasm_calloc \(wasm:\/\/wasm\//);
    // memkit's own frames (the import, the scope) are cut: the stack starts at the wasm function.
    const line = folded.split("\n").find((l) => l.includes("wasm_calloc"))!;
    expect(line).toMatch(/fromJs/);
    expect(line.slice(line.lastIndexOf(";") + 1)).toMatch(/^wasm_calloc \(wasm:/);
    wasm.wasm_free(p);
  });

  it("mode and option errors are InvalidArgumentErrors", () => {
    const memory = MemoryGlobals.init(small);
    expect(() => memory.wasmImports("a", { outOfMemory: "crash" as "throw" })).toThrow(InvalidArgumentError);
    expect(() => memory.wasmImports("a", { module: "x" as unknown as Uint8Array })).toThrow(InvalidArgumentError);
    expect(() => memory.wasmImports("a", { module: new Uint8Array([1, 2, 3]) })).toThrow(/malformed/);
  });

  it("random malloc/calloc/realloc/free sequences from wasm keep every block's bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5000 }), fc.nat()), { maxLength: 120 }), (ops) => {
        const memory = MemoryGlobals.init(small);
        try {
          const imports = memory.wasmImports("prop");
          const wasm = instantiate(imports);
          const live: { ptr: number; size: number; tag: number }[] = [];
          const u8 = () => memory.space.u8;
          const write = (b: { ptr: number; size: number; tag: number }) => u8().fill(b.tag, b.ptr, b.ptr + b.size);
          let tag = 1;
          for (const [op, size, pick] of ops) {
            tag = (tag % 250) + 1;
            if (op === 0 || live.length === 0) {
              const b = { ptr: wasm.wasm_malloc(size) >>> 0, size, tag };
              write(b);
              live.push(b);
            } else if (op === 1) {
              const ptr = wasm.wasm_calloc(1, size) >>> 0;
              expect(u8().subarray(ptr, ptr + size).every((v) => v === 0)).toBe(true);
              const b = { ptr, size, tag };
              write(b);
              live.push(b);
            } else if (op === 2) {
              const b = live[pick % live.length]!;
              b.ptr = wasm.wasm_realloc(b.ptr, size) >>> 0;
              const kept = Math.min(size, b.size);
              expect(u8().subarray(b.ptr, b.ptr + kept).every((v) => v === b.tag)).toBe(true);
              b.size = size;
              b.tag = tag;
              write(b);
            } else {
              const [b] = live.splice(pick % live.length, 1);
              wasm.wasm_free(b!.ptr);
            }
          }
          for (const b of live) expect(u8().subarray(b.ptr, b.ptr + b.size).every((v) => v === b.tag)).toBe(true);
          expect(wasmHeapOf(imports).scope.stats().liveBytes).toBe(live.reduce((s, b) => s + b.size, 0));
          for (const b of live) wasm.wasm_free(b.ptr);
          memory.check();
        } finally {
          memory.shutdown();
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("the wasm static region", () => {
  const region = 64 << 10;

  it("is never handed out: blocks of every size stay clear of it, and the memory map shows it", () => {
    const memory = MemoryGlobals.init({ ...small, wasmStaticBytes: region });
    const start = NULL_GUARD_BYTES;
    const end = NULL_GUARD_BYTES + region;
    expect(memory.bootstrap.base).toBe(end);
    const scope = memory.scope("many");
    const blocks: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const size = [8, 100, 1024, 5000, 70_000, 600_000][i % 6]!;
      const p = scope.allocate(size);
      expect(p + size <= start || p >= end).toBe(true);
      blocks.push(p);
      if (i % 3 === 0) scope.deallocate(blocks.splice(i % blocks.length, 1)[0]!);
    }
    const f = memory.frame.allocate(4096);
    expect(f >= end).toBe(true);
    expect(memory.pages.range.start).toBeGreaterThanOrEqual(end);
    expect(memory.snapshot().memoryMap.regions).toContainEqual({ name: "wasm static", start, bytes: region });
    for (const p of blocks) scope.deallocate(p);
  });

  it("survives save and restore", () => {
    const memory = MemoryGlobals.init({ ...small, wasmStaticBytes: region });
    const bytes = memory.save();
    memory.shutdown();
    const restored = MemoryGlobals.restore(bytes);
    expect(restored.options.wasmStaticBytes).toBe(region);
    expect(restored.bootstrap.base).toBe(NULL_GUARD_BYTES + region);
  });

  it("a module whose data and stack lie inside it is accepted; its data is written there", () => {
    const memory = MemoryGlobals.init({ ...small, wasmStaticBytes: region });
    const bytes = tinyModule({ data: { at: 0x1000, bytes: 100 }, stackPointer: 0x1000 + 100 + 8192, heapBase: 0x1000 + 100 + 8192 });
    expect(wasmModuleLayout(bytes, "t")).toMatchObject({ segments: [{ start: 0x1000, end: 0x1064 }], heapBase: 0x3064, stackPointer: 0x3064, importsMemory: true });
    const imports = memory.wasmImports("m", { module: bytes });
    expect(wasmHeapOf(imports).staticExtent).toEqual({ start: 0x1000, end: 0x3064, scope: "m" });
    instantiate(imports, bytes);
    expect(memory.space.u8[0x1000]).toBe(0xab);
    memory.check(); // the data went where nothing of memkit's is
    // A second module over the same bytes is refused until the first is released.
    expect(() => memory.wasmImports("m2", { module: bytes })).toThrow(/overlap .*"m"/);
    wasmHeapOf(imports).release();
    expect(wasmHeapOf(memory.wasmImports("m2", { module: bytes })).staticExtent).toEqual({ start: 0x1000, end: 0x3064, scope: "m2" });
  });

  it("refuses modules that would write outside it, with the linker flag to fix it", () => {
    const memory = MemoryGlobals.init({ ...small, wasmStaticBytes: region });
    const end = NULL_GUARD_BYTES + region;
    expect(() => memory.wasmImports("a", { module: tinyModule({ data: { at: 1024, bytes: 16 } }) })).toThrow(/--global-base=4096/);
    expect(() => memory.wasmImports("b", { module: tinyModule({ data: { at: end - 8, bytes: 16 } }) })).toThrow(InvalidArgumentError);
    expect(() => memory.wasmImports("c", { module: tinyModule({ data: { at: 0x2000, bytes: 16 }, stackPointer: 0x3000, heapBase: end + 16 }) })).toThrow(/outside/);
    expect(() => memory.wasmImports("d", { module: tinyModule({ data: { at: 0x2000, bytes: 16 }, stackPointer: 0x3000 }) })).toThrow(/--export=__heap_base/);
    expect(() => memory.wasmImports("e", { module: tinyModule({ data: { at: 0x8000, bytes: 16 }, stackPointer: 0x6000, heapBase: 0x8010 }) })).toThrow(/--stack-first/);
    expect(() => memory.wasmImports("f", { module: tinyModule({ noMemoryImport: true }) })).toThrow(/--import-memory/);
    // Without wasmStaticBytes there is no region: any data segment is refused.
    memory.shutdown();
    const bare = MemoryGlobals.init(small);
    expect(() => bare.wasmImports("g", { module: tinyModule({ data: { at: NULL_GUARD_BYTES, bytes: 16 } }) })).toThrow(/wasmStaticBytes/);
    // A refused module created no scope.
    expect(bare.report().children.map((c) => c.path)).toEqual([]);
  });
});
