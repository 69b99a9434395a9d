import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, OutOfMemoryError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { StaleHandleError } from "@memkit/containers";
import { RelocatableAllocator } from "../src/index.js";
import { fill, mismatch, setup } from "./support/setup.js";

/** Every live block keeps its bytes, check() passes, and the allocator still allocates, frees and compacts. */
function expectUnharmed(r: RelocatableAllocator, u8: () => Uint8Array, blocks: { h: number; size: number; id: number }[]): void {
  r.check();
  for (const b of blocks) expect(mismatch(u8(), r.resolve(b.h), b.size, b.id)).toBe(-1);
  const h = r.create(100);
  r.compact();
  r.free(h);
  r.check();
  for (const b of blocks) expect(mismatch(u8(), r.resolve(b.h), b.size, b.id)).toBe(-1);
}

function withBlocks(): { r: RelocatableAllocator; space: AddressSpace; blocks: { h: number; size: number; id: number }[] } {
  const { r, space } = setup();
  const blocks: { h: number; size: number; id: number }[] = [];
  for (let i = 0; i < 30; i++) {
    const size = 20 + i * 11;
    const h = r.create(size);
    fill(space.u8, r.resolve(h), size, i);
    blocks.push({ h, size, id: i });
  }
  for (let i = 0; i < 30; i += 4) r.free(blocks[i]!.h);
  return { r, space, blocks: blocks.filter((_, i) => i % 4 !== 0) };
}

const notHandles: unknown[] = [0, -1, 1.5, 2 ** 30, 2 ** 40, NaN, "1", null, undefined, {}, 1n, Symbol("h")];

describe("bad input gets a typed error and harms nothing", () => {
  it("handles that are not handles: InvalidPointerError naming the allocator; stale ones: StaleHandleError", () => {
    const { r, space, blocks } = withBlocks();
    for (const bad of notHandles) {
      for (const call of [
        () => r.resolve(bad as number),
        () => r.free(bad as number),
        () => r.pin(bad as number),
        () => r.unpin(bad as number),
        () => r.sizeOf(bad as number),
        () => r.resize(bad as number, 10),
        () => r.pinCount(bad as number),
      ]) {
        let err: unknown;
        try {
          call();
        } catch (e) {
          err = e;
        }
        expect(err, String(bad)).toBeInstanceOf(InvalidPointerError);
        expect((err as Error).message).toContain('RelocatableAllocator "relocatable"');
      }
      expect(r.isAlive(bad as number)).toBe(false);
    }
    const h = r.create(10);
    r.free(h);
    const stale = (): unknown => r.resolve(h);
    expect(stale).toThrow(StaleHandleError);
    expect(stale).toThrow(/stale handle 0x[0-9a-f]+ \(index \d+, generation \d+\): its block was freed/);
    expect(() => r.free(h)).toThrow(StaleHandleError);
    const reused = r.create(10); // FIFO reuse: not necessarily the same slot, but h stays stale either way
    expect(() => r.resolve(h)).toThrow(StaleHandleError);
    r.free(reused);
    expectUnharmed(r, () => space.u8, blocks);
  });

  it("pins: unpin without pin, free of a pinned block, resize of a pinned block that must move", () => {
    const { r, space, blocks } = withBlocks();
    const b = blocks[3]!;
    expect(() => r.unpin(b.h)).toThrow(InvalidArgumentError);
    r.pin(b.h);
    expect(() => r.free(b.h)).toThrow(/pinned 1 time\(s\); unpin it before freeing it/);
    const at = r.resolve(b.h);
    // Grow it far beyond what any free neighbour holds, so it would have to move.
    expect(() => r.resize(b.h, 1 << 20)).toThrow(InvalidArgumentError);
    expect(r.resolve(b.h)).toBe(at);
    expect(() => r.deallocate(at)).toThrow(InvalidArgumentError);
    r.unpin(b.h);
    expectUnharmed(r, () => space.u8, blocks);
  });

  it("sizes, budgets, alignments and options", () => {
    const { r, space, blocks, } = withBlocks();
    for (const size of [-1, 1.5, NaN, "8", 2 ** 32, 1n]) {
      expect(() => r.create(size as number)).toThrow(InvalidArgumentError);
      expect(() => r.resize(blocks[0]!.h, size as number)).toThrow(InvalidArgumentError);
    }
    expect(() => r.create(2 ** 31)).toThrow(OutOfMemoryError);
    for (const budget of [0, 7, -5, NaN, "100", Infinity]) expect(() => r.compact({ maxBytes: budget as number })).toThrow(InvalidArgumentError);
    for (const options of ["100", null, true, 1n]) expect(() => r.compact(options as never)).toThrow(InvalidArgumentError);
    expect(() => r.allocate(64, 16)).toThrow(/align 16 .* more than 8/);
    expect(() => r.allocate(64, 3)).toThrow(InvalidArgumentError);
    const { backing } = setup();
    expect(() => new RelocatableAllocator(backing, { chunkBytes: 1000 })).toThrow(InvalidArgumentError);
    expect(() => new RelocatableAllocator(backing, { indexBits: 30 })).toThrow(InvalidArgumentError);
    expect(() => new RelocatableAllocator({} as never)).toThrow(/the backing must be an Allocator/);
    expect(() => r.deallocate(12345)).toThrow(InvalidPointerError);
    expect(() => r.deallocate(r.resolve(blocks[0]!.h) + 8)).toThrow(InvalidPointerError);
    const p = r.allocate(48);
    r.deallocate(p);
    expect(() => r.deallocate(p)).toThrow(DoubleFreeError);
    expectUnharmed(r, () => space.u8, blocks);
  });

  it("out of memory in the backing (a new chunk, a table's growth, a moving resize) changes nothing", () => {
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 4 << 20 });
    const r = new RelocatableAllocator(new GenericAllocator(new PageAllocator(space)), { chunkBytes: 64 << 10 });
    const blocks: { h: number; size: number; id: number }[] = [];
    let id = 0;
    let failures = 0;
    // Fill until the backing refuses, again and again with smaller sizes.
    for (const size of [60_000, 6000, 600, 60]) {
      for (;;) {
        try {
          const h = r.create(size);
          fill(space.u8, r.resolve(h), size, id);
          blocks.push({ h, size, id: id++ });
        } catch (err) {
          expect(err).toBeInstanceOf(OutOfMemoryError);
          expect((err as Error).message).toContain("relocatable");
          failures++;
          r.check();
          break;
        }
      }
    }
    expect(failures).toBe(4);
    const big = blocks[0]!;
    expect(() => r.resize(big.h, 3_900_000)).toThrow(OutOfMemoryError);
    expect(r.sizeOf(big.h)).toBeGreaterThanOrEqual(big.size);
    for (let i = 0; i < blocks.length; i += 2) r.free(blocks[i]!.h);
    expectUnharmed(r, () => space.u8, blocks.filter((_, i) => i % 2 === 1));
  });

  it("after destroy(): DestroyedError; a damaged control block is refused at attach", () => {
    const { r, space, backing } = setup();
    const h = r.create(10);
    const ptr = r.controlPtr;
    const copy = space.u32[(ptr >>> 2) + 4]!;
    space.u32[(ptr >>> 2) + 4] = 12; // chunkBytes, a sealed word
    expect(() => RelocatableAllocator.attach(space, ptr, { backing })).toThrow(CorruptionError);
    space.u32[(ptr >>> 2) + 4] = copy;
    const other = RelocatableAllocator.attach(space, ptr, { backing });
    expect(other.resolve(h)).toBe(r.resolve(h));
    other.detach();
    expect(() => other.resolve(h)).toThrow(DestroyedError);
    r.destroy();
    for (const call of [() => r.create(1), () => r.resolve(h), () => r.compact(), () => r.stats(), () => r.check()]) expect(call).toThrow(DestroyedError);
    // Retired, then given back to the backing (which may reuse its bytes): refused either way.
    expect(() => RelocatableAllocator.attach(space, ptr, { backing })).toThrow(CorruptionError);
    backing.check();
    expect(backing.stats().liveCount).toBe(0);
  });
});
