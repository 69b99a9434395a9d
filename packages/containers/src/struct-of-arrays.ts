import { alignUp } from "@memkit/core";
import type { Allocator, ControlLayout, Ptr } from "@memkit/core";
import { CONTAINER_ALIGN } from "./container-core.js";
import { RecordContainer, W_CAPACITY, type StructArrayOptions } from "./record-container.js";
import { checkLayout, type FieldKind, type FieldName, type StructLayout } from "./struct-layout.js";
import { ELEMENT_KINDS, type TypedArrayOf } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";
import { checkAllocator, unknownFieldError } from "./errors.js";
import { ContainerDescriptor, descriptorLayout, type RestoreOptions } from "./descriptor.js";

/** The StructOfArrays descriptor (words in record-container.ts): magic "SOAR". Column offsets follow from the capacity. */
export const STRUCT_OF_ARRAYS_LAYOUT: ControlLayout = descriptorLayout("StructOfArrays", "SOAR", W_CAPACITY);

/**
 * The same records as {@link StructArray}, stored one column per field
 * (structure of arrays), all columns in one block:
 *
 * ```
 * capacity c:  ptr ──► | x[0..c) f32 | y[0..c) f32 | hp[0..c) u16 |pad| flags[0..c) u8 |
 *              each column starts on an 8-byte boundary
 * ```
 *
 * Choose it when hot loops read one or two fields of many records (a
 * position update, a visibility pass): those loops stream through dense
 * columns instead of striding over whole records, and `column(name)` hands a
 * column to code that wants a plain typed array. Records are not
 * contiguous, so there is no `recordPtr`; moving a record touches every
 * column.
 *
 * Same API and growth factor as StructArray. Growing reallocates the block
 * and moves columns up from the last to the first (a memmove each); the
 * allocator's slack is not used (column offsets depend on the capacity).
 */
export class StructOfArrays<L extends StructLayout = StructLayout> extends RecordContainer<L> {
  /** Byte offset of each column inside the block, in field order (for the current capacity). */
  private columns: number[];
  private readonly sizes: number[];

  constructor(allocator: Allocator, layout: L, options?: StructArrayOptions | ContainerDescriptor) {
    super("StructOfArrays", allocator, layout, options);
    this.sizes = layout.fields.map((f) => f.size);
    this.columns = layout.fields.map(() => 0);
    this.finishConstruction(options);
  }

  /** As {@link StructArray.restore}, for a StructOfArrays' descriptor. */
  static restore<L extends StructLayout>(allocator: Allocator, descriptorPtr: Ptr, layout: L, options?: RestoreOptions): StructOfArrays<L> {
    const who = "StructOfArrays.restore";
    checkAllocator(who, allocator);
    checkLayout(who, layout);
    return new StructOfArrays(allocator, layout, ContainerDescriptor.open(who, allocator, descriptorPtr, STRUCT_OF_ARRAYS_LAYOUT, options));
  }

  /** Byte address of column `name`'s first element (valid until the next growth). */
  columnPtr(name: FieldName<L>): number {
    if (this.isDisposed) this.throwDisposed();
    return this.block + this.columns[this.fieldIndex(name)]!;
  }

  /**
   * Column `name` as a typed array over `[0, length)`, typed by the field's
   * kind (`Float32Array` for an f32 field). Allocates the view; valid until
   * the next growth of this container or of the address space, as
   * DynamicArray.view.
   */
  column<N extends FieldName<L>>(name: N): TypedArrayOf<FieldKind<L, N>> {
    if (this.isDisposed) this.throwDisposed();
    const index = this.fieldIndex(name);
    const info = ELEMENT_KINDS[this.layout.fields[index]!.kind];
    const start = (this.block + this.columns[index]!) >>> info.shift;
    return this.views.view(info.kind).subarray(start, start + this.len) as TypedArrayOf<FieldKind<L, N>>;
  }

  /** @internal */
  refreshViews(views: SpaceViews): void {
    this.u8 = views.u8;
    for (let c = 0; c < this.handles.length; c++) {
      const h = this.handles[c]!;
      h.place(views, (this.block + this.columns[c]!) >>> ELEMENT_KINDS[h.kind].shift, 1);
    }
  }

  protected descriptorLayout(): ControlLayout {
    return STRUCT_OF_ARRAYS_LAYOUT;
  }

  protected bytesFor(capacity: number): number {
    return columnOffsets(this.sizes, capacity, null);
  }

  protected override placeColumns(capacity: number): void {
    columnOffsets(this.sizes, capacity, this.columns);
  }

  protected zeroRecords(from: number, to: number): void {
    for (let c = 0; c < this.sizes.length; c++) {
      const size = this.sizes[c]!;
      const col = this.block + this.columns[c]!;
      this.u8.fill(0, col + from * size, col + to * size);
    }
  }

  protected moveRecords(to: number, from: number, count: number): void {
    for (let c = 0; c < this.sizes.length; c++) {
      const size = this.sizes[c]!;
      const col = this.block + this.columns[c]!;
      this.u8.copyWithin(col + to * size, col + from * size, col + (from + count) * size);
    }
  }

  protected realloc(capacity: number, _exact: boolean): void {
    const prev = this.columns;
    const sizes = this.sizes;
    const next: number[] = []; // growth only: a small array per reallocation is fine
    const bytes = columnOffsets(sizes, capacity, next);
    const old = this.block;
    const live = this.len;
    let ptr: number;
    if (old === 0) {
      ptr = this.allocateBlock(bytes);
    } else if (capacity >= this.cap) {
      // Grow: the allocator keeps the old bytes; then move columns up, last
      // first, so no column lands on one not yet moved.
      ptr = this.resizeBlock(old, bytes);
      moveColumns(this.views.u8, ptr, prev, next, sizes, live);
    } else {
      // Shrink: move columns down while the old block is whole, then shrink it.
      moveColumns(this.views.u8, old, prev, next, sizes, live);
      try {
        ptr = this.resizeBlock(old, bytes);
      } catch (err) {
        moveColumns(this.views.u8, old, next, prev, sizes, live); // back where the unchanged capacity expects them
        throw err;
      }
    }
    this.columns = next;
    this.setBlock(ptr, bytes);
    this.cap = capacity;
    this.refreshViews(this.views);
    this.blockMoved();
  }

  private fieldIndex(name: string): number {
    if (!this.layout.has(name)) throw unknownFieldError(this.label, name, this.layout.fieldNames);
    return this.layout.field(name).index;
  }
}

/** The bytes of a block of `capacity` records; writes each column's byte offset (8-aligned, in field order) into `offsets`. */
function columnOffsets(sizes: readonly number[], capacity: number, offsets: number[] | null): number {
  let bytes = 0;
  for (let c = 0; c < sizes.length; c++) {
    if (offsets !== null) offsets[c] = bytes;
    bytes += alignUp(capacity * sizes[c]!, CONTAINER_ALIGN);
  }
  return bytes;
}

/** Moves the first `live` elements of each column from offsets `from` to offsets `to` inside the block at `ptr` (memmove order). */
function moveColumns(u8: Uint8Array, ptr: number, from: number[], to: number[], sizes: number[], live: number): void {
  const up = to[to.length - 1]! >= from[from.length - 1]!;
  for (let k = 1; k < sizes.length; k++) {
    const c = up ? sizes.length - k : k; // up: last column first; down: first column first
    u8.copyWithin(ptr + to[c]!, ptr + from[c]!, ptr + from[c]! + live * sizes[c]!);
  }
}
