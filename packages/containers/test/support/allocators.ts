import { AddressSpace } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { ELEMENT_KINDS, type ElementKind } from "../../src/index.js";
import { MovingAllocator } from "./moving-allocator.js";

/** The backing allocators every model test runs against. */
export const BACKINGS = ["moving", "pages"] as const;
export type Backing = (typeof BACKINGS)[number];

/**
 * A fresh allocator over a 64 KiB address space that has to grow while the
 * test runs: "moving" moves every block on reallocate and poisons freed
 * bytes; "pages" is the real page allocator with 256-byte pages.
 */
export function makeAllocator(backing: Backing, maximumBytes = 16 << 20): Allocator {
  // The page allocator's control block grows with maximumBytes / pageSize: keep the space small.
  const space = AddressSpace.create({ initialBytes: 65536, maximumBytes });
  if (backing === "moving") return new MovingAllocator(space);
  return new PageAllocator(space, { pageSize: 256 });
}

/** What a typed array of `kind` stores for `value`: the oracle of typed-array conversion. */
export function stored(kind: ElementKind, value: number | bigint): number | bigint {
  const cell = new ELEMENT_KINDS[kind].arrayType(1);
  (cell as unknown as (number | bigint)[])[0] = value;
  return cell[0]!;
}

/** SameValueZero: NaN equals NaN, -0 equals +0. */
export function same(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}

/** Throws with the first differing position when two sequences differ (SameValueZero). */
export function expectSameSequence(actual: readonly unknown[], expected: readonly unknown[], what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!same(actual[i], expected[i])) throw new Error(`${what}: [${i}] is ${String(actual[i])}, expected ${String(expected[i])}`);
  }
}

/** Live blocks of an allocator (from its stats). */
export function liveCount(allocator: Allocator): number {
  return allocator.stats().liveCount;
}
