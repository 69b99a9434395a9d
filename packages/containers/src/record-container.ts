import { CorruptionError, MAX_SIZE, hex } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { ContainerCore, type ContainerOptions } from "./container-core.js";
import { checkLayout, type FieldKind, type FieldName, type StructLayout } from "./struct-layout.js";
import { createField, type FieldHandle, type FieldOwner, type StructField } from "./struct-field.js";
import type { ValueOf } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";
import { countError, indexError, isCount, unknownFieldError } from "./errors.js";
import { grownCapacity } from "./growth.js";
import { ContainerDescriptor, W_AFTER_LAYOUT, checkLayoutWords, writeLayoutWords } from "./descriptor.js";

/*
 * StructArray / StructOfArrays descriptor (persist()): the common words and
 * the layout words (descriptor.ts), then
 *   +11  W_LENGTH    records in use
 *   +12  W_CAPACITY  records that fit
 */
const W_LENGTH = W_AFTER_LAYOUT;
/** The last word of a record container's descriptor. */
export const W_CAPACITY = W_AFTER_LAYOUT + 1;

/** Options of {@link StructArray} and {@link StructOfArrays}. */
export interface StructArrayOptions extends ContainerOptions {
  /** Records to reserve up front. `0` allocates nothing until the first push. @defaultValue 0 */
  capacity?: number;
}

/** A record as a plain object (debugging only: `toArray()`). */
export type RecordOf<L extends StructLayout> = { [N in FieldName<L>]: ValueOf<FieldKind<L, N>> };

/**
 * What {@link StructArray} (records side by side) and {@link StructOfArrays}
 * (one column per field) share: length and capacity, growth, field handles
 * and name lookup. Subclasses say where record `i`'s bytes are.
 */
export abstract class RecordContainer<L extends StructLayout> extends ContainerCore implements FieldOwner {
  /** The record layout. */
  readonly layout: L;
  protected len = 0;
  protected cap = 0;
  protected u8: Uint8Array;
  protected readonly maxRecords: number;
  protected readonly handles: FieldHandle[];
  private readonly byName: Record<string, FieldHandle | undefined>;

  protected constructor(type: string, allocator: Allocator, layout: L, options: StructArrayOptions | ContainerDescriptor | undefined) {
    super(type, allocator, options);
    checkLayout(type, layout);
    this.layout = layout;
    this.maxRecords = Math.floor(MAX_SIZE / layout.size);
    this.u8 = this.views.u8;
    this.byName = Object.create(null) as Record<string, FieldHandle | undefined>;
    this.handles = layout.fields.map((f) => (this.byName[f.name] = createField(f.kind, this, f.name, f.offset, this.views)));
  }

  /**
   * Reserves the initial capacity (or restores the container a descriptor
   * describes) and starts view refreshes; subclasses call it last in their
   * constructor.
   */
  protected finishConstruction(options: StructArrayOptions | ContainerDescriptor | undefined): void {
    if (options instanceof ContainerDescriptor) {
      this.restoreFrom(options, () => {
        checkLayoutWords(options, this.layout);
        this.cap = options.word(W_CAPACITY, 0, this.maxRecords, "capacity");
        this.len = options.word(W_LENGTH, 0, this.cap, "length");
        this.placeColumns(this.cap);
      });
    } else {
      const capacity: unknown = options?.capacity === undefined ? 0 : options.capacity;
      if (!isCount(capacity, this.maxRecords)) throw countError(this.label, "option capacity", capacity, this.maxRecords);
      if (capacity > 0) this.realloc(capacity, true);
    }
    this.attachViews();
  }

  /**
   * Verifies length ≤ capacity and that the block is live and holds the
   * capacity; CorruptionError otherwise.
   */
  check(): void {
    if (this.isDisposed) return;
    if (this.len > this.cap || this.cap > this.maxRecords || (this.block === 0) !== (this.cap === 0)) {
      throw new CorruptionError(`${this.label}: length ${this.len}, capacity ${this.cap} and block ${hex(this.block)} do not fit together.`);
    }
    this.checkBlock(this.bytesFor(this.cap));
  }

  protected writeDescriptorWords(u32: Uint32Array, w: number): void {
    writeLayoutWords(u32, w, this.layout);
    u32[w + W_LENGTH] = this.len;
    u32[w + W_CAPACITY] = this.cap;
  }

  /** Records in use. */
  get length(): number {
    return this.len;
  }

  /** Records that fit before the next growth. */
  get capacity(): number {
    return this.cap;
  }

  /** The handle of field `name`, resolved once (the fast path); InvalidArgumentError for an unknown name. */
  field<N extends FieldName<L>>(name: N): StructField<FieldKind<L, N>> {
    const handle = this.byName[name];
    if (handle === undefined) throw unknownFieldError(this.label, name, this.layout.fieldNames);
    return handle as unknown as StructField<FieldKind<L, N>>;
  }

  /** Field `name` of record `index` (looks the name up: prefer `field()` in loops). RangeError for the index, InvalidArgumentError for the name. */
  get<N extends FieldName<L>>(index: number, name: N): ValueOf<FieldKind<L, N>> {
    const handle = this.byName[name];
    if (handle === undefined) throw unknownFieldError(this.label, name, this.layout.fieldNames);
    return handle.get(index) as ValueOf<FieldKind<L, N>>;
  }

  /** Writes field `name` of record `index` (typed-array conversion rules). */
  set<N extends FieldName<L>>(index: number, name: N, value: ValueOf<FieldKind<L, N>>): void {
    const handle = this.byName[name];
    if (handle === undefined) throw unknownFieldError(this.label, name, this.layout.fieldNames);
    handle.set(index, value as number);
  }

  /** Appends a zeroed record and returns its index. */
  push(): number {
    const n = this.len;
    if (n === this.cap) this.grow(n + 1);
    this.zeroRecords(n, n + 1);
    this.len = n + 1;
    return n;
  }

  /** Drops the last record; RangeError when empty. */
  pop(): void {
    if (this.len === 0) this.throwIndex(0, 0);
    this.len--;
  }

  /** Removes record `index` in O(1) by moving the last record into it. */
  swapRemove(index: number): void {
    const n = this.len - 1;
    if (typeof index !== "number" || index >>> 0 !== index || index > n) this.throwIndex(index, this.len);
    if (index !== n) this.moveRecords(index, n, 1);
    this.len = n;
  }

  /** Inserts a zeroed record at `index` (0..length), shifting the tail up: O(length - index). */
  insert(index: number): void {
    const n = this.len;
    if (typeof index !== "number" || index >>> 0 !== index || index > n) this.throwIndex(index, n + 1);
    if (n === this.cap) this.grow(n + 1);
    this.moveRecords(index + 1, index, n - index);
    this.zeroRecords(index, index + 1);
    this.len = n + 1;
  }

  /** Removes record `index`, shifting the tail down: O(length - index). */
  removeAt(index: number): void {
    const n = this.len;
    if (typeof index !== "number" || index >>> 0 !== index || index >= n) this.throwIndex(index, n);
    this.moveRecords(index, index + 1, n - index - 1);
    this.len = n - 1;
  }

  /** Ensures room for `capacity` records. */
  reserve(capacity: number): void {
    if (this.isDisposed) this.throwDisposed();
    if (!isCount(capacity, this.maxRecords)) throw countError(this.label, "reserve: capacity", capacity, this.maxRecords);
    if (capacity > this.cap) this.realloc(capacity, true);
  }

  /** Sets the length; new records are zeroed. */
  resize(length: number): void {
    if (this.isDisposed) this.throwDisposed();
    if (!isCount(length, this.maxRecords)) throw countError(this.label, "resize: length", length, this.maxRecords);
    if (length > this.cap) this.realloc(length, true);
    if (length > this.len) this.zeroRecords(this.len, length);
    this.len = length;
  }

  /** Length 0; keeps the block. */
  clear(): void {
    if (this.isDisposed) this.throwDisposed();
    this.len = 0;
  }

  /** Shrinks the block to the length (frees it at length 0). */
  shrinkToFit(): void {
    if (this.isDisposed) this.throwDisposed();
    if (this.len === this.cap) return;
    if (this.len === 0) {
      this.allocator.deallocate(this.block);
      this.setBlock(0, 0);
      this.cap = 0;
      this.placeColumns(0);
      this.refreshViews(this.views);
      this.blockMoved();
      return;
    }
    this.realloc(this.len, true);
  }

  /** Calls `callback(index)` for each record (read fields through handles). Stops early if the callback shrinks the container. */
  forEach(callback: (index: number) => void): void {
    this.checkCallback("forEach", callback);
    const n = this.len;
    for (let i = 0; i < n && i < this.len; i++) callback(i);
  }

  /** Every record as a plain object, for debugging and tests. */
  toArray(): RecordOf<L>[] {
    if (this.isDisposed) this.throwDisposed();
    const out: RecordOf<L>[] = [];
    for (let i = 0; i < this.len; i++) {
      const record: Record<string, number | bigint> = {};
      for (const h of this.handles) record[h.name] = h.get(i);
      out.push(record as RecordOf<L>);
    }
    return out;
  }

  /** @internal Throws the RangeError for `index` (or the after-dispose error). */
  throwIndex(index: unknown, length: number): never {
    if (this.isDisposed) this.throwDisposed();
    throw indexError(this.label, index, length);
  }

  /** @internal */
  abstract override refreshViews(views: SpaceViews): void;

  protected resetState(): void {
    this.len = 0;
    this.cap = 0;
  }

  /** Doubles (at least to `needed`) so pushes are amortised O(1). */
  protected grow(needed: number): void {
    if (this.isDisposed) this.throwDisposed();
    if (needed > this.maxRecords) throw countError(this.label, "length", needed, this.maxRecords);
    this.realloc(grownCapacity(this.cap, needed, this.maxRecords), false);
  }

  /** Bytes of a block holding `capacity` records. */
  protected abstract bytesFor(capacity: number): number;
  /** Where each field's data sits for `capacity` records (StructOfArrays' columns); before views are placed. */
  protected placeColumns(_capacity: number): void {}
  /** Zeroes records `[from, to)`. */
  protected abstract zeroRecords(from: number, to: number): void;
  /** Moves `count` records from index `from` to index `to` (ranges may overlap). */
  protected abstract moveRecords(to: number, from: number, count: number): void;
  /**
   * Moves the records into a block of `capacity` records (more when the
   * allocator's slack allows and `exact` is false), then re-places the
   * field handles. If the allocator throws, nothing changed.
   */
  protected abstract realloc(capacity: number, exact: boolean): void;
}
