import { CorruptionError, InvalidArgumentError, InvalidPointerError, OutOfMemoryError, alignUp, describe, formatCount, hex } from "@memkit/core";
import type { Allocator, ControlLayout, Ptr } from "@memkit/core";
import { CONTAINER_ALIGN, ContainerCore, type ContainerOptions } from "./container-core.js";
import { checkLayout, type FieldKind, type FieldName, type StructLayout } from "./struct-layout.js";
import { ELEMENT_KINDS, type ValueOf } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";
import { StaleHandleError, checkAllocator, indexError, isCount, unknownFieldError } from "./errors.js";
import { grownCapacity } from "./growth.js";
import { META_WORDS, createPoolField, type PoolField, type PoolFieldHandle } from "./pool-field.js";
import { ContainerDescriptor, W_AFTER_LAYOUT, checkLayoutWords, descriptorLayout, writeLayoutWords, type RestoreOptions } from "./descriptor.js";

/*
 * HandlePool descriptor (persist()): the common words and the layout words
 * (descriptor.ts), then
 *   +11  W_INDEX_BITS  bits of a handle holding the slot index (8..22)
 *   +12  W_CAPACITY    slots in the block
 *   +13  W_USED        slots ever handed out
 *   +14  W_LIVE        live records
 *   +15  W_FREE_HEAD   first free slot, i32 (-1: none)
 *   +16  W_FREE_TAIL   last free slot, i32 (-1: none)
 * States, generations and free links are in the block (meta); restore walks
 * them (check()) before handing the pool out.
 */
const W_INDEX_BITS = W_AFTER_LAYOUT;
const W_CAPACITY = W_AFTER_LAYOUT + 1;
const W_USED = W_AFTER_LAYOUT + 2;
const W_LIVE = W_AFTER_LAYOUT + 3;
const W_FREE_HEAD = W_AFTER_LAYOUT + 4;
const W_FREE_TAIL = W_AFTER_LAYOUT + 5;
/** The HandlePool descriptor: magic "HPOL". */
export const HANDLE_POOL_LAYOUT: ControlLayout = descriptorLayout("HandlePool", "HPOL", W_FREE_TAIL);

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
  /** @internal Whole-space Int32Array view (slot metadata lives at `metaBase`). */
  i32: Int32Array;
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

  constructor(allocator: Allocator, layout: L, options?: HandlePoolOptions | ContainerDescriptor) {
    super("HandlePool", allocator, options);
    checkLayout("HandlePool", layout);
    const restoring = options instanceof ContainerDescriptor ? options : undefined;
    const created = options instanceof ContainerDescriptor ? undefined : options;
    const indexBits: unknown =
      restoring !== undefined ? restoring.word(W_INDEX_BITS, 8, 22, "index bits") : created?.indexBits === undefined ? DEFAULT_INDEX_BITS : created.indexBits;
    if (typeof indexBits !== "number" || (indexBits | 0) !== indexBits || indexBits < 8 || indexBits > 22) {
      throw new InvalidArgumentError(`${this.label}: option indexBits must be an integer from 8 to 22, received ${describe(indexBits)}.`);
    }
    this.layout = layout;
    this.stride = layout.size;
    this.indexBits = indexBits;
    this.indexMask = 2 ** indexBits - 1;
    this.maxRecords = 2 ** indexBits;
    this.maxGeneration = 2 ** (HANDLE_BITS - indexBits) - 1;
    this.i32 = this.views.i32;
    this.u8 = this.views.u8;
    this.byName = Object.create(null) as Record<string, PoolFieldHandle | undefined>;
    this.fields = layout.fields.map((f) => (this.byName[f.name] = createPoolField(f.kind, this, f.name, f.offset, this.views)));
    if (restoring !== undefined) {
      this.restoreFrom(restoring, () => {
        checkLayoutWords(restoring, layout);
        this.place(this.block, restoring.word(W_CAPACITY, 0, this.maxRecords, "capacity"));
        this.used = restoring.word(W_USED, 0, this.cap, "slots used");
        this.live = restoring.word(W_LIVE, 0, this.used, "live records");
        this.freeHead = restoring.int(W_FREE_HEAD, FREE_END, this.used - 1, "free-list head");
        this.freeTail = restoring.int(W_FREE_TAIL, FREE_END, this.used - 1, "free-list tail");
      });
    } else {
      const capacity: unknown = created?.capacity === undefined ? 0 : created.capacity;
      if (!isCount(capacity, this.maxRecords)) {
        throw new InvalidArgumentError(`${this.label}: option capacity must be an integer from 0 to ${this.maxRecords}, received ${describe(capacity)}.`);
      }
      if (capacity > 0) this.realloc(capacity);
    }
    this.attachViews();
  }

  /**
   * A handle on the pool whose descriptor ({@link persist}) is at
   * `descriptorPtr`, allocating and freeing through `allocator` (the one it
   * was created with, or a handle attached to it). Same records, handles,
   * generations and free list: handles issued before keep working, stale
   * ones stay stale. `layout` must be the one the pool was created with
   * (another is a CorruptionError, as is a damaged, wrong or stale
   * descriptor). A handle this thread still holds on that pool ends (one
   * live handle per container).
   */
  static restore<L extends StructLayout>(allocator: Allocator, descriptorPtr: Ptr, layout: L, options?: RestoreOptions): HandlePool<L> {
    const who = "HandlePool.restore";
    checkAllocator(who, allocator);
    checkLayout(who, layout);
    return new HandlePool(allocator, layout, ContainerDescriptor.open(who, allocator, descriptorPtr, HANDLE_POOL_LAYOUT, options));
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
    const meta = this.i32;
    const mb = this.metaBase;
    if (index !== FREE_END) {
      const next = -meta[mb + index * META_WORDS]! - 2;
      this.freeHead = next;
      if (next === FREE_END) this.freeTail = FREE_END;
    } else {
      index = this.used;
      if (index === this.cap) this.grow();
      this.i32[this.metaBase + index * META_WORDS + 1] = 1;
      this.used = index + 1;
    }
    const m = this.metaBase + index * META_WORDS;
    const handle = this.i32[m + 1]! * this.maxRecords + index;
    this.i32[m] = handle;
    const at = this.block + this.recordsOffset + index * this.stride;
    this.u8.fill(0, at, at + this.stride);
    this.live++;
    return handle;
  }

  /** Destroys the record; the handle (and every copy of it) goes stale. StaleHandleError if it already was. */
  destroy(handle: Handle): void {
    const index = this.indexOf(handle);
    const meta = this.i32;
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
    return index < this.used && handle > 0 && this.i32[this.metaBase + index * META_WORDS] === handle;
  }

  /** The slot index of a live handle (for parallel arrays); throws like field access for a bad handle. */
  indexOf(handle: Handle): number {
    const index = typeof handle === "number" ? handle & this.indexMask : this.used;
    if (!(index < this.used && handle > 0 && this.i32[this.metaBase + index * META_WORDS] === handle)) this.throwHandle(handle);
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
    const state = this.i32[this.metaBase + index * META_WORDS]!;
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
      const state = this.i32[this.metaBase + i * META_WORDS]!;
      if (state > 0) callback(state, i);
    }
  }

  /** Destroys every record: every outstanding handle goes stale. O(slots used). */
  clear(): void {
    if (this.isDisposed) this.throwDisposed();
    for (let i = 0; i < this.used; i++) {
      const state = this.i32[this.metaBase + i * META_WORDS]!;
      if (state > 0) this.destroy(state);
    }
  }

  /** @internal */
  refreshViews(views: SpaceViews): void {
    this.i32 = views.i32;
    this.u8 = views.u8;
    const records = this.block + this.recordsOffset;
    for (const f of this.fields) {
      const shift = ELEMENT_KINDS[f.kind].shift;
      f.place(views, (records + f.offset) >>> shift, this.stride >>> shift);
    }
  }

  /**
   * Verifies the pool: the block is live and holds the capacity; every used
   * slot's generation is in range and its state is its own handle (live) or
   * a free link inside the used slots; the live count matches; the free list
   * runs from its head to its tail through free slots only, exactly once
   * each. CorruptionError at the first fault. O(slots used).
   */
  check(): void {
    if (this.isDisposed) return;
    const { cap, used, live, freeHead, freeTail } = this;
    if (used > cap || live > used || cap > this.maxRecords || (this.block === 0) !== (cap === 0) || this.metaBase !== this.block >>> 2 ||
      this.recordsOffset !== alignUp(cap * META_WORDS * 4, CONTAINER_ALIGN) || freeHead < FREE_END || freeHead >= used || freeTail < FREE_END || freeTail >= used) {
      throw new CorruptionError(`${this.label}: capacity ${cap}, ${used} slots used, ${live} live, free list ${freeHead}..${freeTail} do not fit together.`);
    }
    this.checkBlock(this.recordsOffset + cap * this.stride);
    const meta = this.i32;
    const mb = this.metaBase;
    let counted = 0;
    for (let i = 0; i < used; i++) {
      const state = meta[mb + i * META_WORDS]!;
      const generation = meta[mb + i * META_WORDS + 1]!;
      if (generation < 1 || generation > this.maxGeneration) throw new CorruptionError(`${this.label}: slot ${i} has generation ${generation}, outside 1..${this.maxGeneration}.`);
      if (state > 0) {
        if (state !== generation * this.maxRecords + i) throw new CorruptionError(`${this.label}: slot ${i} holds handle ${hex(state)}, not its own (generation ${generation}).`);
        counted++;
      } else if (state === 0 || state < -used - 1) {
        throw new CorruptionError(`${this.label}: slot ${i} holds state ${state}: neither a handle nor a free link inside the ${used} used slots.`);
      }
    }
    if (counted !== live) throw new CorruptionError(`${this.label}: ${counted} live records in the slots, but the count says ${live}.`);
    let free = 0;
    let last = FREE_END;
    for (let i = freeHead; i !== FREE_END; free++) {
      const state = meta[mb + i * META_WORDS]!;
      if (free >= used - live || state > 0) throw new CorruptionError(`${this.label}: the free list reaches slot ${i} ${state > 0 ? "(live)" : "again or past the free slots"}.`);
      last = i;
      i = -state - 2;
    }
    if (free !== used - live || last !== freeTail) {
      throw new CorruptionError(`${this.label}: the free list holds ${free} slots ending at ${last}; ${used - live} slots are free, the tail says ${freeTail}.`);
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
    const state = this.i32[m]!;
    const current = this.i32[m + 1]!;
    const why =
      state > 0
        ? `slot ${index} now holds another record (generation ${current}, handle ${hex(state)})`
        : `its record was destroyed (slot ${index} is free; its next generation is ${current})`;
    throw new StaleHandleError(`${this.label}: stale handle ${shown}: ${why}. Drop handles when you destroy their records.`, handle, index, generation, current);
  }

  protected descriptorLayout(): ControlLayout {
    return HANDLE_POOL_LAYOUT;
  }

  protected writeDescriptorWords(u32: Uint32Array, w: number): void {
    writeLayoutWords(u32, w, this.layout);
    u32[w + W_INDEX_BITS] = this.indexBits;
    u32[w + W_CAPACITY] = this.cap;
    u32[w + W_USED] = this.used;
    u32[w + W_LIVE] = this.live;
    u32[w + W_FREE_HEAD] = this.freeHead;
    u32[w + W_FREE_TAIL] = this.freeTail;
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
    this.place(ptr, capacity);
    this.setBlock(ptr, bytes);
    this.refreshViews(this.views);
    this.blockMoved();
  }

  /** Points the pool at `capacity` slots in the block at `ptr`: meta first, records from an 8-aligned offset. */
  private place(ptr: number, capacity: number): void {
    this.recordsOffset = alignUp(capacity * META_WORDS * 4, CONTAINER_ALIGN);
    this.cap = capacity;
    this.metaBase = ptr >>> 2;
  }
}
