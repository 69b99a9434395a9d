/*
 * The three subjects a worker of the threads bench runs its workload
 * through, behind the bench's Subject interface (src/subjects/subject.ts), so
 * the runner's timed loop, warm-up, GC counting and verification pass are the
 * single-thread bench's own. No shared base class on the hot path: each
 * worker runs one subject, so every call site stays monomorphic.
 */
import type { AddressSpace, Allocator } from "@memkit/core";
import type { GenericAllocator } from "@memkit/generic-allocator";
import type { Subject, SubjectFactory } from "../subjects/subject.js";
import type { SpinLock } from "./rig.js";

/** Which allocator a worker allocates through. */
export type ThreadSubjectId = "private" | "heaps" | "scopes" | "locked";

export const THREAD_SUBJECTS: readonly ThreadSubjectId[] = ["private", "heaps", "scopes", "locked"];

/** What each subject is, for the tables. */
export const THREAD_SUBJECT_TITLES: Record<ThreadSubjectId, string> = {
  private: "control: each worker a GenericAllocator on a private memory of its own (nothing shared: what the machine allows)",
  heaps: "per-thread GenericAllocator, one shared PageAllocator (routes)",
  scopes: "MemoryGlobals shared: memory.default (each thread's lane; the scope tree lock for the rest)",
  locked: "one GenericAllocator behind one Atomics spin lock",
};

/** The subjects of the single-thread comparison (single-thread.ts): one process each. */
export type SingleSubjectId = "generic-private" | "generic-shared" | "default-private" | "default-shared";
export const SINGLE_SUBJECTS: readonly SingleSubjectId[] = ["generic-private", "generic-shared", "default-private", "default-shared"];

/** What single-thread.ts prints per workload. */
export interface SingleResult {
  nsPerOp: number;
  runsNsPerOp: number[];
  gcEvents: number;
  verifyErrors: number;
}

/**
 * An allocator a worker calls directly: its own routed generic allocator (rig
 * "heaps") or the root scope of a shared MemoryGlobals (`memory.default`, rig
 * "scopes"). One class for both: a worker runs one subject, so its call sites
 * see one allocator class.
 */
class DirectSubject implements Subject {
  private readonly allocator: Allocator;
  private readonly u8: Uint8Array;
  private readonly end: () => void;

  constructor(space: AddressSpace, allocator: Allocator, end: () => void) {
    this.allocator = allocator;
    // Every space of this bench commits its memory up front: the views never go stale.
    this.u8 = space.u8;
    this.end = end;
  }

  alloc(size: number): number {
    return this.allocator.allocate(size);
  }
  allocAligned(size: number, align: number): number {
    return this.allocator.allocate(size, align);
  }
  zero(handle: number, size: number): void {
    this.u8.fill(0, handle, handle + size);
  }
  free(handle: number): void {
    this.allocator.deallocate(handle);
  }
  realloc(handle: number, size: number): number {
    return this.allocator.reallocate(handle, size);
  }
  write(handle: number, size: number, value: number): void {
    const u8 = this.u8;
    u8[handle] = value;
    u8[handle + size - 1] = value;
  }
  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }
  footprint(): number {
    return 0;
  }
  destroy(): void {
    this.end();
  }
}

/** This worker's handle on the one generic allocator, every call under the spin lock. */
class LockedSubject implements Subject {
  private readonly generic: GenericAllocator;
  private readonly lock: SpinLock;
  private readonly u8: Uint8Array;

  constructor(space: AddressSpace, generic: GenericAllocator, lock: SpinLock) {
    this.generic = generic;
    this.lock = lock;
    this.u8 = space.u8;
  }

  alloc(size: number): number {
    this.lock.acquire();
    try {
      return this.generic.allocate(size);
    } finally {
      this.lock.release();
    }
  }
  allocAligned(size: number, align: number): number {
    this.lock.acquire();
    try {
      return this.generic.allocate(size, align);
    } finally {
      this.lock.release();
    }
  }
  zero(handle: number, size: number): void {
    this.u8.fill(0, handle, handle + size);
  }
  free(handle: number): void {
    this.lock.acquire();
    try {
      this.generic.deallocate(handle);
    } finally {
      this.lock.release();
    }
  }
  realloc(handle: number, size: number): number {
    this.lock.acquire();
    try {
      return this.generic.reallocate(handle, size);
    } finally {
      this.lock.release();
    }
  }
  write(handle: number, size: number, value: number): void {
    const u8 = this.u8;
    u8[handle] = value;
    u8[handle + size - 1] = value;
  }
  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }
  footprint(): number {
    return 0;
  }
  destroy(): void {
    // The worker detaches its handle (rig.end()).
  }
}

const keep = (): void => {
  // The allocator outlives the subject: the worker ends it.
};

/** A factory whose subjects all wrap one allocator this worker already holds (the runner asks for one per bench and one for its verification pass). */
function factoryOf(make: () => Subject): SubjectFactory {
  return { create: make, footprintNote: "not measured by the threads bench", footprintAtPeakOnly: true };
}

export function ownHeapFactory(space: AddressSpace, generic: GenericAllocator): SubjectFactory {
  return factoryOf(() => new DirectSubject(space, generic, keep));
}

export function scopeFactory(space: AddressSpace, scope: Allocator): SubjectFactory {
  return factoryOf(() => new DirectSubject(space, scope, keep));
}

export function lockedFactory(space: AddressSpace, generic: GenericAllocator, lock: SpinLock): SubjectFactory {
  return factoryOf(() => new LockedSubject(space, generic, lock));
}

/** A generic allocator subject that ends its allocator (and whatever `end` says) when the runner is done with it. */
export function genericSubject(space: AddressSpace, generic: GenericAllocator, end: () => void): Subject {
  return new DirectSubject(space, generic, end);
}

/** A scope subject that runs `end` (a shutdown) when the runner is done with it. */
export function scopeSubject(space: AddressSpace, scope: Allocator, end: () => void): Subject {
  return new DirectSubject(space, scope, end);
}
