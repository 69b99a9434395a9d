import type { AllocatorStats, Ptr } from "../types.js";
import type { AllocatorErrorCode } from "../errors.js";
import { MAX_SIZE, describe } from "../validate.js";
import { hex } from "../format.js";
import { SeededRandom } from "../random.js";
import { ContractSkip, ContractViolation, LiveBlocks, expect } from "./live-blocks.js";
import { lifecycleChecks } from "./lifecycle-checks.js";
import { disposeAfter, toSubject, type ContractFactory, type ContractSubject } from "./subject.js";

export { toSubject, type ContractFactory, type ContractSubject };

/** Knobs for allocators whose limits differ from a general-purpose heap. */
export interface ContractOptions {
  /** Largest alignment tested; every power of two up to it. @defaultValue 4096 */
  maxAlign?: number;
  /** Largest block size the random sequence and realloc checks use. @defaultValue 4096 */
  maxBlockSize?: number;
  /** Blocks kept live at once in the overlap check. @defaultValue 3000 */
  liveBlocks?: number;
  /** Operations in the seeded random sequence (at least 100k for a real run). @defaultValue 100_000 */
  randomOps?: number;
  /** Live blocks the random sequence hovers around. @defaultValue 1000 */
  randomLive?: number;
  /** Run `check()`, verify every block and compare stats every this many random ops. @defaultValue 5000 */
  checkEvery?: number;
  /** Seed of every generated workload. @defaultValue 0x5eed */
  seed?: number;
  /** A valid size that must throw OutOfMemoryError. @defaultValue 2^32 - 1 */
  tooLargeSize?: number;
  /** Checks to leave out, by name (say why next to the call). */
  skip?: ContractCheckName[];
}

/** Options with their defaults filled in. */
export type ResolvedContractOptions = Required<Omit<ContractOptions, "skip">>;

/** Fills in the defaults of {@link ContractOptions}. */
export function resolveOptions(options: ContractOptions = {}): ResolvedContractOptions {
  return {
    maxAlign: options.maxAlign ?? 4096,
    maxBlockSize: options.maxBlockSize ?? 4096,
    liveBlocks: options.liveBlocks ?? 3000,
    randomOps: options.randomOps ?? 100_000,
    randomLive: options.randomLive ?? 1000,
    checkEvery: options.checkEvery ?? 5000,
    seed: options.seed ?? 0x5eed,
    tooLargeSize: options.tooLargeSize ?? MAX_SIZE,
  };
}

/** One check of the contract: throws a ContractViolation (or ContractSkip when the subject lacks what it needs). */
export type Check = (factory: ContractFactory, options: ResolvedContractOptions) => void;

/** Runs `body` with a fresh subject and always disposes it. */
export function withSubject(factory: ContractFactory, body: (subject: ContractSubject, live: LiveBlocks) => void): void {
  const subject = toSubject(factory());
  disposeAfter(() => {
    const live = new LiveBlocks(subject.allocator);
    body(subject, live);
    live.freeAll();
    subject.check?.();
  }, subject.dispose);
}

/** Calls `fn` and throws a violation unless it throws an error with `code` (one of `codes`). */
export function expectError(what: string, codes: AllocatorErrorCode | AllocatorErrorCode[], fn: () => unknown): void {
  const wanted = Array.isArray(codes) ? codes : [codes];
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    if (err instanceof ContractViolation) throw err;
    const code = (err as { code?: unknown }).code;
    expect(
      typeof code === "string" && wanted.includes(code as AllocatorErrorCode),
      `${what}: expected ${wanted.join(" or ")}, got ${err instanceof Error ? `${err.name} (${String(code)}): ${err.message}` : String(err)}`,
    );
    expect(err instanceof Error && err.message.length > 0, `${what}: the error has no message`);
    return;
  }
  throw new ContractViolation(`${what}: expected ${wanted.join(" or ")}, but it returned ${typeof result === "number" ? hex(result) : String(result)}`);
}

function countersOf(s: AllocatorStats): string {
  return `live ${s.liveCount}/${s.liveBytes} B, allocs ${s.allocCount}, frees ${s.freeCount}`;
}

/** After a rejected call: stats unchanged, every block intact, and the allocator still serves. */
function expectUnharmed(subject: ContractSubject, live: LiveBlocks, before: AllocatorStats, what: string): void {
  const a = subject.allocator;
  const after = a.stats();
  expect(
    after.liveCount === before.liveCount && after.liveBytes === before.liveBytes && after.allocCount === before.allocCount && after.freeCount === before.freeCount,
    `${a.name}: ${what} changed the stats (${countersOf(before)} -> ${countersOf(after)})`,
  );
  live.verifyAll();
  subject.check?.();
  const probe = live.allocate(48);
  live.verify(probe);
  live.free(live.blocks.indexOf(probe));
}

const checks = {
  /** Every align 1..maxAlign: non-zero, aligned, usable size >= asked, owned; the default align is 8. */
  alignment(factory, o) {
    withSubject(factory, (_s, live) => {
      for (let align = 1; align <= o.maxAlign; align *= 2) {
        for (const size of [1, 3, 8, align - 1, align, align + 1, 100]) {
          if (size > 0 && size <= o.maxBlockSize) live.allocate(size, align);
        }
      }
      for (let i = 0; i < 16; i++) live.allocate(1 + i * 5);
      live.verifyDisjoint();
      live.verifyAll();
    });
  },

  /** allocate(0) returns distinct non-zero pointers that free cleanly. */
  "zero-size"(factory) {
    withSubject(factory, (_s, live) => {
      const a = live.allocate(0);
      const b = live.allocate(0);
      expect(a.ptr !== b.ptr, `${live.allocator.name}: two live allocate(0) blocks share ${hex(a.ptr)}`);
    });
  },

  /** Thousands of live blocks, each with its own byte pattern, never overlap; churn keeps them intact. */
  "no-overlap"(factory, o) {
    withSubject(factory, (subject, live) => {
      const rng = new SeededRandom(o.seed);
      const max = Math.min(o.maxBlockSize, 512);
      for (let i = 0; i < o.liveBlocks; i++) live.allocate(rng.logUniform(1, max), 2 ** rng.int(0, 4));
      live.verifyDisjoint();
      live.verifyAll();
      for (let i = 0; i < o.liveBlocks / 2; i++) live.free(rng.int(0, live.length - 1));
      for (let i = 0; i < o.liveBlocks / 2; i++) live.allocate(rng.logUniform(1, max));
      live.verifyDisjoint();
      live.verifyAll();
      subject.check?.();
    });
  },

  /** deallocate(0) does nothing; reallocate(0, n) allocates. */
  "null-pointer"(factory) {
    withSubject(factory, (subject, live) => {
      const a = subject.allocator;
      live.allocate(64);
      const before = a.stats();
      a.deallocate(0);
      expectUnharmed(subject, live, before, "deallocate(0)");
      expect(!a.owns(0), `${a.name}: owns(0) is true`);
      const p = a.reallocate(0, 40);
      expect(p !== 0 && a.owns(p) && a.allocatedSize(p) >= 40, `${a.name}: reallocate(0, 40) did not allocate`);
      a.deallocate(p);
    });
  },

  /** Freeing twice throws DoubleFreeError and changes nothing; a freed block is no longer owned. */
  "double-free"(factory) {
    withSubject(factory, (subject, live) => {
      const a = subject.allocator;
      for (let i = 0; i < 8; i++) live.allocate(16 + i * 24);
      const victim = live.allocate(64);
      live.allocate(64);
      live.free(live.blocks.indexOf(victim));
      const before = a.stats();
      expectError(`${a.name}: deallocate(${hex(victim.ptr)}) twice`, "ERR_DOUBLE_FREE", () => a.deallocate(victim.ptr));
      expectUnharmed(subject, live, before, "a double free");
      expect(!a.owns(victim.ptr) || live.blocks.some((b) => b.ptr === victim.ptr), `${a.name}: owns() is true for a freed block`);
    });
  },

  /** Foreign, interior, out-of-range and malformed pointers throw InvalidPointerError and change nothing. */
  "invalid-pointers"(factory) {
    withSubject(factory, (subject, live) => {
      const a = subject.allocator;
      const target = live.allocate(256);
      for (let i = 0; i < 16; i++) live.allocate(8 + i * 8);
      const livePtrs = new Set(live.blocks.map((b) => b.ptr));
      const end = a.space.byteLength;
      const candidates: [string, Ptr][] = [
        ["an interior pointer (+1)", target.ptr + 1],
        ["an interior pointer (+8)", target.ptr + 8],
        ["an interior pointer (+128)", target.ptr + 128],
        ["a pointer into the null page", 8],
        ["a pointer past the end of the space", end + 4096],
        ["the last word of the space", end - 8],
        ["a negative number", -8],
        ["a fraction", target.ptr + 0.5],
        ["NaN", Number.NaN],
        ["2^32", 2 ** 32],
        ["a BigInt", 64n as unknown as Ptr],
        ["a Symbol", Symbol("ptr") as unknown as Ptr],
        ["a string", "64" as unknown as Ptr],
        ["an object", {} as unknown as Ptr],
      ];
      // A block from a second allocator over the same space is the classic foreign pointer.
      const other = toSubject(factory());
      let foreign = 0;
      try {
        if (other.allocator.space === a.space) {
          foreign = other.allocator.allocate(64);
          if (!livePtrs.has(foreign)) candidates.push(["a pointer from another allocator", foreign]);
        }
        for (const [what, ptr] of candidates) {
          if (livePtrs.has(ptr)) continue;
          const before = a.stats();
          expect(!a.owns(ptr), `${a.name}: owns(${what} ${hex(ptr)}) is true`);
          expectError(`${a.name}: deallocate(${what} ${hex(ptr)})`, "ERR_INVALID_POINTER", () => a.deallocate(ptr));
          expectError(`${a.name}: allocatedSize(${what} ${hex(ptr)})`, "ERR_INVALID_POINTER", () => a.allocatedSize(ptr));
          expectError(`${a.name}: reallocate(${what} ${hex(ptr)}, 32)`, "ERR_INVALID_POINTER", () => a.reallocate(ptr, 32));
          expectUnharmed(subject, live, before, `rejecting ${what}`);
        }
        if (foreign !== 0) other.allocator.deallocate(foreign);
      } finally {
        other.dispose?.();
      }
    });
  },

  /** Bad sizes and alignments throw InvalidArgumentError and change nothing. */
  "bad-arguments"(factory) {
    withSubject(factory, (subject, live) => {
      const a = subject.allocator;
      const block = live.allocate(40);
      // Not numbers at all too: `>>>` and `|` throw TypeError on a BigInt or a Symbol, which must never escape.
      // (undefined is left out: it means "the default" for align.)
      const notNumbers = [16n, Symbol("size"), "16", null, {}] as unknown as number[];
      const badSizes = [-1, 1.5, Number.NaN, Infinity, 2 ** 32, -0.5, ...notNumbers];
      const badAligns = [0, 3, 12, -8, 1.5, 131072, Number.NaN, ...notNumbers];
      for (const size of badSizes) {
        const before = a.stats();
        expectError(`${a.name}: allocate(${describe(size)})`, "ERR_INVALID_ARGUMENT", () => a.allocate(size));
        expectError(`${a.name}: reallocate(${hex(block.ptr)}, ${describe(size)})`, "ERR_INVALID_ARGUMENT", () => a.reallocate(block.ptr, size));
        expectUnharmed(subject, live, before, `rejecting size ${describe(size)}`);
      }
      for (const align of badAligns) {
        const before = a.stats();
        expectError(`${a.name}: allocate(16, ${describe(align)})`, "ERR_INVALID_ARGUMENT", () => a.allocate(16, align));
        expectError(`${a.name}: reallocate(${hex(block.ptr)}, 16, ${describe(align)})`, "ERR_INVALID_ARGUMENT", () => a.reallocate(block.ptr, 16, align));
        expectUnharmed(subject, live, before, `rejecting align ${describe(align)}`);
      }
    });
  },

  /** A request too large to meet throws OutOfMemoryError; a failed grow keeps the old block. */
  "out-of-memory"(factory, o) {
    withSubject(factory, (subject, live) => {
      const a = subject.allocator;
      const block = live.allocate(100);
      const before = a.stats();
      expectError(`${a.name}: allocate(${o.tooLargeSize})`, "ERR_OUT_OF_MEMORY", () => a.allocate(o.tooLargeSize));
      expectUnharmed(subject, live, before, `an allocation too large`);
      const beforeGrow = a.stats();
      expectError(`${a.name}: reallocate(${hex(block.ptr)}, ${o.tooLargeSize})`, "ERR_OUT_OF_MEMORY", () => a.reallocate(block.ptr, o.tooLargeSize));
      expect(a.owns(block.ptr), `${a.name}: a failed reallocate released the old block`);
      expectUnharmed(subject, live, beforeGrow, `a reallocate too large`);
    });
  },

  /** reallocate keeps min(old, new) bytes growing and shrinking, honours align, and frees what it moved from. */
  reallocate(factory, o) {
    withSubject(factory, (subject, live) => {
      const rng = new SeededRandom(o.seed + 1);
      for (let i = 0; i < 32; i++) live.allocate(rng.int(1, 64));
      const max = o.maxBlockSize;
      for (let i = 0; i < live.length; i++) {
        const steps = [1, 2, 7, 64, max >> 1, max, 3, max >> 2, 0, 17];
        for (const size of steps) live.reallocate(i, Math.min(size, max));
        live.reallocate(i, Math.min(48, max), 2 ** rng.int(0, Math.log2(Math.min(o.maxAlign, 256))));
      }
      live.verifyDisjoint();
      live.verifyAll();
      subject.check?.();
      const s = subject.allocator.stats();
      expect(s.liveCount >= live.length, `${subject.allocator.name}: liveCount ${s.liveCount} < ${live.length} live after reallocs`);
    });
  },

  /** Counters move exactly with allocate and deallocate; liveBytes sits between sizes asked and usable sizes. */
  stats(factory) {
    withSubject(factory, (subject, live) => {
      const a = subject.allocator;
      const base = a.stats();
      let asked = 0;
      let usable = 0;
      for (let i = 0; i < 100; i++) {
        const b = live.allocate(8 + ((i * 37) % 500));
        asked += b.size;
        usable += a.allocatedSize(b.ptr);
      }
      const mid = a.stats();
      const name = a.name;
      expect(mid.liveCount - base.liveCount === 100, `${name}: liveCount rose by ${mid.liveCount - base.liveCount} after 100 allocations`);
      expect(mid.allocCount - base.allocCount === 100, `${name}: allocCount rose by ${mid.allocCount - base.allocCount} after 100 allocations`);
      const grew = mid.liveBytes - base.liveBytes;
      expect(grew >= asked && grew <= usable, `${name}: liveBytes rose by ${grew}, outside [${asked} asked, ${usable} usable]`);
      expect(mid.peakLiveBytes >= mid.liveBytes, `${name}: peakLiveBytes ${mid.peakLiveBytes} < liveBytes ${mid.liveBytes}`);
      expect(mid.reservedBytes >= mid.liveBytes, `${name}: reservedBytes ${mid.reservedBytes} < liveBytes ${mid.liveBytes}`);
      live.freeAll();
      const end = a.stats();
      expect(end.liveCount === base.liveCount, `${name}: liveCount ${end.liveCount} after freeing all, expected ${base.liveCount}`);
      expect(end.liveBytes === base.liveBytes, `${name}: liveBytes ${end.liveBytes} after freeing all, expected ${base.liveBytes}`);
      expect(end.freeCount - base.freeCount === 100, `${name}: freeCount rose by ${end.freeCount - base.freeCount} after 100 frees`);
      expect(end.peakLiveBytes >= mid.liveBytes, `${name}: peakLiveBytes ${end.peakLiveBytes} forgot the high-water mark ${mid.liveBytes}`);
    });
  },

  /** A seeded sequence of mixed allocate/free/reallocate with pattern checks on every block and periodic invariant checks. */
  "random-sequence"(factory, o) {
    withSubject(factory, (subject, live) => {
      const a = subject.allocator;
      const rng = new SeededRandom(o.seed + 2);
      const base = a.stats().liveCount;
      const maxAlignLog = Math.log2(Math.min(o.maxAlign, 256));
      const size = (): number => (rng.chance(0.9) ? rng.logUniform(1, Math.min(o.maxBlockSize, 512)) : rng.logUniform(1, o.maxBlockSize));
      for (let op = 1; op <= o.randomOps; op++) {
        const r = rng.next();
        const bias = live.length < o.randomLive ? 0.55 : 0.4;
        if (live.length === 0 || r < bias) {
          live.allocate(size(), rng.chance(0.1) ? 2 ** rng.int(0, maxAlignLog) : undefined);
        } else if (r < 0.88) {
          live.free(rng.int(0, live.length - 1));
        } else {
          live.reallocate(rng.int(0, live.length - 1), size());
        }
        if (op % o.checkEvery === 0) {
          live.verifyAll();
          subject.check?.();
          const count = a.stats().liveCount - base;
          expect(count === live.length, `${a.name}: after ${op} ops liveCount says ${count}, the test holds ${live.length}`);
        }
      }
      live.verifyDisjoint();
      live.verifyAll();
    });
  },
} satisfies Record<string, Check>;

/** Names of the checks in the contract, in the order they run. */
export type ContractCheckName = keyof typeof checks | keyof typeof lifecycleChecks;

/** Every contract check, runnable outside a test framework: each throws {@link ContractViolation} (or the allocator's own error) on failure. */
export const contractChecks: Readonly<Record<ContractCheckName, Check>> = { ...checks, ...lifecycleChecks };

/** Runs the whole contract (minus `skip`) synchronously; throws at the first violation. */
export function runAllocatorContract(factory: ContractFactory, options: ContractOptions = {}): void {
  const resolved = resolveOptions(options);
  for (const [name, check] of Object.entries(contractChecks) as [ContractCheckName, Check][]) {
    if (options.skip?.includes(name)) continue;
    try {
      check(factory, resolved);
    } catch (err) {
      if (!(err instanceof ContractSkip)) throw err;
    }
  }
}
