import type { Subject, SubjectFactory } from "./subject.js";

/**
 * The bare-loop baseline: no allocator, only the loop, the op reads and the
 * two byte writes every other subject also pays. Every "allocation" is the
 * same region of one buffer, so the difference to a real subject is the
 * allocator's own cost.
 */
class BareLoopSubject implements Subject {
  private readonly u8: Uint8Array;

  constructor(maxSize: number) {
    this.u8 = new Uint8Array(maxSize + 16);
  }

  alloc(_size: number): number {
    return 8;
  }

  allocAligned(_size: number, _align: number): number {
    return 8;
  }

  zero(handle: number, size: number): void {
    this.u8.fill(0, handle, handle + size);
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
