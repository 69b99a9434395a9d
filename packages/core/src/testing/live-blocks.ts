import type { Allocator, Ptr } from "../types.js";
import { hex } from "../format.js";

/** The byte a block with identity `id` holds at `offset`: distinct per block and per position, so overlaps and shifts show. */
export function patternByte(id: number, offset: number): number {
  return (Math.imul(id, 0x9e3779b1) >>> 24) ^ ((offset * 31 + (offset >>> 8)) & 0xff);
}

/** Fills `size` bytes at `ptr` with the pattern of block `id`. */
export function fillPattern(allocator: Allocator, ptr: Ptr, size: number, id: number): void {
  const u8 = allocator.space.u8;
  for (let i = 0; i < size; i++) u8[ptr + i] = patternByte(id, i);
}

/** Returns the first offset below `size` whose byte differs from block `id`'s pattern, or -1. */
export function findPatternMismatch(allocator: Allocator, ptr: Ptr, size: number, id: number): number {
  const u8 = allocator.space.u8;
  for (let i = 0; i < size; i++) if (u8[ptr + i] !== patternByte(id, i)) return i;
  return -1;
}

/** One block the tests keep alive, with its pattern identity. */
export interface LiveBlock {
  ptr: Ptr;
  size: number;
  align: number;
  id: number;
}

/** A failed contract expectation. */
export class ContractViolation extends Error {
  override name = "ContractViolation";
}

/** Thrown by a check whose subject lacks what the check needs (an `attach` or `destroy` hook): the check is skipped, not passed. */
export class ContractSkip extends Error {
  override name = "ContractSkip";
}

/** Throws a {@link ContractViolation} when `condition` is false. */
export function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractViolation(message);
}

/**
 * The blocks a check holds: each filled with its own pattern on allocation,
 * verified before it is freed and on demand, so any overlap or stray write
 * is caught with the block and offset that broke.
 */
export class LiveBlocks {
  readonly blocks: LiveBlock[] = [];
  private nextId = 1;

  constructor(readonly allocator: Allocator) {}

  /** Allocates, checks the basics (non-zero, aligned, usable size), fills, and records the block. */
  allocate(size: number, align?: number): LiveBlock {
    const a = this.allocator;
    const ptr = align === undefined ? a.allocate(size) : a.allocate(size, align);
    const effectiveAlign = align ?? 8;
    expect(ptr !== 0, `${a.name}: allocate(${size}, ${effectiveAlign}) returned null`);
    expect(Number.isInteger(ptr) && ptr > 0, `${a.name}: allocate(${size}) returned ${ptr}, not a positive integer`);
    expect(ptr % effectiveAlign === 0, `${a.name}: allocate(${size}, ${effectiveAlign}) returned ${hex(ptr)}, not ${effectiveAlign}-aligned`);
    expect(ptr + size <= a.space.byteLength, `${a.name}: block ${hex(ptr)} + ${size} runs past the end of the space`);
    const usable = a.allocatedSize(ptr);
    expect(usable >= size, `${a.name}: allocatedSize(${hex(ptr)}) = ${usable} < ${size} asked for`);
    expect(a.owns(ptr), `${a.name}: owns(${hex(ptr)}) is false for a live block`);
    const block = { ptr, size, align: effectiveAlign, id: this.nextId++ };
    fillPattern(a, ptr, size, block.id);
    this.blocks.push(block);
    return block;
  }

  /** Verifies the block's bytes, frees it and forgets it. */
  free(index: number): void {
    const block = this.blocks[index];
    expect(block !== undefined, `no live block #${index}`);
    this.verify(block);
    this.allocator.deallocate(block.ptr);
    const last = this.blocks.pop()!;
    if (index < this.blocks.length) this.blocks[index] = last;
  }

  /** Reallocates a block, checks the kept prefix and refills it with a new identity. */
  reallocate(index: number, newSize: number, align?: number): LiveBlock {
    const a = this.allocator;
    const block = this.blocks[index];
    expect(block !== undefined, `no live block #${index}`);
    this.verify(block);
    const ptr = align === undefined ? a.reallocate(block.ptr, newSize) : a.reallocate(block.ptr, newSize, align);
    const effectiveAlign = align ?? 8;
    expect(ptr !== 0, `${a.name}: reallocate(${hex(block.ptr)}, ${newSize}) returned null`);
    expect(ptr % effectiveAlign === 0, `${a.name}: reallocate(.., ${newSize}, ${effectiveAlign}) returned ${hex(ptr)}, not aligned`);
    expect(a.allocatedSize(ptr) >= newSize, `${a.name}: allocatedSize after reallocate(${newSize}) is ${a.allocatedSize(ptr)}`);
    const kept = Math.min(block.size, newSize);
    const bad = findPatternMismatch(a, ptr, kept, block.id);
    expect(
      bad < 0,
      `${a.name}: reallocate(${hex(block.ptr)}, ${block.size} -> ${newSize}) to ${hex(ptr)} lost byte +${bad} of the ${kept} it must keep`,
    );
    const moved = { ptr, size: newSize, align: effectiveAlign, id: this.nextId++ };
    fillPattern(a, ptr, newSize, moved.id);
    this.blocks[index] = moved;
    return moved;
  }

  /** Throws unless the block still holds its pattern. */
  verify(block: LiveBlock): void {
    const bad = findPatternMismatch(this.allocator, block.ptr, block.size, block.id);
    expect(bad < 0, `${this.allocator.name}: block ${hex(block.ptr)} (${block.size} B) changed at +${bad}: something wrote into a live block`);
  }

  /** Verifies every live block. */
  verifyAll(): void {
    for (const block of this.blocks) this.verify(block);
  }

  /** Throws when two live blocks overlap. */
  verifyDisjoint(): void {
    const sorted = [...this.blocks].sort((x, y) => x.ptr - y.ptr);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const cur = sorted[i]!;
      const prevEnd = prev.ptr + Math.max(prev.size, 1);
      expect(prevEnd <= cur.ptr, `${this.allocator.name}: blocks ${hex(prev.ptr)} (${prev.size} B) and ${hex(cur.ptr)} overlap`);
    }
  }

  /** Frees every block (verifying each). */
  freeAll(): void {
    while (this.blocks.length > 0) this.free(this.blocks.length - 1);
  }

  get length(): number {
    return this.blocks.length;
  }

  /** Sum of the sizes asked for. */
  get bytes(): number {
    let sum = 0;
    for (const b of this.blocks) sum += b.size;
    return sum;
  }
}
