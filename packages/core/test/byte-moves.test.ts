import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, WASM_PAGE_BYTES, type ByteMoves } from "@memkit/core";
import { typedArrayMoves } from "../src/byte-moves.js";

const REGION = 4096;

/** What memmove does, on a copy of the bytes. */
function referenceCopy(bytes: Uint8Array, to: number, from: number, length: number): Uint8Array {
  const out = bytes.slice();
  out.set(bytes.slice(from, from + length), to);
  return out;
}

/** Index of the first byte where `a` and `b` differ, or -1 (a readable failure without printing 4 KiB). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

function patterned(space: AddressSpace, seed: number): Uint8Array {
  const u8 = space.u8;
  for (let i = 0; i < REGION; i++) u8[i] = (i * 31 + seed) & 0xff;
  return u8.slice(0, REGION);
}

/** Each kind of moves the library can run with, over a fresh space. */
const kinds: [string, (shared: boolean) => { space: AddressSpace; moves: ByteMoves }][] = [
  ["wasm", (shared) => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 4 * WASM_PAGE_BYTES, shared });
    return { space, moves: space.bytes };
  }],
  ["fallback", (shared) => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES, maximumBytes: 4 * WASM_PAGE_BYTES, shared });
    return { space, moves: typedArrayMoves(() => space.u8) };
  }],
];

describe("space.bytes", () => {
  it("runs as wasm here, one instance per memory", () => {
    const space = AddressSpace.create({ initialBytes: WASM_PAGE_BYTES });
    expect(space.bytes.wasm).toBe(true);
    expect(AddressSpace.attach(space.memory).bytes).toBe(space.bytes);
    expect(AddressSpace.create({ initialBytes: WASM_PAGE_BYTES }).bytes).not.toBe(space.bytes);
  });

  for (const [kind, make] of kinds) {
    for (const shared of [false, true]) {
      describe(`${kind}, ${shared ? "shared" : "private"} memory`, () => {
        it("copies like memmove: any ranges, overlapping either way", () => {
          const { space, moves } = make(shared);
          fc.assert(
            fc.property(fc.nat(REGION), fc.nat(REGION), fc.nat(REGION), fc.nat(255), (a, b, n, seed) => {
              const length = Math.min(n, REGION - a, REGION - b);
              const before = patterned(space, seed);
              moves.copy(a, b, length);
              expect(firstDifference(space.u8.slice(0, REGION), referenceCopy(before, a, b, length))).toBe(-1);
            }),
            { numRuns: 300 },
          );
        });

        it("fills with the value's low 8 bits, nothing outside the range", () => {
          const { space, moves } = make(shared);
          const before = patterned(space, 1);
          moves.fill(100, 0x1ab, 50);
          const expected = before.slice();
          expected.fill(0xab, 100, 150);
          expect(space.u8.slice(0, REGION)).toEqual(expected);
        });

        it("throws on a range that leaves the memory and writes nothing", () => {
          const { space, moves } = make(shared);
          const end = space.byteLength;
          const before = patterned(space, 2);
          const tail = space.u8.slice(end - 64, end);
          expect(() => moves.copy(end - 8, 0, 16)).toThrow();
          expect(() => moves.copy(0, end - 8, 16)).toThrow();
          expect(() => moves.fill(end - 8, 1, 16)).toThrow();
          expect(space.u8.slice(0, REGION)).toEqual(before);
          expect(space.u8.slice(end - 64, end)).toEqual(tail);
          // Still works afterwards.
          moves.copy(0, 8, 8);
          expect(space.u8.slice(0, 8)).toEqual(before.slice(8, 16));
        });

        it("reaches bytes the memory grew by", () => {
          const { space, moves } = make(shared);
          const grownAt = space.grow(WASM_PAGE_BYTES);
          space.u8.fill(7, grownAt, grownAt + 32);
          moves.copy(0, grownAt, 32);
          moves.fill(grownAt + 100, 9, 4);
          expect([...space.u8.slice(0, 32)]).toEqual(new Array<number>(32).fill(7));
          expect([...space.u8.slice(grownAt + 100, grownAt + 104)]).toEqual([9, 9, 9, 9]);
        });
      });
    }
  }
});
