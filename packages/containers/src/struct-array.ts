import type { Allocator, ControlLayout, Ptr } from "@memkit/core";
import { RecordContainer, W_CAPACITY, type StructArrayOptions } from "./record-container.js";
import { checkLayout, type StructLayout } from "./struct-layout.js";
import { ELEMENT_KINDS } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";
import { ContainerDescriptor, descriptorLayout, type RestoreOptions } from "./descriptor.js";
import { checkAllocator } from "./errors.js";

/** The StructArray descriptor (words in record-container.ts): magic "SARR". */
export const STRUCT_ARRAY_LAYOUT: ControlLayout = descriptorLayout("StructArray", "SARR", W_CAPACITY);

/**
 * A growable array of records with a C-like layout (array of structures):
 * one block, records back to back at `stride = sizeOf(layout)` bytes.
 *
 * ```
 * Body = { x: f32, y: f32, hp: u16, flags: u8 }      stride 12
 * ptr ──► | x  y  hp fl . | x  y  hp fl . | ... |     record i at ptr + i * 12
 * ```
 *
 * Why AoS is the primary form: a record is one contiguous, C-compatible
 * struct (a wasm module or a worker reads it with the same offsets), a record
 * moves with one `copyWithin`, and `recordPtr(i)` hands it to code that takes
 * a pointer. {@link StructOfArrays} is the column form, for loops that touch
 * one or two fields of many records.
 *
 * Access: `field(name)` returns a handle resolved once (`x.get(i)`: one bounds
 * check, one typed-array read, monomorphic per kind); `get(i, name)` looks the
 * name up on each call (convenient, slower). Neither creates objects.
 * Growth is the same as DynamicArray: doubling through `reallocate`.
 */
export class StructArray<L extends StructLayout = StructLayout> extends RecordContainer<L> {
  /** Bytes per record (`sizeOf(layout)`). */
  readonly stride: number;

  constructor(allocator: Allocator, layout: L, options?: StructArrayOptions | ContainerDescriptor) {
    super("StructArray", allocator, layout, options);
    this.stride = layout.size;
    this.finishConstruction(options);
  }

  /**
   * A handle on the StructArray whose descriptor ({@link persist}) is at
   * `descriptorPtr`, allocating and freeing through `allocator` (the one it
   * was created with, or a handle attached to it). `layout` must be the one
   * it was created with (same names, kinds and order): another is a
   * CorruptionError, as is a damaged or wrong descriptor. A handle this
   * thread still holds on that container ends (one live handle per container).
   */
  static restore<L extends StructLayout>(allocator: Allocator, descriptorPtr: Ptr, layout: L, options?: RestoreOptions): StructArray<L> {
    const who = "StructArray.restore";
    checkAllocator(who, allocator);
    checkLayout(who, layout);
    return new StructArray(allocator, layout, ContainerDescriptor.open(who, allocator, descriptorPtr, STRUCT_ARRAY_LAYOUT, options));
  }

  /** Byte address of record `index` (valid until the next growth). */
  recordPtr(index: number): number {
    if (typeof index !== "number" || index >>> 0 !== index || index >= this.len) this.throwIndex(index, this.len);
    return this.block + index * this.layout.size;
  }

  /** The records' bytes `[0, length × stride)` (allocates the view; valid until the next growth, as DynamicArray.view). */
  view(): Uint8Array {
    if (this.isDisposed) this.throwDisposed();
    return this.u8.subarray(this.block, this.block + this.len * this.layout.size);
  }

  /** @internal */
  refreshViews(views: SpaceViews): void {
    this.u8 = views.u8;
    const stride = this.layout.size;
    for (const h of this.handles) {
      const shift = ELEMENT_KINDS[h.kind].shift;
      h.place(views, (this.block + h.offset) >>> shift, stride >>> shift);
    }
  }

  protected descriptorLayout(): ControlLayout {
    return STRUCT_ARRAY_LAYOUT;
  }

  protected bytesFor(capacity: number): number {
    return capacity * this.layout.size;
  }

  protected zeroRecords(from: number, to: number): void {
    const s = this.layout.size;
    this.u8.fill(0, this.block + from * s, this.block + to * s);
  }

  protected moveRecords(to: number, from: number, count: number): void {
    const s = this.layout.size;
    const src = this.block + from * s;
    this.u8.copyWithin(this.block + to * s, src, src + count * s);
  }

  protected realloc(capacity: number, exact: boolean): void {
    const stride = this.layout.size;
    const bytes = capacity * stride;
    const old = this.block;
    const ptr = this.resizeBlock(old, bytes);
    this.setBlock(ptr, bytes);
    this.cap = exact ? capacity : Math.min(this.maxRecords, Math.max(capacity, Math.floor(this.allocator.allocatedSize(ptr) / stride)));
    this.refreshViews(this.views);
    this.blockMoved();
  }
}
