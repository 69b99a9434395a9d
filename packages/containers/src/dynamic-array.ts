import { CorruptionError, InvalidArgumentError, MAX_SIZE, describe, hex } from "@memkit/core";
import type { Allocator, ControlLayout, Ptr } from "@memkit/core";
import { ELEMENT_KINDS, elementKind, kindCode, kindOfCode, type ElementKind, type ElementKindInfo, type ElementView, type TypedArrayOf, type ValueOf } from "./element-kind.js";
import { ContainerCore, type ContainerOptions } from "./container-core.js";
import { createRangeSorter } from "./sort.js";
import type { SpaceViews } from "@memkit/core";
import { checkAllocator, countError, indexError, isCount } from "./errors.js";
import { grownCapacity } from "./growth.js";
import { ContainerDescriptor, W_KIND_WORDS, descriptorLayout, type RestoreOptions } from "./descriptor.js";

/*
 * DynamicArray descriptor (persist()): the common words (descriptor.ts), then
 *   +8   W_KIND       element kind code (kindCode: 0 u8 … 9 i64)
 *   +9   W_LENGTH     elements in use
 *   +10  W_CAPACITY   elements that fit (capacity × size ≤ the block's usable bytes)
 */
const W_KIND = W_KIND_WORDS;
const W_LENGTH = W_KIND_WORDS + 1;
const W_CAPACITY = W_KIND_WORDS + 2;
/** The DynamicArray descriptor: magic "DARR". */
export const DYNAMIC_ARRAY_LAYOUT: ControlLayout = descriptorLayout("DynamicArray", "DARR", W_CAPACITY);

/** Options of {@link DynamicArray}. */
export interface DynamicArrayOptions extends ContainerOptions {
  /** Elements to reserve up front. `0` allocates nothing until the first push. @defaultValue 0 */
  capacity?: number;
}

/** Options of `DynamicArray.restore`. */
export interface DynamicArrayRestoreOptions<K extends ElementKind> extends RestoreOptions {
  /** The element kind expected (the descriptor records one): another kind is a CorruptionError. @defaultValue any */
  kind?: K;
}

/**
 * A growable array of one element kind whose elements live in the address
 * space, in one block from the allocator it was created with.
 *
 * ```
 * ptr ──► | e0 | e1 | ... | e[length-1] | (spare up to capacity) |
 * ```
 *
 * Growth: when full, capacity becomes `max(needed, 2 × capacity, 8)` through
 * `allocator.reallocate` (so the block may move); if the allocator's usable
 * size is larger, the extra whole elements become capacity too.
 *
 * Values follow typed-array semantics: writing 300 into a u8 array stores 44,
 * NaN into an integer array stores 0, 1.7 into i32 stores 1, and f32 rounds.
 * u64/i64 arrays take and return bigint (every read allocates a BigInt). A
 * value of the wrong JS type (a string, undefined, a bigint for a number kind)
 * is an InvalidArgumentError, not a silent 0.
 *
 * `push`, `pop`, `get`, `set` and `forEach` create no JS objects. Each element
 * kind has its own class behind this constructor so these paths stay
 * monomorphic however many kinds a program uses.
 */
export interface DynamicArray<K extends ElementKind = ElementKind> {
  /** The allocator the block comes from and is freed through. */
  readonly allocator: Allocator;
  /** The name given at construction. */
  readonly name: string;
  /** The element kind. */
  readonly kind: K;
  /** Bytes per element. */
  readonly elementSize: number;
  /** Elements in use. */
  readonly length: number;
  /** Elements that fit before the next growth. */
  readonly capacity: number;
  /** First element's byte address (0 when no block). Valid until the next growth. */
  readonly ptr: number;
  /** Bytes held from the allocator. */
  readonly byteLength: number;
  /** True after dispose(). */
  readonly disposed: boolean;
  /** How messages name this array. */
  readonly label: string;

  /** Appends `value`, growing when full; returns the new length. */
  push(value: ValueOf<K>): number;
  /** Removes and returns the last element; RangeError when empty. */
  pop(): ValueOf<K>;
  /** The element at `index`; RangeError (with index and length) outside `[0, length)`, InvalidArgumentError when not a number. */
  get(index: number): ValueOf<K>;
  /** Writes the element at `index`; RangeError outside `[0, length)`; InvalidArgumentError for a value that is not a number (a bigint for u64/i64). */
  set(index: number, value: ValueOf<K>): void;
  /** Ensures room for `capacity` elements without further growth. */
  reserve(capacity: number): void;
  /** Sets the length; new elements are zero. */
  resize(length: number): void;
  /** Length 0; keeps the block. */
  clear(): void;
  /** Shrinks the block to the length (frees it at length 0). */
  shrinkToFit(): void;
  /** Removes `index` in O(1) by moving the last element into it; returns the removed value. */
  swapRemove(index: number): ValueOf<K>;
  /** Inserts at `index` (0..length), shifting the tail up: O(length - index). */
  insert(index: number, value: ValueOf<K>): void;
  /** Removes `index`, shifting the tail down: O(length - index); returns the removed value. */
  removeAt(index: number): ValueOf<K>;
  /** Writes `value` into `[start, end)` (default: the whole array). */
  fill(value: ValueOf<K>, start?: number, end?: number): void;
  /** First index of `value` at or after `fromIndex` (an index from 0 to length), or -1 (`===`, so NaN is never found). */
  indexOf(value: ValueOf<K>, fromIndex?: number): number;
  /** Sorts ascending in place (introsort on the memory itself; NaN last). */
  sort(): void;
  /** Calls `callback(value, index)` for each element, without allocating. Stops at the current length if the callback shrinks the array. */
  forEach(callback: (value: ValueOf<K>, index: number) => void): void;
  /**
   * A typed array of the kind (`Float32Array` for f32) over `[0, length)` of
   * the live memory (allocates the view object). Valid until this array grows or moves (push past capacity,
   * reserve, resize, insert, shrinkToFit, dispose) and, on a non-shared
   * memory, until the address space grows — which any allocation anywhere may
   * cause. Use it at once; never keep it.
   */
  view(): TypedArrayOf<K>;
  /** A plain JS copy, for debugging and tests. */
  toArray(): ValueOf<K>[];
  /** The descriptor {@link persist} wrote, or 0 before the first persist(). */
  readonly descriptorPtr: Ptr;
  /**
   * Writes the array's descriptor (length, capacity, block, kind, name) into
   * memory from its allocator and returns its address, for
   * `DynamicArray.restore`. A snapshot: call it again after changing the
   * array, right before saving the memory.
   */
  persist(): Ptr;
  /** Verifies length ≤ capacity and that the block is live and large enough; CorruptionError otherwise. */
  check(): void;
  /** Frees the block (and the descriptor) through the allocator; afterwards every call throws. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** `new DynamicArray(allocator, kind, options?)` and `DynamicArray.restore(allocator, descriptorPtr, options?)`. */
export interface DynamicArrayConstructor {
  new <K extends ElementKind>(allocator: Allocator, kind: K, options?: DynamicArrayOptions): DynamicArray<K>;
  /**
   * A handle on the array whose descriptor ({@link DynamicArray.persist}) is
   * at `descriptorPtr`, allocating and freeing through `allocator` (the one
   * it was created with, or a handle attached to it, in this memory or a
   * restored copy). Same contents, capacity and name. A handle this thread
   * still holds on that array ends (one live handle per container). A
   * damaged or wrong descriptor is a CorruptionError naming what was found.
   */
  restore<K extends ElementKind = ElementKind>(allocator: Allocator, descriptorPtr: Ptr, options?: DynamicArrayRestoreOptions<K>): DynamicArray<K>;
  readonly prototype: DynamicArray;
}

/** The largest element count any array accepts (its byte size must stay below 2^32). */
function maxElements(info: ElementKindInfo): number {
  return Math.floor(MAX_SIZE / info.size);
}

type ImplClass = new (allocator: Allocator, options: DynamicArrayOptions | ContainerDescriptor | undefined) => ContainerCore;

/**
 * Builds the class for one element kind. Every method body below is compiled
 * once per kind, so each kind's `this.data[...]` sites see one typed-array
 * class only.
 */
function defineDynamicArray(info: ElementKindInfo): ImplClass {
  const sortRange = createRangeSorter();
  const type = `DynamicArray<${info.kind}>`;
  const max = maxElements(info);
  // Values must be of the kind's JS type. The check is `typeof v === "<literal>"`
  // behind a constant flag: V8 compiles it to a type check, no string compare.
  const bigint = info.bigint;

  return class DynamicArrayImpl extends ContainerCore implements DynamicArray<"f64"> {
    readonly kind = info.kind as "f64";
    readonly elementSize: number = info.size;
    /** Whole-space view of this kind (refreshed after growth). */
    private data: ElementView = this.views.view(info.kind) as unknown as ElementView;
    /** Element index of element 0: `ptr >> shift`. */
    private base = 0;
    private len = 0;
    private cap = 0;

    constructor(allocator: Allocator, options: DynamicArrayOptions | ContainerDescriptor | undefined) {
      super(type, allocator, options);
      if (options instanceof ContainerDescriptor) {
        this.restoreFrom(options, () => {
          this.cap = options.word(W_CAPACITY, 0, max, "capacity");
          this.len = options.word(W_LENGTH, 0, this.cap, "length");
          this.base = this.block >>> info.shift;
        });
      } else {
        const capacity: unknown = options?.capacity === undefined ? 0 : options.capacity;
        if (!isCount(capacity, max)) throw countError(type, "option capacity", capacity, max);
        if (capacity > 0) this.realloc(capacity);
      }
      this.attachViews();
    }

    get length(): number {
      return this.len;
    }

    get capacity(): number {
      return this.cap;
    }

    refreshViews(views: SpaceViews): void {
      this.data = views.view(info.kind) as unknown as ElementView;
    }

    protected override rebase(): void {
      this.base = this.block >>> info.shift;
    }

    check(): void {
      if (this.isDisposed) return;
      if (this.len > this.cap || this.cap > max || (this.block === 0) !== (this.cap === 0) || this.base !== this.block >>> info.shift) {
        throw new CorruptionError(`${this.label}: length ${this.len}, capacity ${this.cap} and block ${this.block} do not fit together.`);
      }
      this.checkBlock(this.cap * info.size);
    }

    protected descriptorLayout(): ControlLayout {
      return DYNAMIC_ARRAY_LAYOUT;
    }

    protected writeDescriptorWords(u32: Uint32Array, w: number): void {
      u32[w + W_KIND] = kindCode(info.kind);
      u32[w + W_LENGTH] = this.len;
      u32[w + W_CAPACITY] = this.cap;
    }

    protected resetState(): void {
      this.len = 0;
      this.cap = 0;
      this.base = 0;
    }

    push(value: number): number {
      if (bigint ? typeof (value as unknown) !== "bigint" : typeof value !== "number") this.throwValue(info, value);
      const n = this.len;
      if (n === this.cap) this.grow(n + 1);
      this.data[this.base + n] = value;
      this.len = n + 1;
      return n + 1;
    }

    pop(): number {
      const n = this.len - 1;
      if (n < 0) this.throwEmpty();
      this.len = n;
      return this.data[this.base + n]!;
    }

    get(index: number): number {
      if (typeof index !== "number" || index >>> 0 !== index || index >= this.len) this.throwIndex(index, this.len);
      return this.data[this.base + index]!;
    }

    set(index: number, value: number): void {
      if (typeof index !== "number" || index >>> 0 !== index || index >= this.len) this.throwIndex(index, this.len);
      if (bigint ? typeof (value as unknown) !== "bigint" : typeof value !== "number") this.throwValue(info, value);
      this.data[this.base + index] = value;
    }

    reserve(capacity: number): void {
      if (this.isDisposed) this.throwDisposed();
      if (!isCount(capacity, max)) throw countError(this.label, "reserve: capacity", capacity, max);
      if (capacity > this.cap) this.realloc(capacity);
    }

    resize(length: number): void {
      if (this.isDisposed) this.throwDisposed();
      if (!isCount(length, max)) throw countError(this.label, "resize: length", length, max);
      if (length > this.cap) this.realloc(length);
      const n = this.len;
      if (length > n) this.data.fill(info.zero as number, this.base + n, this.base + length);
      this.len = length;
    }

    clear(): void {
      if (this.isDisposed) this.throwDisposed();
      this.len = 0;
    }

    shrinkToFit(): void {
      if (this.isDisposed) this.throwDisposed();
      if (this.len === this.cap) return;
      if (this.len === 0) {
        const ptr = this.block;
        this.allocator.deallocate(ptr);
        this.setBlock(0, 0);
        this.cap = 0;
        this.base = 0;
        this.blockMoved();
        return;
      }
      this.realloc(this.len, true);
    }

    swapRemove(index: number): number {
      const n = this.len - 1;
      if (typeof index !== "number" || index >>> 0 !== index || index > n) this.throwIndex(index, this.len);
      const d = this.data;
      const b = this.base;
      const value = d[b + index]!;
      d[b + index] = d[b + n]!;
      this.len = n;
      return value;
    }

    insert(index: number, value: number): void {
      const n = this.len;
      if (typeof index !== "number" || index >>> 0 !== index || index > n) this.throwIndex(index, n + 1);
      if (bigint ? typeof (value as unknown) !== "bigint" : typeof value !== "number") this.throwValue(info, value);
      if (n === this.cap) this.grow(n + 1);
      const b = this.base;
      if (index < n) this.data.copyWithin(b + index + 1, b + index, b + n);
      this.data[b + index] = value;
      this.len = n + 1;
    }

    removeAt(index: number): number {
      const n = this.len;
      if (typeof index !== "number" || index >>> 0 !== index || index >= n) this.throwIndex(index, n);
      const b = this.base;
      const value = this.data[b + index]!;
      this.data.copyWithin(b + index, b + index + 1, b + n);
      this.len = n - 1;
      return value;
    }

    fill(value: number, start = 0, end: number = this.len): void {
      if (this.isDisposed) this.throwDisposed();
      if (bigint ? typeof (value as unknown) !== "bigint" : typeof value !== "number") this.throwValue(info, value);
      if (typeof start !== "number" || start >>> 0 !== start || start > this.len) this.throwIndex(start, this.len + 1);
      if (typeof end !== "number" || end >>> 0 !== end || end > this.len) this.throwIndex(end, this.len + 1);
      if (end > start) this.data.fill(value, this.base + start, this.base + end);
    }

    indexOf(value: number, fromIndex = 0): number {
      if (this.isDisposed) this.throwDisposed();
      if (bigint ? typeof (value as unknown) !== "bigint" : typeof value !== "number") this.throwValue(info, value);
      if (typeof fromIndex !== "number" || fromIndex >>> 0 !== fromIndex || fromIndex > this.len) this.throwIndex(fromIndex, this.len + 1);
      const d = this.data;
      const b = this.base;
      for (let i = fromIndex; i < this.len; i++) if (d[b + i] === value) return i;
      return -1;
    }

    sort(): void {
      if (this.isDisposed) this.throwDisposed();
      sortRange(this.data, this.base, this.base + this.len, info.float);
    }

    forEach(callback: (value: number, index: number) => void): void {
      this.checkCallback("forEach", callback);
      const n = this.len;
      // Re-read data/base each step: the callback may push and move the block.
      for (let i = 0; i < n && i < this.len; i++) callback(this.data[this.base + i]!, i);
    }

    view(): Float64Array {
      if (this.isDisposed) this.throwDisposed();
      // This kind's view: the public type (TypedArrayOf<K>) says which one.
      return this.data.subarray(this.base, this.base + this.len) as Float64Array;
    }

    toArray(): number[] {
      if (this.isDisposed) this.throwDisposed();
      const out: number[] = [];
      for (let i = 0; i < this.len; i++) out.push(this.data[this.base + i]!);
      return out;
    }

    /** Grows to hold at least `needed` elements: geometric, so pushes are amortised O(1). */
    private grow(needed: number): void {
      if (this.isDisposed) this.throwDisposed();
      if (needed > max) throw countError(this.label, "length", needed, max);
      this.realloc(grownCapacity(this.cap, needed, max));
    }

    /**
     * Moves the elements to a block of `capacity` elements. If the allocator
     * throws, nothing changed. The space may have grown meanwhile: the
     * SpaceViews listener has already refreshed `data` by the time we return.
     */
    private realloc(capacity: number, exact = false): void {
      const bytes = capacity * info.size;
      const old = this.block;
      const ptr = this.resizeBlock(old, bytes);
      this.setBlock(ptr, bytes);
      this.base = ptr >>> info.shift;
      // Whole elements of slack the allocator handed out are ours to use.
      this.cap = exact ? capacity : Math.min(max, Math.max(capacity, Math.floor(this.allocator.allocatedSize(ptr) / info.size)));
      this.blockMoved();
    }

    private throwIndex(index: unknown, length: number): never {
      if (this.isDisposed) this.throwDisposed();
      throw indexError(this.label, index, length);
    }

    private throwEmpty(): never {
      if (this.isDisposed) this.throwDisposed();
      throw new RangeError(`${this.label}: pop() on an empty array.`);
    }
  };
}

const impls: Partial<Record<ElementKind, ImplClass>> = {};

function implFor(kind: ElementKind): ImplClass {
  let impl = impls[kind];
  if (impl === undefined) {
    impl = defineDynamicArray(ELEMENT_KINDS[kind]);
    // Chain through DynamicArray.prototype so `instanceof DynamicArray` holds for every kind.
    Object.setPrototypeOf(impl.prototype, DynamicArray.prototype);
    impls[kind] = impl;
  }
  return impl;
}

/**
 * Creates a growable array of `kind` elements in memory from `allocator`.
 *
 * ```ts
 * const ids = new DynamicArray(allocator, "u32", { name: "visible", capacity: 256 });
 * ids.push(7);
 * for (let i = 0; i < ids.length; i++) use(ids.get(i));
 * ids.dispose();
 * ```
 */
export const DynamicArray = function DynamicArray(this: unknown, allocator: Allocator, kind: ElementKind, options?: DynamicArrayOptions): object {
  if (new.target === undefined) throw new TypeError("Class constructor DynamicArray cannot be invoked without 'new'");
  const info = elementKind("DynamicArray", kind);
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new InvalidArgumentError(`DynamicArray: options must be an object, received ${describe(options)}.`);
  }
  return new (implFor(info.kind))(allocator, options);
} as unknown as DynamicArrayConstructor;

Object.setPrototypeOf(DynamicArray.prototype, ContainerCore.prototype);

DynamicArray.restore = function restore<K extends ElementKind>(allocator: Allocator, descriptorPtr: Ptr, options?: DynamicArrayRestoreOptions<K>): DynamicArray<K> {
  const who = "DynamicArray.restore";
  checkAllocator(who, allocator);
  const expected = options?.kind === undefined ? undefined : elementKind(who, options.kind).kind;
  const d = ContainerDescriptor.open(who, allocator, descriptorPtr, DYNAMIC_ARRAY_LAYOUT, options);
  const kind = kindOfCode(d.word(W_KIND, 0, 9, "element kind"))!;
  if (expected !== undefined && kind !== expected) {
    throw new CorruptionError(`${who}: the descriptor at ${hex(descriptorPtr)} ("${d.name}") is a DynamicArray<${kind}>, not a DynamicArray<${expected}>.`);
  }
  return new (implFor(kind))(allocator, d) as unknown as DynamicArray<K>;
};
