import { describe, expect, it } from "vitest";
import { ContractViolation, contractChecks, describeAllocatorContract, resolveOptions, runAllocatorContract } from "@memkit/core/testing";
import type { ContractCheckName } from "@memkit/core/testing";
import { ReferenceAllocator, type Bugs } from "./fixtures/reference-allocator.js";

const options = resolveOptions({ randomOps: 20_000, liveBlocks: 1000 });

// The kit itself, run in full against a correct allocator.
describeAllocatorContract("ReferenceAllocator", () => new ReferenceAllocator(), { randomOps: 100_000 });

describe("the conformance kit catches broken allocators", () => {
  const cases: [string, Bugs, ContractCheckName, RegExp][] = [
    ["hands out overlapping blocks", { overlap: true }, "no-overlap", /overlap|changed at|allocatedSize/],
    ["ignores double frees", { ignoreDoubleFree: true }, "double-free", /expected ERR_DOUBLE_FREE/],
    ["ignores alignment", { ignoreAlign: true }, "alignment", /not 16-aligned/],
    ["loses data when reallocating", { reallocLosesData: true }, "reallocate", /lost byte/],
    ["accepts interior pointers", { acceptInterior: true }, "invalid-pointers", /expected ERR_INVALID_POINTER/],
    ["keeps stale stats", { staleStats: true }, "stats", /liveCount/],
    ["corrupts a live block when out of memory", { oomCorrupts: true }, "out-of-memory", /changed at/],
  ];
  for (const [what, bugs, check, message] of cases) {
    it(`an allocator that ${what} fails "${check}"`, () => {
      expect(() => contractChecks[check](() => new ReferenceAllocator(bugs), options)).toThrow(ContractViolation);
      expect(() => contractChecks[check](() => new ReferenceAllocator(bugs), options)).toThrow(message);
    });
  }

  it("overlap is also caught by the random sequence", () => {
    expect(() => contractChecks["random-sequence"](() => new ReferenceAllocator({ overlap: true }), options)).toThrow(ContractViolation);
  });

  it("runAllocatorContract passes a correct allocator and honours skip", () => {
    expect(() => runAllocatorContract(() => new ReferenceAllocator(), { randomOps: 2000, liveBlocks: 200 })).not.toThrow();
    expect(() => runAllocatorContract(() => new ReferenceAllocator({ ignoreDoubleFree: true }), { randomOps: 2000, liveBlocks: 200 })).toThrow(/ERR_DOUBLE_FREE/);
    expect(() =>
      runAllocatorContract(() => new ReferenceAllocator({ ignoreDoubleFree: true }), { randomOps: 2000, liveBlocks: 200, skip: ["double-free"] }),
    ).not.toThrow();
  });

  it("disposes every subject it builds, even when a check fails", () => {
    let built = 0;
    let disposed = 0;
    const factory = () => {
      built++;
      return { allocator: new ReferenceAllocator({ ignoreDoubleFree: true }), dispose: () => disposed++ };
    };
    expect(() => contractChecks["double-free"](factory, options)).toThrow();
    expect(disposed).toBe(built);
  });
});
