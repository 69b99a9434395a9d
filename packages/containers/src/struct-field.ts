import { ELEMENT_KINDS, type ElementKind, type ElementKindInfo, type ElementView, type ValueOf } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";

/**
 * One field of a {@link StructArray} or {@link StructOfArrays}, resolved once:
 * `get(i)`/`set(i, v)` read and write the field of record `i` with one bounds
 * check and one typed-array access, no name lookup and no object.
 *
 * ```ts
 * const x = bodies.field("x");
 * for (let i = 0; i < bodies.length; i++) x.set(i, x.get(i) + vx.get(i) * dt);
 * ```
 * A handle belongs to its container and stays valid across growth; it
 * throws after the container is disposed.
 */
export interface StructField<K extends ElementKind = ElementKind> {
  /** The field's name. */
  readonly name: string;
  /** The field's element kind. */
  readonly kind: K;
  /** Byte offset inside a record (AoS) or 0 (SoA column). */
  readonly offset: number;
  /** The field of record `index`; RangeError outside `[0, length)`. */
  get(index: number): ValueOf<K>;
  /** Writes the field of record `index` (typed-array conversion rules); RangeError outside `[0, length)`. */
  set(index: number, value: ValueOf<K>): void;
}

/** What a field handle needs from its container. @internal */
export interface FieldOwner {
  readonly length: number;
  /** Throws the container's index error (or its after-dispose error). */
  throwIndex(index: unknown, length: number): never;
  /** Throws the container's error for a value of the wrong JS type (or its after-dispose error). */
  throwValue(info: ElementKindInfo, value: unknown): never;
}

/** A field handle plus the hooks its container uses to re-point it. @internal */
export interface FieldHandle extends StructField<"f64"> {
  /** Re-reads the view and the position of record 0's field (`base`, in elements) and the records' step (in elements). */
  place(views: SpaceViews, base: number, step: number): void;
}

type FieldClass = new (owner: FieldOwner, name: string, offset: number, views: SpaceViews) => FieldHandle;

/** One class per element kind, so each kind's `data[...]` site is monomorphic. */
function defineField(info: ElementKindInfo): FieldClass {
  const bigint = info.bigint; // values: a literal typeof behind a constant flag (a type check in V8)
  return class FieldImpl implements FieldHandle {
    readonly kind = info.kind as "f64";
    private data: ElementView;
    private base = 0;
    private step = 1;

    constructor(
      private readonly owner: FieldOwner,
      readonly name: string,
      readonly offset: number,
      views: SpaceViews,
    ) {
      this.data = views.view(info.kind) as unknown as ElementView;
    }

    get(index: number): number {
      const o = this.owner;
      if (typeof index !== "number" || index >>> 0 !== index || index >= o.length) o.throwIndex(index, o.length);
      return this.data[this.base + index * this.step]!;
    }

    set(index: number, value: number): void {
      const o = this.owner;
      if (typeof index !== "number" || index >>> 0 !== index || index >= o.length) o.throwIndex(index, o.length);
      if (bigint ? typeof (value as unknown) !== "bigint" : typeof value !== "number") o.throwValue(info, value);
      this.data[this.base + index * this.step] = value;
    }

    place(views: SpaceViews, base: number, step: number): void {
      this.data = views.view(info.kind) as unknown as ElementView;
      this.base = base;
      this.step = step;
    }
  };
}

const classes: Partial<Record<ElementKind, FieldClass>> = {};

/** A new field handle of `kind` owned by `owner`. Call `place` before use. @internal */
export function createField(kind: ElementKind, owner: FieldOwner, name: string, offset: number, views: SpaceViews): FieldHandle {
  let cls = classes[kind];
  if (cls === undefined) cls = classes[kind] = defineField(ELEMENT_KINDS[kind]);
  return new cls(owner, name, offset, views);
}
