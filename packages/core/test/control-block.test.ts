import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  AddressSpace,
  CONTROL_BLOCK_HEADER_BYTES,
  CorruptionError,
  InvalidArgumentError,
  controlWord,
  describeMagic,
  hashWords,
  initControl,
  isControlBlock,
  magic,
  openControl,
  retireControl,
  sealControl,
  type ControlLayout,
} from "@memkit/core";

const TEST: ControlLayout = { kind: "TestAllocator", magic: "TEST", version: 3, fixedWords: 4 };

function made(space: AddressSpace, ptr = 256, bytes = 64): number {
  initControl(space, ptr, TEST, bytes);
  const u32 = space.u32;
  const fixed = (ptr + CONTROL_BLOCK_HEADER_BYTES) >>> 2;
  u32.set([11, 22, 33, 44], fixed);
  sealControl(space, ptr, TEST);
  u32[fixed + 4] = 99; // a state word: not sealed
  return ptr;
}

describe("control blocks", () => {
  it("open what initControl + sealControl made, and tell their size", () => {
    const space = AddressSpace.create({ initialBytes: 65536 });
    made(space);
    expect(openControl(space, 256, TEST, "TestAllocator.attach")).toBe(64);
    expect(isControlBlock(space, 256, TEST)).toBe(true);
    // State words change freely.
    space.u32[(256 + 40) >>> 2] = 12345;
    expect(openControl(space, 256, TEST, "attach")).toBe(64);
  });

  it("refuse, with a CorruptionError saying what was found: wrong address, magic, version, size, seal, retired", () => {
    const space = AddressSpace.create({ initialBytes: 65536 });
    made(space);
    const open = (ptr: number, layout: ControlLayout = TEST, range?: [number, number]): unknown => {
      try {
        openControl(space, ptr, layout, "TestAllocator.attach", range);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(open(0)).toBeInstanceOf(CorruptionError);
    expect(open(258)).toBeInstanceOf(CorruptionError);
    expect(open(1 << 20)).toBeInstanceOf(CorruptionError);
    expect(String(open(512))).toContain('no TestAllocator control block at 0x00000200: found magic 0x00000000, expected "TEST"');
    expect(String(open(256, { ...TEST, magic: "HEAP", kind: "HeapAllocator" }))).toContain('found magic "TEST", expected "HEAP"');
    expect(String(open(256, { ...TEST, version: 4 }))).toContain("layout version 3; this build reads version 4");
    expect(String(open(256, TEST, [128, 4096]))).toContain("claims 64 bytes (expected 128..4096");
    for (const word of [2, 4, 5, 6, 7]) {
      const u32 = space.u32;
      const w = (256 >>> 2) + word;
      const saved = u32[w]!;
      u32[w] = saved ^ 0x10;
      expect(open(256)).toBeInstanceOf(CorruptionError);
      u32[w] = saved;
    }
    space.u32[(256 >>> 2) + 3]! ^= 1; // the seal itself
    expect(String(open(256))).toContain("no longer match their seal");
    space.u32[(256 >>> 2) + 3]! ^= 1;
    expect(open(256)).toBeUndefined();
    retireControl(space, 256);
    expect(String(open(256))).toContain("was destroyed");
    expect(isControlBlock(space, 256, TEST)).toBe(false);
    // Not a number at all: an argument error, not corruption.
    expect(open("256" as unknown as number)).toBeInstanceOf(InvalidArgumentError);
    expect(open(256n as unknown as number)).toBeInstanceOf(InvalidArgumentError);
  });

  it("any single flipped bit in the header or the fixed words is caught (property)", () => {
    const space = AddressSpace.create({ initialBytes: 65536 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: (CONTROL_BLOCK_HEADER_BYTES + 16) * 8 - 1 }), (bit) => {
        made(space);
        space.u8[256 + (bit >>> 3)]! ^= 1 << (bit & 7);
        expect(() => openControl(space, 256, TEST, "attach")).toThrow(CorruptionError);
      }),
    );
  });

  it("initControl refuses a block that does not fit", () => {
    const space = AddressSpace.create({ initialBytes: 65536 });
    expect(() => initControl(space, 65536 - 16, TEST, 64)).toThrow(InvalidArgumentError);
    expect(() => initControl(space, 2, TEST, 64)).toThrow(InvalidArgumentError);
    expect(() => initControl(space, 256, TEST, 20)).toThrow(InvalidArgumentError);
  });

  it("controlWord range-checks a state word", () => {
    const space = AddressSpace.create({ initialBytes: 65536 });
    made(space);
    expect(controlWord(space.u32, 256, 8, 0, 100, TEST, "top")).toBe(99);
    expect(() => controlWord(space.u32, 256, 8, 0, 50, TEST, "top")).toThrow("control word top holds 99, outside 0..50");
  });

  it("describeMagic prints text when it is text", () => {
    expect(describeMagic(magic("HEAP"))).toBe('"HEAP"');
    expect(describeMagic(0)).toBe("0x00000000");
    expect(() => magic("TOOLONG")).toThrow(InvalidArgumentError);
  });
});

describe("hashWords", () => {
  it("changes with any word, its position and the seed", () => {
    const u32 = new Uint32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const h = hashWords(u32, 0, 8);
    expect(hashWords(u32, 0, 8)).toBe(h);
    expect(hashWords(u32, 0, 8, 1)).not.toBe(h);
    expect(hashWords(u32, 0, 7)).not.toBe(h);
    const swapped = new Uint32Array([2, 1, 3, 4, 5, 6, 7, 8]);
    expect(hashWords(swapped, 0, 8)).not.toBe(h);
    for (let i = 0; i < 8; i++) {
      const copy = u32.slice();
      copy[i]! ^= 0x80000000;
      expect(hashWords(copy, 0, 8)).not.toBe(h);
    }
  });
});
