import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  AllocatorError,
  CorruptionError,
  DestroyedError,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidPointerError,
  LeakError,
  OutOfMemoryError,
  SeededRandom,
  alignUp,
  formatBytes,
  formatCount,
  formatSize,
  hex,
  isPowerOfTwo,
  isValidAlign,
  isValidSize,
  validateAllocation,
  validatePointerShape,
} from "@memkit/core";

describe("validateAllocation", () => {
  it("accepts every integer size 0..2^32-1 and every power-of-two align 1..65536", () => {
    for (const size of [0, 1, 7, 8, 4096, 2 ** 31, 2 ** 32 - 1]) {
      for (let align = 1; align <= 65536; align *= 2) expect(() => validateAllocation("a", size, align)).not.toThrow();
    }
  });

  it.each([-1, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 32, -0.25])("rejects size %s with one uniform message", (size) => {
    expect(() => validateAllocation("heap", size, 8)).toThrow(InvalidArgumentError);
    expect(() => validateAllocation("heap", size, 8)).toThrow(`heap: size must be an integer from 0 to 4294967295, received ${String(size)}`);
  });

  it.each([0, 3, 6, -8, 1.5, 131072, Number.NaN, 2 ** 31])("rejects align %s", (align) => {
    expect(() => validateAllocation("slots", 16, align)).toThrow(InvalidArgumentError);
    expect(() => validateAllocation("slots", 16, align)).toThrow(/slots: align must be a power of two from 1 to 65536/);
  });

  it("agrees with isValidSize/isValidAlign on arbitrary numbers", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer({ min: -10, max: 2 ** 33 })), fc.oneof(fc.double(), fc.integer({ min: -4, max: 1 << 18 })), (size, align) => {
        const ok = isValidSize(size) && isValidAlign(align);
        let threw = false;
        try {
          validateAllocation("x", size, align);
        } catch (e) {
          threw = e instanceof InvalidArgumentError;
        }
        expect(threw).toBe(!ok);
      }),
    );
  });

  it("gives BigInt and Symbol arguments the typed error, not a TypeError", () => {
    const odd: unknown[] = [16n, Symbol("size"), "16", null, undefined, {}];
    for (const v of odd) {
      expect(() => validateAllocation("heap", v as number, 8)).toThrow(InvalidArgumentError);
      expect(() => validateAllocation("heap", 16, v as number)).toThrow(InvalidArgumentError);
      expect(() => validatePointerShape("heap.deallocate", v as number)).toThrow(InvalidPointerError);
      expect(isValidSize(v as number)).toBe(false);
      expect(isValidAlign(v as number)).toBe(false);
      expect(isPowerOfTwo(v as number)).toBe(false);
    }
    expect(() => validateAllocation("heap", 16n as unknown as number, 8)).toThrow("received 16n (a BigInt; pass a number)");
    expect(() => validatePointerShape("heap.deallocate", Symbol("p") as unknown as number)).toThrow("Symbol(p) (a Symbol)");
  });

  it("rejects malformed pointers", () => {
    for (const p of [-1, 0.5, Number.NaN, 2 ** 32]) expect(() => validatePointerShape("heap.deallocate", p)).toThrow(InvalidPointerError);
    expect(() => validatePointerShape("heap.deallocate", 64)).not.toThrow();
  });
});

describe("errors", () => {
  it("carry stable codes, class names and print 'Name [CODE]: message'", () => {
    const cases: [AllocatorError, string, string][] = [
      [new InvalidArgumentError("m"), "InvalidArgumentError", "ERR_INVALID_ARGUMENT"],
      [new OutOfMemoryError("m"), "OutOfMemoryError", "ERR_OUT_OF_MEMORY"],
      [new InvalidPointerError("m"), "InvalidPointerError", "ERR_INVALID_POINTER"],
      [new DoubleFreeError("m"), "DoubleFreeError", "ERR_DOUBLE_FREE"],
      [new LeakError("m", { scopes: [], count: 0, bytes: 0, blocks: [] }), "LeakError", "ERR_LEAK"],
      [new CorruptionError("m"), "CorruptionError", "ERR_CORRUPTION"],
      [new DestroyedError("m"), "DestroyedError", "ERR_DESTROYED"],
      [new AllocatorError("m"), "AllocatorError", "ERR_ALLOCATOR"],
    ];
    for (const [err, name, code] of cases) {
      expect(err).toBeInstanceOf(AllocatorError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(name);
      expect(err.code).toBe(code);
      expect(err.stack?.startsWith(`${name} [${code}]: m`)).toBe(true);
      expect(String(err)).toBe(`${name} [${code}]: m`);
    }
  });

  it("keep their names when a minifier renames the classes", () => {
    // What a minifier does: the class binding gets a short name; `name` must not follow it.
    const Ht = LeakError;
    const err = new Ht("scope root/x leaked 1 block", { scopes: ["root/x"], count: 1, bytes: 8, blocks: [] });
    class Xy extends CorruptionError {}
    expect(err.name).toBe("LeakError");
    expect(String(err)).toBe("LeakError [ERR_LEAK]: scope root/x leaked 1 block");
    expect(new Xy("m").name).toBe("CorruptionError");
  });
});

describe("helpers", () => {
  it("formats pointers, bytes and counts", () => {
    expect(hex(0x12a040)).toBe("0x0012a040");
    expect(hex(0)).toBe("0x00000000");
    expect(hex(-1)).toBe("-1");
    expect(formatBytes(96)).toBe("96 B");
    expect(formatBytes(4096)).toBe("4.00 KiB");
    expect(formatBytes(1.5 * 1024 * 1024)).toBe("1.50 MiB");
    expect(formatBytes(100 * 1024)).toBe("100.0 KiB");
    expect(formatCount(4000)).toBe("4,000");
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(-999)).toBe("-999");
    expect(formatSize(96)).toBe("96 B");
    expect(formatSize(67_112_961)).toBe("67,112,961 B (64.0 MiB)");
    expect(formatSize(4096)).toBe("4,096 B (4.00 KiB)");
  });

  it("aligns up and recognises powers of two", () => {
    expect(alignUp(13, 8)).toBe(16);
    expect(alignUp(16, 8)).toBe(16);
    expect(alignUp(0, 64)).toBe(0);
    expect(alignUp(2 ** 31 + 1, 65536)).toBe(2 ** 31 + 65536);
    expect([1, 2, 1024, 2 ** 31, 2 ** 40].every(isPowerOfTwo)).toBe(true);
    expect([0, 3, -2, 1.5, 2 ** 31 + 1].some(isPowerOfTwo)).toBe(false);
  });

  it("SeededRandom repeats its sequence for a seed and stays in range", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    for (let i = 0; i < 1000; i++) expect(a.nextU32()).toBe(b.nextU32());
    const r = new SeededRandom(7);
    for (let i = 0; i < 10_000; i++) {
      const x = r.int(3, 9);
      expect(x >= 3 && x <= 9 && Number.isInteger(x)).toBe(true);
      const y = r.logUniform(16, 65536);
      expect(y >= 16 && y <= 65536).toBe(true);
    }
  });
});
