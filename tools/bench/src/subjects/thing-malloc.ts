import { MemPool } from "@thi.ng/malloc";
import type { Subject, SubjectFactory, SubjectSizing } from "./subject.js";

const MiB = 1 << 20;
/**
 * MemPool keeps its state in the buffer at `start` (0 here): word 2 is `top`,
 * the bump pointer. Read directly because `stats()` walks both block lists
 * (O(n)) and the measuring pass samples the footprint after every op.
 */
const STATE_TOP_WORD = 2;

/**
 * `@thi.ng/malloc`'s MemPool over one ArrayBuffer: first-fit free list,
 * used list walked on every free (O(live blocks)), so the runner caps its op
 * counts and scales the result to ns/op.
 */
class ThingMallocSubject implements Subject {
  private readonly pool: MemPool;
  private readonly u8: Uint8Array;
  private readonly state: Uint32Array;
  private readonly initialTop: number;

  constructor(bytes: number) {
    this.pool = new MemPool({ size: bytes, align: 8, start: 0 });
    this.u8 = new Uint8Array(this.pool.buf);
    this.state = new Uint32Array(this.pool.buf, 0, 8);
    this.initialTop = this.state[STATE_TOP_WORD]!;
  }

  alloc(size: number): number {
    const p = this.pool.malloc(size);
    if (p === 0) throw new Error(`@thi.ng/malloc: pool of ${this.u8.length} bytes exhausted allocating ${size} bytes`);
    return p;
  }

  /** The pool aligns every block to 8; the registry gives no larger alignment (serves.maxAlign). */
  allocAligned(size: number, _align: number): number {
    return this.alloc(size);
  }

  zero(handle: number, size: number): void {
    this.u8.fill(0, handle, handle + size);
  }

  free(handle: number): void {
    if (!this.pool.free(handle)) throw new Error(`@thi.ng/malloc: free(${handle}) refused`);
  }

  realloc(handle: number, size: number): number {
    const p = this.pool.realloc(handle, size);
    if (p === 0) throw new Error(`@thi.ng/malloc: pool of ${this.u8.length} bytes exhausted reallocating to ${size} bytes`);
    return p;
  }

  write(handle: number, size: number, value: number): void {
    this.u8[handle] = value;
    this.u8[handle + size - 1] = value;
  }

  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }

  /** Bytes between the pool's first block and its top (the bump pointer above every block ever live). */
  footprint(): number {
    return this.state[STATE_TOP_WORD]! - this.initialTop;
  }

  destroy(): void {}
}

/** Pool size: generous over the live peak (first fit fragments), in whole MiB. */
function poolBytes(sizing: SubjectSizing): number {
  const want = Math.max(16 * MiB, 4 * sizing.peakLiveBytes + 64 * sizing.maxSize);
  return Math.min(1024 * MiB, Math.ceil(want / MiB) * MiB);
}

/** The @thi.ng/malloc subject. */
export function load(): Promise<SubjectFactory> {
  return Promise.resolve({
    footprintNote: "@thi.ng/malloc: pool top minus its first block",
    // Its free list keeps fragments after everything is freed; replayed runs ran out of room on E.
    freshEachRun: true,
    create: (sizing) => new ThingMallocSubject(poolBytes(sizing)),
  });
}
