import { DoubleFreeError, InvalidPointerError, SeededRandom, hex } from "@memkit/core";
import type { HeapAllocator } from "@memkit/heap-allocator";

/*
 * A seeded random driver for long runs. Block contents are written and
 * checked a word at a time (bytes only for the tail), so a million
 * operations with every byte of every block verified stay fast.
 */

function word(id: number, k: number): number {
  return (Math.imul(id, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b)) | 0;
}

function byteOf(id: number, offset: number): number {
  return (word(id, offset >>> 2) >>> ((offset & 3) * 8)) & 0xff;
}

function fill(heap: HeapAllocator, ptr: number, size: number, id: number): void {
  const i32 = heap.space.i32;
  const words = size >>> 2;
  const w0 = ptr >>> 2;
  for (let k = 0; k < words; k++) i32[w0 + k] = word(id, k);
  const u8 = heap.space.u8;
  for (let off = words * 4; off < size; off++) u8[ptr + off] = byteOf(id, off);
}

function verify(heap: HeapAllocator, ptr: number, size: number, id: number, what: string): void {
  const i32 = heap.space.i32;
  const words = size >>> 2;
  const w0 = ptr >>> 2;
  for (let k = 0; k < words; k++) {
    if (i32[w0 + k] !== word(id, k)) throw new Error(`${what}: block ${hex(ptr)} (${size} B) changed in word +${k * 4}`);
  }
  const u8 = heap.space.u8;
  for (let off = words * 4; off < size; off++) {
    if (u8[ptr + off] !== byteOf(id, off)) throw new Error(`${what}: block ${hex(ptr)} (${size} B) changed at +${off}`);
  }
}

export interface SequenceOptions {
  ops: number;
  seed: number;
  /** Live blocks the sequence hovers around. */
  live: number;
  /** Run check() and verify every block every this many operations. */
  checkEvery: number;
  /** Largest block size (a few requests go up to it). */
  maxSize: number;
  /** Called every checkEvery operations (after the checks). */
  onCheckpoint?: (op: number) => void;
}

/** Runs a seeded alloc/free/realloc sequence with rejections mixed in; throws at the first fault. */
export function runSequence(heap: HeapAllocator, o: SequenceOptions): { peakLive: number } {
  const rng = new SeededRandom(o.seed);
  const ptrs: number[] = [];
  const sizes: number[] = [];
  const ids: number[] = [];
  const freed: number[] = [];
  let nextId = 1;
  let peakLive = 0;
  const pickSize = (): number => {
    const r = rng.next();
    if (r < 0.92) return rng.logUniform(1, 2048) - 1;
    if (r < 0.995) return rng.logUniform(2048, Math.min(65536, o.maxSize));
    return rng.logUniform(Math.min(65536, o.maxSize), o.maxSize);
  };
  const pickAlign = (): number => (rng.chance(0.03) ? 2 ** rng.int(4, 16) : 8);
  const removeAt = (i: number): void => {
    const last = ptrs.length - 1;
    ptrs[i] = ptrs[last]!;
    sizes[i] = sizes[last]!;
    ids[i] = ids[last]!;
    ptrs.pop();
    sizes.pop();
    ids.pop();
  };
  for (let op = 1; op <= o.ops; op++) {
    const r = rng.next();
    const allocBias = ptrs.length < o.live ? 0.5 : 0.4;
    if (ptrs.length === 0 || r < allocBias) {
      const size = pickSize();
      const align = pickAlign();
      const ptr = heap.allocate(size, align);
      if (ptr % align !== 0) throw new Error(`allocate(${size}, ${align}) returned ${hex(ptr)}`);
      const id = nextId++;
      fill(heap, ptr, size, id);
      ptrs.push(ptr);
      sizes.push(size);
      ids.push(id);
    } else if (r < 0.85) {
      const i = rng.int(0, ptrs.length - 1);
      verify(heap, ptrs[i]!, sizes[i]!, ids[i]!, `op ${op} before free`);
      heap.deallocate(ptrs[i]!);
      if (freed.length < 64) freed.push(ptrs[i]!);
      else freed[rng.int(0, 63)] = ptrs[i]!;
      removeAt(i);
    } else if (r < 0.88) {
      // resizeInPlace: the block keeps its address, or nothing changes.
      const i = rng.int(0, ptrs.length - 1);
      const size = pickSize();
      const old = ptrs[i]!;
      const liveBefore = heap.stats().liveBytes;
      if (heap.resizeInPlace(old, size)) {
        if (heap.allocatedSize(old) < size) throw new Error(`op ${op}: resizeInPlace(${hex(old)}, ${size}) left ${heap.allocatedSize(old)} usable bytes`);
        verify(heap, old, Math.min(size, sizes[i]!), ids[i]!, `op ${op} after resizeInPlace ${hex(old)}`);
        const id = nextId++;
        fill(heap, old, size, id);
        sizes[i] = size;
        ids[i] = id;
      } else {
        if (heap.stats().liveBytes !== liveBefore) throw new Error(`op ${op}: a refused resizeInPlace changed liveBytes`);
        verify(heap, old, sizes[i]!, ids[i]!, `op ${op} after a refused resizeInPlace`);
      }
    } else {
      const i = rng.int(0, ptrs.length - 1);
      const size = pickSize();
      const align = rng.chance(0.1) ? pickAlign() : 8;
      const old = ptrs[i]!;
      verify(heap, old, sizes[i]!, ids[i]!, `op ${op} before realloc`);
      const ptr = heap.reallocate(old, size, align);
      if (ptr % align !== 0) throw new Error(`reallocate(.., ${size}, ${align}) returned ${hex(ptr)}`);
      verify(heap, ptr, Math.min(size, sizes[i]!), ids[i]!, `op ${op} after realloc ${hex(old)} -> ${hex(ptr)}`);
      const id = nextId++;
      fill(heap, ptr, size, id);
      ptrs[i] = ptr;
      sizes[i] = size;
      ids[i] = id;
    }
    // Now and then, a bad pointer: it must be refused and change nothing.
    if (op % 997 === 0 && ptrs.length > 0) {
      const i = rng.int(0, ptrs.length - 1);
      const usable = heap.allocatedSize(ptrs[i]!);
      const before = heap.stats().liveBytes;
      const interior = ptrs[i]! + 1 + rng.int(0, Math.max(0, usable - 2));
      if (usable > 1) expectRefused(() => heap.deallocate(interior), `interior ${hex(interior)}`);
      const stale = freed[rng.int(0, Math.max(0, freed.length - 1))];
      if (stale !== undefined && !ptrs.includes(stale)) expectRefused(() => heap.deallocate(stale), `stale ${hex(stale)}`);
      if (heap.stats().liveBytes !== before) throw new Error(`op ${op}: a refused pointer changed liveBytes`);
    }
    let liveBytes = 0;
    if (op % o.checkEvery === 0) {
      heap.check();
      for (let i = 0; i < ptrs.length; i++) {
        verify(heap, ptrs[i]!, sizes[i]!, ids[i]!, `checkpoint ${op}`);
        liveBytes += sizes[i]!;
      }
      if (heap.stats().liveCount !== ptrs.length) throw new Error(`op ${op}: liveCount ${heap.stats().liveCount}, held ${ptrs.length}`);
      peakLive = Math.max(peakLive, liveBytes);
      o.onCheckpoint?.(op);
    }
  }
  for (let i = 0; i < ptrs.length; i++) verify(heap, ptrs[i]!, sizes[i]!, ids[i]!, "end");
  while (ptrs.length > 0) {
    heap.deallocate(ptrs[ptrs.length - 1]!);
    removeAt(ptrs.length - 1);
  }
  heap.check();
  return { peakLive };
}

function expectRefused(fn: () => void, what: string): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidPointerError || err instanceof DoubleFreeError) return;
    throw err;
  }
  throw new Error(`${what} was accepted`);
}
