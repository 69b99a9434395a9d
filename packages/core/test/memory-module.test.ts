import { describe, expect, it } from "vitest";
import { MemoryModule } from "@memkit/core";

// (module (import "env" "memory" (memory 0 [65536 shared])) (func (export "peek") (param i32) (result i32) local.get 0 i32.load))
function peekModule(shared: boolean): Uint8Array<ArrayBuffer> {
  const limits = shared ? [0x03, 0x00, 0x80, 0x80, 0x04] : [0x00, 0x00];
  const importSection = [0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, ...limits];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f],
    ...[0x02, importSection.length, ...importSection],
    ...[0x03, 0x02, 0x01, 0x00],
    ...[0x07, 0x08, 0x01, 0x04, 0x70, 0x65, 0x65, 0x6b, 0x00, 0x00],
    ...[0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0b],
  ]);
}

describe("MemoryModule", () => {
  it("instantiates once per memory, with the build for its kind, over that memory", () => {
    const kinds: boolean[] = [];
    const module = new MemoryModule<{ peek(at: number): number }>((shared) => {
      kinds.push(shared);
      return peekModule(shared);
    });
    const a = new WebAssembly.Memory({ initial: 1 });
    const b = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    new Int32Array(a.buffer)[2] = 1234;
    new Int32Array(b.buffer)[2] = -7;
    const ea = module.exportsFor(a, false)!;
    expect(ea.peek(8)).toBe(1234);
    expect(module.exportsFor(a, false)).toBe(ea);
    expect(module.exportsFor(b, true)!.peek(8)).toBe(-7);
    expect(module.exportsFor(new WebAssembly.Memory({ initial: 1 }), false)!.peek(8)).toBe(0);
    expect(kinds).toEqual([false, true]);
  });

  it("gives null where the module does not compile, and does not try again", () => {
    let calls = 0;
    const module = new MemoryModule<object>(() => {
      calls++;
      return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02]);
    });
    expect(module.exportsFor(new WebAssembly.Memory({ initial: 1 }), false)).toBeNull();
    expect(module.exportsFor(new WebAssembly.Memory({ initial: 1 }), false)).toBeNull();
    expect(calls).toBe(1);
  });

  it("decodes base64 builds", () => {
    const b64 = (shared: boolean): string => btoa(String.fromCharCode(...peekModule(shared)));
    const module = MemoryModule.fromBase64<{ peek(at: number): number }>({ private: b64(false), shared: b64(true) });
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    new Int32Array(memory.buffer)[1] = 99;
    expect(module.exportsFor(memory, true)!.peek(4)).toBe(99);
  });
});
