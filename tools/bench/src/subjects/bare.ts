import { AddressSpace } from "@memkit/core";
import type { FillBytes } from "@memkit/core";
import type { Subject, SubjectFactory } from "./subject.js";

const WASM_PAGE = 65536;

/**
 * The bare-loop baseline: no allocator, only the loop, the op reads and the
 * two byte writes every other subject also pays (and a calloc's memory.fill,
 * as the subjects over wasm memories zero). Every "allocation" is the
 * same region of one memory, so the difference to a real subject is the
 * allocator's own cost.
 */
class BareLoopSubject implements Subject {
  private readonly u8: Uint8Array;
  private readonly fill: FillBytes;

  constructor(maxSize: number) {
    const space = AddressSpace.create({ initialBytes: Math.ceil((maxSize + 16) / WASM_PAGE) * WASM_PAGE });
    this.u8 = space.u8;
    this.fill = space.bytes.fill;
  }

  alloc(_size: number): number {
    return 8;
  }

  allocAligned(_size: number, _align: number): number {
    return 8;
  }

  zero(handle: number, size: number): void {
    this.fill(handle, 0, size);
  }

  free(_handle: number): void {}

  realloc(handle: number, _size: number): number {
    return handle;
  }

  write(handle: number, size: number, value: number): void {
    this.u8[handle] = value;
    this.u8[handle + size - 1] = value;
  }

  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }

  footprint(): number {
    return 0;
  }

  destroy(): void {}
}

/** The bare-loop baseline. */
export function load(): Promise<SubjectFactory> {
  return Promise.resolve({
    footprintNote: "bare loop: no memory held",
    blocksAlias: true,
    create: (sizing) => new BareLoopSubject(sizing.maxSize),
  });
}
