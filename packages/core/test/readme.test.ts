import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, expectTypeOf, it } from "vitest";
import { AddressSpace, type Allocator as CoreAllocator, type AllocatorStats, type Ptr } from "@memkit/core";

// The README's code blocks, each held to what it shows:
// 1. the contract, verbatim, must be the real Allocator type (checked when the
//    package typechecks: tsc covers test/);
// 2. the AddressSpace example runs verbatim below;
// 3. the conformance-kit example is the whole of test/readme/my-allocator.test.ts,
//    which vitest runs as a test file of its own, as the README tells users to.

// The README's declaration, verbatim:
interface Allocator {
  readonly name: string;
  readonly space: AddressSpace;
  allocate(size: number, align?: number): Ptr;       // non-zero, aligned, or OutOfMemoryError
  deallocate(ptr: Ptr): void;                        // 0 is a no-op; foreign -> InvalidPointerError; twice -> DoubleFreeError
  reallocate(ptr: Ptr, newSize: number, align?: number): Ptr; // keeps min(old, new) bytes; ptr 0 allocates
  allocatedSize(ptr: Ptr): number;                   // usable bytes, >= the size asked for
  owns(ptr: Ptr): boolean;
  stats(): AllocatorStats;                           // liveBytes, liveCount, peakLiveBytes, allocCount, freeCount, reservedBytes
}

function addressSpaceExample(): number {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  let u32 = space.u32;
  space.onGrow(() => { u32 = space.u32; });   // what every allocator does
  space.grow(1 << 20);                        // listeners run; old views are never used again
  u32[16] = 42;

  return space.u32[16]!;
}

function readmeBlocks(): string[] {
  const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const significant = (text: string): string[] =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("import "));

describe("core README", () => {
  it("shows three ts blocks: the contract, the AddressSpace example, the conformance-kit example", () => {
    expect(readmeBlocks()).toHaveLength(3);
  });

  it("the contract it shows is the Allocator interface", () => {
    expectTypeOf<Allocator>().toEqualTypeOf<CoreAllocator>();
  });

  it("the AddressSpace example runs: the view re-read in onGrow sees the write after growth", () => {
    expect(addressSpaceExample()).toBe(42);
  });

  it("the contract and AddressSpace blocks are the code in this file", () => {
    const source = significant(readFileSync(fileURLToPath(import.meta.url), "utf8")).join("\n");
    for (const block of readmeBlocks().slice(0, 2)) expect(source).toContain(significant(block).join("\n"));
  });

  it("the conformance-kit example is test/readme/my-allocator.test.ts, character for character", () => {
    const file = readFileSync(fileURLToPath(new URL("./readme/my-allocator.test.ts", import.meta.url)), "utf8");
    expect(file).toBe(readmeBlocks()[2]);
  });
});
