import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CorruptionError, InvalidArgumentError } from "@memkit/core";
import { SAVE_FORMAT_VERSION, decodeSave, encodeSave } from "../src/saved-memory.js";

function memoryOf(bytes: number, seed: number): Uint8Array {
  const m = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) m[i] = (Math.imul(i + 1, 0x9e3779b1 ^ seed) >>> 24) & 0xff;
  return m;
}

describe("save format", () => {
  it("round-trips the image, the root, the maximum, the shared flag and the note", () => {
    const memory = memoryOf(65536, 1);
    const save = encodeSave(memory, 4096 * 3, { maximumBytes: 1 << 20, rootPtr: 4096, shared: true, note: { stages: [{ name: "load" }], frame: 12 } });
    const back = decodeSave(save);
    expect(back.image).toEqual(memory.subarray(0, 4096 * 3));
    expect(back).toMatchObject({ maximumBytes: 1 << 20, rootPtr: 4096, shared: true, note: { stages: [{ name: "load" }], frame: 12 } });
    // A save at an odd offset of a larger buffer (as a file reader may hand it over) still reads.
    const shifted = new Uint8Array(save.byteLength + 3);
    shifted.set(save, 3);
    expect(decodeSave(shifted.subarray(3)).image).toEqual(memory.subarray(0, 4096 * 3));
  });

  it("refuses any truncation, any flipped bit and any other file with CorruptionError (property)", () => {
    const save = encodeSave(memoryOf(8192, 2), 8192, { maximumBytes: 1 << 20, rootPtr: 4100, shared: false, note: { frame: 3 } });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: save.byteLength * 8 - 1 }), (bit) => {
        const damaged = save.slice();
        damaged[bit >>> 3]! ^= 1 << (bit & 7);
        expect(() => decodeSave(damaged)).toThrow(CorruptionError);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: save.byteLength - 1 }), (cut) => {
        expect(() => decodeSave(save.subarray(0, cut))).toThrow(CorruptionError);
      }),
      { numRuns: 300 },
    );
    expect(() => decodeSave(new TextEncoder().encode("not a save at all, just a text file of some length..."))).toThrow(/not the "MKSV" of a save/);
    const newer = save.slice();
    new Uint32Array(newer.buffer)[1] = SAVE_FORMAT_VERSION + 1;
    expect(() => decodeSave(newer)).toThrow(/save format 2; this build reads format 1/);
    expect(() => decodeSave("save" as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });
});
