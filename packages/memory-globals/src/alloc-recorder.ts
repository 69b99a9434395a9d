import { AllocatorError, type AddressSpace, type Ptr } from "@memkit/core";
import { TraceAllocator } from "@memkit/trace-allocator";
import { AllocLogKind, encodeAllocLog, type AllocLog } from "./alloc-log.js";

/*
 * Records every allocate, free and reallocate of a memory's scopes into an
 * allocation log (alloc-log.ts). While it records, TraceAllocator's three
 * methods are wrapped on its prototype (every handle of this thread, so
 * containers and child scopes are recorded too): the wrapper calls the
 * method, then appends the event. When it stops, the wrappers are deleted
 * and the methods are the prototype's own again: nothing is in the way when
 * no one records. Only calls whose outermost frame is a scope method are
 * logged (reallocate(0, n) calling allocate is one event), only for handles
 * on this memory's space, and a call that throws logs nothing.
 */

type Allocate = (this: TraceAllocator, size: number, align?: number, label?: number) => Ptr;
type Deallocate = (this: TraceAllocator, ptr: Ptr) => void;
type Reallocate = (this: TraceAllocator, ptr: Ptr, size: number, align?: number, label?: number) => Ptr;

let active: AllocRecorder | undefined;

/** One recording: growable event arrays and the live pointer -> block id map. */
export class AllocRecorder {
  #count = 0;
  #kinds = new Uint8Array(4096);
  #scopes = new Uint32Array(4096);
  #ids = new Int32Array(4096);
  #sizes = new Float64Array(4096);
  #align = new Uint8Array(4096);
  #frames = new Uint32Array(4096);
  readonly #idOf = new Map<Ptr, number>();
  readonly #freeIds: number[] = [];
  #nextId = 0;
  readonly #scopeIds = new Map<string, number>();
  readonly #paths: string[] = [];
  #depth = 0;
  /** Frees and reallocations of blocks allocated before the recording began (not in the log). */
  #untracked = 0;
  readonly #space: AddressSpace;
  readonly #frame: () => number;

  private constructor(space: AddressSpace, frame: () => number) {
    this.#space = space;
    this.#frame = frame;
  }

  /** Starts recording the scopes on `space`; `frame` says the current frame. AllocatorError when a recording already runs in this thread. */
  static start(space: AddressSpace, frame: () => number): AllocRecorder {
    if (active !== undefined) throw new AllocatorError("memory.startRecording: a recording is already running in this thread; stopRecording() it first.");
    const recorder = new AllocRecorder(space, frame);
    AllocRecorder.#install(recorder);
    active = recorder;
    return recorder;
  }

  /** Events so far. */
  get count(): number {
    return this.#count;
  }

  /** Ends recording: the prototype's methods are its own again (idempotent). */
  end(): void {
    this.#uninstall();
  }

  /** Ends recording and returns the log's bytes. */
  stop(label: string, tracing: string): Uint8Array {
    this.#uninstall();
    const n = this.#count;
    const log: AllocLog = {
      header: { label, scopes: this.#paths, tracing, untrackedBlocks: this.#untracked },
      count: n,
      kinds: this.#kinds.subarray(0, n),
      scopes: this.#scopes.subarray(0, n),
      ids: this.#ids.subarray(0, n),
      sizes: this.#sizes.subarray(0, n),
      alignLog2: this.#align.subarray(0, n),
      frames: this.#frames.subarray(0, n),
      idCount: this.#nextId,
    };
    return encodeAllocLog(log);
  }

  static #install(rec: AllocRecorder): void {
    const proto = TraceAllocator.prototype as unknown as { allocate: Allocate; deallocate: Deallocate; reallocate: Reallocate };
    const allocate = proto.allocate;
    const deallocate = proto.deallocate;
    const reallocate = proto.reallocate;
    const define = (name: string, value: unknown): void => void Object.defineProperty(TraceAllocator.prototype, name, { value, configurable: true, writable: true });
    define("allocate", function (this: TraceAllocator, size: number, align = 8, label = 0): Ptr {
      rec.#depth++;
      let ptr: Ptr;
      try {
        ptr = allocate.call(this, size, align, label);
      } finally {
        rec.#depth--;
      }
      if (rec.#depth === 0 && this.space === rec.#space) rec.#allocated(this.path, ptr, size, align);
      return ptr;
    });
    define("deallocate", function (this: TraceAllocator, ptr: Ptr): void {
      rec.#depth++;
      try {
        deallocate.call(this, ptr);
      } finally {
        rec.#depth--;
      }
      if (rec.#depth === 0 && ptr !== 0 && this.space === rec.#space) rec.#freed(this.path, ptr);
    });
    define("reallocate", function (this: TraceAllocator, ptr: Ptr, size: number, align = 8, label = 0): Ptr {
      rec.#depth++;
      let moved: Ptr;
      try {
        moved = reallocate.call(this, ptr, size, align, label);
      } finally {
        rec.#depth--;
      }
      if (rec.#depth === 0 && this.space === rec.#space) rec.#reallocated(this.path, ptr, moved, size, align);
      return moved;
    });
  }

  #uninstall(): void {
    if (active !== this) return;
    for (const name of ["allocate", "deallocate", "reallocate"]) delete (TraceAllocator.prototype as unknown as Record<string, unknown>)[name];
    active = undefined;
  }

  #scope(path: string): number {
    let id = this.#scopeIds.get(path);
    if (id === undefined) {
      id = this.#paths.length;
      this.#paths.push(path);
      this.#scopeIds.set(path, id);
    }
    return id;
  }

  #push(kind: number, path: string, id: number, size: number, align: number): void {
    const i = this.#count;
    if (i === this.#kinds.length) this.#grow();
    this.#kinds[i] = kind;
    this.#scopes[i] = this.#scope(path);
    this.#ids[i] = id;
    this.#sizes[i] = size;
    this.#align[i] = 31 - Math.clz32(align);
    this.#frames[i] = this.#frame();
    this.#count = i + 1;
  }

  #allocated(path: string, ptr: Ptr, size: number, align: number): void {
    const id = this.#freeIds.length > 0 ? this.#freeIds.pop()! : this.#nextId++;
    this.#idOf.set(ptr, id);
    this.#push(AllocLogKind.ALLOC, path, id, size, align);
  }

  #freed(path: string, ptr: Ptr): void {
    const id = this.#idOf.get(ptr);
    if (id === undefined) {
      this.#untracked++;
      return;
    }
    this.#idOf.delete(ptr);
    this.#freeIds.push(id);
    this.#push(AllocLogKind.FREE, path, id, 0, 1);
  }

  #reallocated(path: string, ptr: Ptr, moved: Ptr, size: number, align: number): void {
    const id = ptr === 0 ? undefined : this.#idOf.get(ptr);
    if (id === undefined) {
      // reallocate(0, n), or a block from before the recording: from here on it is a new block.
      if (ptr !== 0) this.#untracked++;
      this.#allocated(path, moved, size, align);
      return;
    }
    this.#idOf.delete(ptr);
    this.#idOf.set(moved, id);
    this.#push(AllocLogKind.REALLOC, path, id, size, align);
  }

  #grow(): void {
    const n = this.#kinds.length * 2;
    const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.#kinds = grow(this.#kinds, (k) => new Uint8Array(k));
    this.#scopes = grow(this.#scopes, (k) => new Uint32Array(k));
    this.#ids = grow(this.#ids, (k) => new Int32Array(k));
    this.#sizes = grow(this.#sizes, (k) => new Float64Array(k));
    this.#align = grow(this.#align, (k) => new Uint8Array(k));
    this.#frames = grow(this.#frames, (k) => new Uint32Array(k));
  }
}
