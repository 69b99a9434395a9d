import { InvalidArgumentError, InvalidPointerError, OutOfMemoryError, alignUp, describe, formatCount, hex } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { CONTAINER_ALIGN, ContainerCore, type ContainerOptions } from "./container-core.js";
import { checkLayout, type FieldKind, type FieldName, type StructLayout } from "./struct-layout.js";
import { ELEMENT_KINDS, type ElementKind, type ElementKindInfo, type ElementView, type ValueOf } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";
import { StaleHandleError, indexError, isCount, unknownFieldError } from "./errors.js";
import { grownCapacity } from "./growth.js";

/** Bits in a handle: 30, so every handle is a small integer (a V8 Smi even with pointer compression) and never allocates. */
export const HANDLE_BITS = 30;
/** Default index bits: 20 index + 10 generation = 30. */
export const DEFAULT_INDEX_BITS = 20;

/** Options of {@link HandlePool}. */
export interface HandlePoolOptions extends ContainerOptions {
  /** Records to make room for up front. @defaultValue 0 (8 on first create) */
  capacity?: number;
  /**
   * Bits of a handle that hold the slot index (8..22); the other
   * `30 - indexBits` hold the generation. More index bits: more records;
   * more generation bits: more reuses of one slot before a generation repeats.
   * @defaultValue 20 (1,048,576 records, 1,023 generations)
   */
  indexBits?: number;
}

/** A record handle: a plain number, `generation << indexBits | index`, never 0. */
export type Handle = number;

/** The null handle: never returned by `create()`. */
export const NULL_HANDLE = 0;

/**
 * A field of a {@link HandlePool} resolved once: reads and writes through a
 * handle, which is checked on every access (stale handles throw).
 */
export interface PoolField<K extends ElementKind = ElementKind> {
  readonly name: string;
  readonly kind: K;
  readonly offset: number;
  /** The field of the record `handle` addresses; StaleHandleError / InvalidPointerError for a bad handle. */
  get(handle: Handle): ValueOf<K>;
  /** Writes the field of the record `handle` addresses. */
  set(handle: Handle, value: ValueOf<K>): void;
}

/** Per-slot metadata: 2 × i32. */
const META_WORDS = 2;
/** The free-list state of a slot whose list link is "none". */
const FREE_END = -1;

/**
 * A slot map: fixed-stride records (a struct layout) addressed by handles
 * that pack a slot index and a generation. Destroying a record bumps its
 * slot's generation, so a handle kept past `destroy` — even after the slot
 * was reused — is detected and throws StaleHandleError instead of reading
 * another record. This is the engine's answer to use-after-free for entities
 * and resources.
 *
 * Handle bit budget (30 bits, default 20 + 10):
 * ```
 *  29           20 19                 0
 * | generation 10 |     index 20       |     handle = generation << 20 | index
 * ```
 * Generations run 1..1023 and wrap to 1, so a handle is never 0 (the null
 * handle). A stale handle goes undetected only if its slot was reused a
 * multiple of 1023 times since; slots are reused first-in first-out, which
 * spreads reuse over every free slot. `indexBits` trades record count for
 * generations. A handle from another pool is not recognised as foreign.
 *
 * Memory: one block, reallocated (doubling) as the pool grows:
 * ```
 * ptr ──► | meta[0..cap): state i32, generation i32 | pad to 8 | records[0..cap) × stride |
 *   state > 0: live, equals the slot's handle;  state < 0: free, -(next free slot + 2) (-1: end)
 *   generation: the live record's, or the next one's when free
 * ```
 * `create`, `destroy`, `isAlive` and field access are O(1) and create no JS objects.
 */
export class HandlePool<L extends StructLayout = StructLayout> extends ContainerCore {
  /** The record layout. */
  readonly layout: L;
  /** Bytes per record. */
  readonly stride: number;
  /** Bits of a handle holding the index. */
  readonly indexBits: number;
  /** Most records the pool can hold (2^indexBits). */
  readonly maxRecords: number;
  /** @internal Slot metadata, whole-space Int32Array view. */
  meta: Int32Array;
  /** @internal i32 index of slot 0's state word. */
  metaBase = 0;
  /** @internal Slots ever handed out (the high-water mark); slots at or above it are fresh. */
  used = 0;
  /** @internal `2^indexBits - 1`. */
  readonly indexMask: number;
  private u8: Uint8Array;
  private cap = 0;
  private live = 0;
  private recordsOffset = 0;
  private freeHead = FREE_END;
  private freeTail = FREE_END;
  private readonly maxGeneration: number;
  private readonly fields: PoolFieldHandle[];
  private readonly byName: Record<string, PoolFieldHandle | undefined>;

  constructor(allocator: Allocator, layout: L, options?: HandlePoolOptions) {
    super("HandlePool", allocator, options);
    checkLayout("HandlePool", layout);
    const indexBits: unknown = options?.indexBits === undefined ? DEFAULT_INDEX_BITS : options.indexBits;
    if (typeof indexBits !== "number" || (indexBits | 0) !== indexBits || indexBits < 8 || indexBits > 22) {
      throw new InvalidArgumentError(`${this.label}: option indexBits must be an integer from 8 to 22, received ${describe(indexBits)}.`);
    }
    this.layout = layout;
    this.stride = layout.size;
    this.indexBits = indexBits;
    this.indexMask = 2 ** indexBits - 1;
    this.maxRecords = 2 ** indexBits;
    this.maxGeneration = 2 ** (HANDLE_BITS - indexBits) - 1;
    this.meta = this.views.i32;
    this.u8 = this.views.u8;
    this.byName = Object.create(null) as Record<string, PoolFieldHandle | undefined>;
    this.fields = layout.fields.map((f) => (this.byName[f.name] = createPoolField(f.kind, this, f.name, f.offset, this.views)));
    const capacity: unknown = options?.capacity === undefined ? 0 : options.capacity;
    if (!isCount(capacity, this.maxRecords)) {
      throw new InvalidArgumentError(`${this.label}: option capacity must be an integer from 0 to ${this.maxRecords}, received ${describe(capacity)}.`);
    }
    if (capacity > 0) this.realloc(capacity);
    this.attachViews();
  }

  /** Live records. */
  get size(): number {
    return this.live;
  }

  /** Records that fit before the next growth. */
  get capacity(): number {
    return this.cap;
  }

  /** Creates a zeroed record and returns its handle (never 0). Grows when full; OutOfMemoryError past 2^indexBits records. */
  create(): Handle {
    let index = this.freeHead;
    const meta = this.meta;
    const mb = this.metaBase;
    if (index !== FREE_END) {
      const next = -meta[mb + index * META_WORDS]! - 2;
      this.freeHead = next;
      if (next === FREE_END) this.freeTail = FREE_END;
    } else {
      index = this.used;
      if (index === this.cap) this.grow();
      this.meta[this.metaBase + index * META_WORDS + 1] = 1;
      this.used = index + 1;
    }
    const m = this.metaBase + index * META_WORDS;
    const handle = this.meta[m + 1]! * this.maxRecords + index;
    this.meta[m] = handle;
    const at = this.block + this.recordsOffset + index * this.stride;
    this.u8.fill(0, at, at + this.stride);
    this.live++;
    return handle;
  }

  /** Destroys the record; the handle (and every copy of it) goes stale. StaleHandleError if it already was. */
  destroy(handle: Handle): void {
    const index = this.indexOf(handle);
    const meta = this.meta;
    const m = this.metaBase + index * META_WORDS;
    const generation = meta[m + 1]!;
    meta[m + 1] = generation === this.maxGeneration ? 1 : generation + 1;
    meta[m] = FREE_END;
    // First in, first out: a freed slot waits behind every other free slot.
    if (this.freeTail === FREE_END) this.freeHead = index;
    else meta[this.metaBase + this.freeTail * META_WORDS] = -index - 2;
    this.freeTail = index;
    this.live--;
  }

  /** True when `handle` addresses a live record of this pool. Never throws (false for anything that is not a live handle). */
  isAlive(handle: Handle): boolean {
    // A non-number gets index `used`, which fails the range test before `>` could throw on a Symbol.
    const index = typeof handle === "number" ? handle & this.indexMask : this.used;
    return index < this.used && handle > 0 && this.meta[this.metaBase + index * META_WORDS] === handle;
  }

  /** The slot index of a live handle (for parallel arrays); throws like field access for a bad handle. */
  indexOf(handle: Handle): number {
    const index = typeof handle === "number" ? handle & this.indexMask : this.used;
    if (!(index < this.used && handle > 0 && this.meta[this.metaBase + index * META_WORDS] === handle)) this.throwHandle(handle);
    return index;
  }

  /**
   * The handle of the live record in slot `index`, or 0 (NULL_HANDLE) when the
   * slot is free or was never used. RangeError for a negative or fractional
   * index, InvalidArgumentError for one that is not a number.
   */
  handleAt(index: number): Handle {
    if (this.isDisposed) this.throwDisposed();
    if (typeof index !== "number" || index >>> 0 !== index) throw indexError(this.label, index, this.used);
    if (index >= this.used) return NULL_HANDLE;
    const state = this.meta[this.metaBase + index * META_WORDS]!;
    return state > 0 ? state : NULL_HANDLE;
  }

  /** Byte address of the record (valid until the pool grows). */
  recordPtr(handle: Handle): number {
    return this.block + this.recordsOffset + this.indexOf(handle) * this.stride;
  }

  /** The handle of field `name`, resolved once (the fast path); InvalidArgumentError for an unknown name. */
  field<N extends FieldName<L>>(name: N): PoolField<FieldKind<L, N>> {
    const f = this.byName[name];
    if (f === undefined) throw unknownFieldError(this.label, name, this.layout.fieldNames);
    return f as unknown as PoolField<FieldKind<L, N>>;
  }

  /** Field `name` of the record `handle` addresses (looks the name up: prefer `field()` in loops). */
  get<N extends FieldName<L>>(handle: Handle, name: N): ValueOf<FieldKind<L, N>> {
    const f = this.byName[name];
    if (f === undefined) throw unknownFieldError(this.label, name, this.layout.fieldNames);
    return f.get(handle) as ValueOf<FieldKind<L, N>>;
  }

  /** Writes field `name` of the record `handle` addresses. */
  set<N extends FieldName<L>>(handle: Handle, name: N, value: ValueOf<FieldKind<L, N>>): void {
    const f = this.byName[name];
    if (f === undefined) throw unknownFieldError(this.label, name, this.layout.fieldNames);
    f.set(handle, value as number);
  }

  /** Calls `callback(handle, index)` for every live record, in slot order. Destroying the current record in the callback is fine. */
  forEach(callback: (handle: Handle, index: number) => void): void {
    this.checkCallback("forEach", callback);
    for (let i = 0; i < this.used; i++) {
      const state = this.meta[this.metaBase + i * META_WORDS]!;
      if (state > 0) callback(state, i);
    }
  }

  /** Destroys every record: every outstanding handle goes stale. O(slots used). */
  clear(): void {
    if (this.isDisposed) this.throwDisposed();
    for (let i = 0; i < this.used; i++) {
      const state = this.meta[this.metaBase + i * META_WORDS]!;
      if (state > 0) this.destroy(state);
    }
  }

  /** @internal */
  refreshViews(views: SpaceViews): void {
    this.meta = views.i32;
    this.u8 = views.u8;
    const records = this.block + this.recordsOffset;
    for (const f of this.fields) {
      const shift = ELEMENT_KINDS[f.kind].shift;
      f.place(views, (records + f.offset) >>> shift, this.stride >>> shift);
    }
  }

  /** @internal Throws the right error for a handle that failed the live check. Cold. */
  throwHandle(handle: unknown): never {
    if (this.isDisposed) this.throwDisposed();
    if (typeof handle !== "number" || (handle | 0) !== handle || handle < 0 || handle >= 2 ** HANDLE_BITS) {
      throw new InvalidPointerError(`${this.label}: ${describe(handle)} is not a handle (expected an integer from 1 to 2^${HANDLE_BITS} - 1).`);
    }
    if (handle === NULL_HANDLE) throw new InvalidPointerError(`${this.label}: the null handle (0) addresses no record.`);
    const index = handle & this.indexMask;
    const generation = Math.floor(handle / this.maxRecords);
    const shown = `${hex(handle)} (index ${index}, generation ${generation})`;
    if (index >= this.used) {
      throw new InvalidPointerError(`${this.label}: handle ${shown} was never handed out: only ${formatCount(this.used)} slots have been used. Is it from another pool?`);
    }
    if (generation === 0) throw new InvalidPointerError(`${this.label}: handle ${shown} was never handed out: generation 0 is never issued.`);
    const m = this.metaBase + index * META_WORDS;
    const state = this.meta[m]!;
    const current = this.meta[m + 1]!;
    const why =
      state > 0
        ? `slot ${index} now holds another record (generation ${current}, handle ${hex(state)})`
        : `its record was destroyed (slot ${index} is free; its next generation is ${current})`;
    throw new StaleHandleError(`${this.label}: stale handle ${shown}: ${why}. Drop handles when you destroy their records.`, handle, index, generation, current);
  }

  protected resetState(): void {
    this.cap = 0;
    this.used = 0;
    this.live = 0;
    this.freeHead = FREE_END;
    this.freeTail = FREE_END;
  }

  private grow(): void {
    if (this.isDisposed) this.throwDisposed();
    if (this.cap >= this.maxRecords) {
      throw new OutOfMemoryError(
        `${this.label}: full at ${formatCount(this.maxRecords)} live records (indexBits ${this.indexBits}). Raise indexBits or destroy records.`,
      );
    }
    this.realloc(grownCapacity(this.cap, this.cap + 1, this.maxRecords));
  }

  /** Meta first, then records from an 8-aligned offset; growth reallocates and moves the records up (memmove). */
  private realloc(capacity: number): void {
    const recordsOffset = alignUp(capacity * META_WORDS * 4, CONTAINER_ALIGN);
    const bytes = recordsOffset + capacity * this.stride;
    const old = this.block;
    const ptr = this.resizeBlock(old, bytes);
    if (old !== 0 && recordsOffset !== this.recordsOffset) {
      const from = ptr + this.recordsOffset;
      this.views.u8.copyWithin(ptr + recordsOffset, from, from + this.used * this.stride);
    }
    this.recordsOffset = recordsOffset;
    this.cap = capacity;
    this.metaBase = ptr >>> 2;
    this.setBlock(ptr, bytes);
    this.refreshViews(this.views);
  }
}

interface PoolFieldHandle extends PoolField<"f64"> {
  place(views: SpaceViews, base: number, step: number): void;
}

type PoolFieldClass = new (pool: HandlePool, name: string, offset: number, views: SpaceViews) => PoolFieldHandle;

/** One class per element kind (monomorphic typed access); the handle check is the same inline test as `isAlive`. */
function definePoolField(info: ElementKindInfo): PoolFieldClass {
  const bigint = info.bigint; // values: a literal typeof behind a constant flag (a type check in V8)
  return class PoolFieldImpl implements PoolFieldHandle {
    readonly kind = info.kind as "f64";
    private data: ElementView;
    private base = 0;
    private step = 1;

    constructor(
      private readonly pool: HandlePool,
      readonly name: string,
      readonly offset: number,
      views: SpaceViews,
    ) {
      this.data = views.view(info.kind) as unknown as ElementView;
    }

    get(handle: Handle): number {
      const p = this.pool;
      const index = typeof handle === "number" ? handle & p.indexMask : p.used;
      if (!(index < p.used && handle > 0 && p.meta[p.metaBase + index * META_WORDS] === handle)) p.throwHandle(handle);
      return this.data[this.base + index * this.step]!;
    }

    set(handle: Handle, value: number): void {
      const p = this.pool;
      const index = typeof handle === "number" ? handle & p.indexMask : p.used;
      if (!(index < p.used && handle > 0 && p.meta[p.metaBase + index * META_WORDS] === handle)) p.throwHandle(handle);
      if (bigint ? typeof (value as unknown) !== "bigint" : typeof value !== "number") p.throwValue(info, value);
      this.data[this.base + index * this.step] = value;
    }

    place(views: SpaceViews, base: number, step: number): void {
      this.data = views.view(info.kind) as unknown as ElementView;
      this.base = base;
      this.step = step;
    }
  };
}

const poolFieldClasses: Partial<Record<ElementKind, PoolFieldClass>> = {};

function createPoolField(kind: ElementKind, pool: HandlePool, name: string, offset: number, views: SpaceViews): PoolFieldHandle {
  let cls = poolFieldClasses[kind];
  if (cls === undefined) cls = poolFieldClasses[kind] = definePoolField(ELEMENT_KINDS[kind]);
  return new cls(pool, name, offset, views);
}
