import type { Subject, SubjectFactory } from "./subject.js";

/**
 * The garbage collector as an allocator: `new Uint8Array(size)` per
 * allocation, held in a JS array slot while live and dropped on free (the
 * collector reclaims it later). A handle is the slot's index; free indexes
 * are kept on an Int32Array stack so the adapter itself creates nothing but
 * the arrays under test.
 */
class GcSubject implements Subject {
  private readonly blocks: (Uint8Array | undefined)[];
  private readonly freeSlots: Int32Array;
  private freeTop: number;
  private readonly baseline: number;

  constructor(capacity: number) {
    // A packed array of one element kind: fill with undefined first, never holes.
    this.blocks = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.freeSlots = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeSlots[i] = capacity - 1 - i;
    this.freeTop = capacity;
    this.baseline = retainedBytes();
  }

  alloc(size: number): number {
    const h = this.freeSlots[--this.freeTop]!;
    this.blocks[h] = new Uint8Array(size);
    return h;
  }

  /** A fresh ArrayBuffer is aligned to more than any trace asks. */
  allocAligned(size: number, _align: number): number {
    return this.alloc(size);
  }

  /** Already zero, but filled anyway: every subject zeroes a calloc's block (see Subject.zero). */
  zero(handle: number, size: number): void {
    this.blocks[handle]!.fill(0, 0, size);
  }

  free(handle: number): void {
    this.blocks[handle] = undefined;
    this.freeSlots[this.freeTop++] = handle;
  }

  realloc(handle: number, size: number): number {
    const old = this.blocks[handle]!;
    const next = new Uint8Array(size);
    next.set(old.length <= size ? old : old.subarray(0, size));
    this.blocks[handle] = next;
    return handle;
  }

  write(handle: number, size: number, value: number): void {
    const b = this.blocks[handle]!;
    b[0] = value;
    b[size - 1] = value;
  }

  read(handle: number, offset: number): number {
    return this.blocks[handle]![offset]!;
  }

  /** JS heap + array-buffer bytes retained above the baseline, after a full collection. */
  footprint(): number {
    return Math.max(0, retainedBytes() - this.baseline);
  }

  destroy(): void {
    this.blocks.fill(undefined);
  }
}

/**
 * Heap bytes after a forced collection (needs --expose-gc; without it the
 * number includes garbage). Collected twice: array buffers are released by a
 * background sweeper that the next collection waits for.
 */
function retainedBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The garbage-collector subject. */
export function load(): Promise<SubjectFactory> {
  return Promise.resolve({
    footprintNote: "new Uint8Array: JS heap + ArrayBuffer bytes retained at the live peak after gc()",
    footprintAtPeakOnly: true,
    handlesAreIndexes: true,
    create: (sizing) => new GcSubject(sizing.maxLive),
  });
}
