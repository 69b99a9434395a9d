import { afterEach, describe, expect, it } from "vitest";
import { CorruptionError, formatCount, hex } from "@memkit/core";
import type { TraceAllocator } from "@memkit/trace-allocator";
import { MemoryGlobals, type TracingLevel } from "@memkit/memory-globals";

// What a user of `debug: true` sees when they write one byte outside the block
// they hold: a CorruptionError at the block's next deallocate/reallocate or the
// next memory.check(), whichever comes first, naming *their* pointer, the size
// they asked for, the offset from *their* block, the scope, and (with call
// stacks) where the block was allocated.

afterEach(() => {
  const memory = MemoryGlobals.current;
  if (memory === undefined) return;
  try {
    memory.shutdown();
  } catch {
    // a failed case already reported what it needed
  }
});

const SIZES = [1, 24, 100, 4096];
const ALIGNS = [8, 64];
const TRACING: TracingLevel[] = ["counts", "callstacks"];
const SCOPES = ["default", "child"] as const;
type Detector = "check" | "deallocate" | "reallocate";

interface Subject {
  memory: MemoryGlobals;
  scope: TraceAllocator;
  p: number;
}

/** A function with a name the message must show when call stacks are on. */
function allocateForGuardTest(scope: TraceAllocator, size: number, align: number): number {
  return scope.allocate(size, align);
}

function setUp(tracing: TracingLevel, which: (typeof SCOPES)[number], size: number, align: number): Subject {
  const memory = MemoryGlobals.init({ initialBytes: 4 << 20, maximumBytes: 64 << 20, debug: true, tracing });
  const scope = which === "default" ? memory.default : memory.scope("physics");
  const p = allocateForGuardTest(scope, size, align);
  expect(p % align).toBe(0);
  // The whole block is the user's: filling it is legal and every check passes.
  memory.space.u8.fill(0x42, p, p + size);
  memory.check();
  return { memory, scope, p };
}

function expectUserMessage(error: unknown, s: Subject, size: number, offset: string, tracing: TracingLevel): void {
  expect(error).toBeInstanceOf(CorruptionError);
  const message = (error as Error).message;
  expect(message).toContain(`block ${hex(s.p)} (${formatCount(size)} B, scope ${s.scope.path})`);
  expect(message).toContain(` at ${offset} (expected `);
  if (tracing === "callstacks") expect(message).toMatch(/allocated at allocateForGuardTest /);
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a CorruptionError, but the call returned");
}

describe.each(TRACING)('debug: true, tracing "%s": a write outside the user\'s block', (tracing) => {
  describe.each(SCOPES)("in a block of %s", (which) => {
    describe.each(ALIGNS)("align %i", (align) => {
      describe.each(SIZES)("size %i", (size) => {
        const faults = [
          ["one byte before", -1, "-1"],
          ["one byte after", size, `+${size}`],
        ] as const;
        for (const [what, at, offset] of faults) {
          for (const detector of ["check", "deallocate", "reallocate"] as Detector[]) {
            it(`${what} is found by ${detector === "check" ? "memory.check()" : detector}`, () => {
              const s = setUp(tracing, which, size, align);
              const u8 = s.memory.space.u8;
              const old = u8[s.p + at]!;
              u8[s.p + at] = old ^ 0x5a;
              if (detector === "check") {
                expectUserMessage(caught(() => s.memory.check()), s, size, offset, tracing);
                u8[s.p + at] = old; // repaired: the block is whole and frees cleanly
                s.scope.deallocate(s.p);
              } else if (detector === "deallocate") {
                expectUserMessage(caught(() => s.scope.deallocate(s.p)), s, size, offset, tracing);
                // The block was freed all the same: nothing is left broken or live.
                expect(s.scope.owns(s.p)).toBe(false);
              } else {
                expectUserMessage(caught(() => s.scope.reallocate(s.p, size * 2, align)), s, size, offset, tracing);
                // Nothing changed: the block is live with its bytes.
                expect(s.scope.owns(s.p)).toBe(true);
                for (let i = 0; i < size; i++) expect(u8[s.p + i]).toBe(0x42);
                u8[s.p + at] = old;
                const q = s.scope.reallocate(s.p, size * 2, align);
                s.scope.deallocate(q);
              }
              s.memory.check();
              expect(s.scope.stats().liveCount).toBe(0);
            });
          }
        }

        it("a write into it after free is found by memory.check()", () => {
          const s = setUp(tracing, which, size, align);
          s.scope.deallocate(s.p);
          const u8 = s.memory.space.u8;
          const at = s.p + size - 1;
          const old = u8[at]!;
          u8[at] = old ^ 0x5a;
          const error = caught(() => s.memory.check());
          expectUserMessage(error, s, size, `+${size - 1}`, tracing);
          expect((error as Error).message).toContain("write after free");
          u8[at] = old;
          s.memory.check();
        });
      });
    });
  });
});
