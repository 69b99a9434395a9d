import { describe, expect, it } from "vitest";
import { AddressSpace, InvalidArgumentError, OutOfMemoryError, WASM_PAGE_BYTES } from "@memkit/core";

describe("AddressSpace", () => {
  it("creates a memory with the asked sizes", () => {
    const space = AddressSpace.create({ initialBytes: 2 * WASM_PAGE_BYTES, maximumBytes: 8 * WASM_PAGE_BYTES });
    expect(space.byteLength).toBe(2 * WASM_PAGE_BYTES);
    expect(space.maximumBytes).toBe(8 * WASM_PAGE_BYTES);
    expect(space.shared).toBe(false);
    expect(space.u8.length).toBe(2 * WASM_PAGE_BYTES);
  });

  it("never hands out a view from before a grow", () => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 4 * WASM_PAGE_BYTES });
    const oldU8 = space.u8;
    const oldU32 = space.u32;
    const oldF64 = space.f64;
    const oldView = space.view;
    space.u32[10] = 0xdeadbeef;
    const generation = space.generation;
    const seen: number[] = [];
    space.onGrow((s) => seen.push(s.generation));
    expect(space.grow(1)).toBe(WASM_PAGE_BYTES);
    // The old views are detached: they read nothing and drop writes.
    expect(oldU8.length).toBe(0);
    expect(oldU32.length).toBe(0);
    expect(oldF64.length).toBe(0);
    expect(() => oldView.getUint8(0)).toThrow();
    // Every view the space hands out now is over the new buffer and keeps the data.
    for (const v of [space.u8, space.i32, space.u32, space.f32, space.f64]) {
      expect(v.buffer).toBe(space.memory.buffer);
      expect(v.byteLength).toBe(2 * WASM_PAGE_BYTES);
    }
    expect(space.view.byteLength).toBe(2 * WASM_PAGE_BYTES);
    expect(space.u32[10]).toBe(0xdeadbeef);
    expect(space.generation).toBe(generation + 1);
    expect(seen).toEqual([generation + 1]);
  });

  it("notices a grow made behind its back (a wasm module growing the memory)", () => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 4 * WASM_PAGE_BYTES });
    let calls = 0;
    space.onGrow(() => calls++);
    space.memory.grow(1);
    expect(space.u8.length).toBe(2 * WASM_PAGE_BYTES);
    expect(calls).toBe(1);
    expect(space.refresh()).toBe(false);
  });

  it("keeps shared views valid: old ones keep their short length, new ones see the growth", () => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 4 * WASM_PAGE_BYTES, shared: true });
    expect(space.shared).toBe(true);
    const old = space.u8;
    space.grow(WASM_PAGE_BYTES);
    expect(old.length).toBe(WASM_PAGE_BYTES);
    expect(space.u8.length).toBe(2 * WASM_PAGE_BYTES);
    expect(space.u8).not.toBe(old);
  });

  it("attaches to an existing memory and sees its bytes", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    new Uint8Array(memory.buffer)[5] = 42;
    const space = AddressSpace.attach(memory, { maximumBytes: 2 * WASM_PAGE_BYTES });
    expect(space.u8[5]).toBe(42);
    space.grow(1);
    expect(() => space.grow(1)).toThrow(OutOfMemoryError);
    expect(space.u8[5]).toBe(42);
  });

  it("unsubscribes grow listeners", () => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 4 * WASM_PAGE_BYTES });
    let calls = 0;
    const off = space.onGrow(() => calls++);
    off();
    space.grow(1);
    expect(calls).toBe(0);
  });

  it("throws OutOfMemoryError past the maximum and stays usable", () => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 2 * WASM_PAGE_BYTES });
    space.u8[7] = 9;
    expect(() => space.grow(2 * WASM_PAGE_BYTES)).toThrow("cannot grow by 131,072 B (128.0 KiB) (2 wasm pages): 64.0 KiB in use of a 128.0 KiB maximum");
    expect(space.byteLength).toBe(WASM_PAGE_BYTES);
    expect(space.u8[7]).toBe(9);
    space.grow(1);
    expect(space.byteLength).toBe(2 * WASM_PAGE_BYTES);
  });

  it.each([
    [{ initialBytes: 1000 }, /initialBytes/],
    [{ initialBytes: 1.5 * WASM_PAGE_BYTES }, /initialBytes/],
    [{ initialBytes: -WASM_PAGE_BYTES }, /initialBytes/],
    [{ maximumBytes: 2 ** 32 }, /maximumBytes/],
    [{ initialBytes: 4 * WASM_PAGE_BYTES, maximumBytes: 2 * WASM_PAGE_BYTES }, /maximumBytes .* is less than initialBytes/],
  ])("rejects impossible options %o", (options, message) => {
    expect(() => AddressSpace.create(options)).toThrow(InvalidArgumentError);
    expect(() => AddressSpace.create(options)).toThrow(message);
  });

  it("rejects bad grow and attach arguments", () => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 2 * WASM_PAGE_BYTES });
    expect(() => space.grow(-1)).toThrow(InvalidArgumentError);
    expect(() => space.grow(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => AddressSpace.attach({} as WebAssembly.Memory)).toThrow(InvalidArgumentError);
  });
});

describe("out-of-memory messages", () => {
  it("name the exact byte count asked for", () => {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 1 << 20 });
    expect(() => space.grow(67_112_961)).toThrow("cannot grow by 67,112,961 B (64.0 MiB) (1,025 wasm pages)");
  });
});
