import { InvalidArgumentError, alignUp, describe, hashWords } from "@memkit/core";
import { ELEMENT_KINDS, isElementKind, kindCode, type ElementKind, type ElementKindInfo } from "./element-kind.js";
import { unknownFieldError } from "./errors.js";

/** A struct description: field name -> element kind, in declaration order. */
export type StructFields = Readonly<Record<string, ElementKind>>;

/** One field of a {@link StructLayout}. */
export interface StructFieldInfo {
  /** The field's name. */
  readonly name: string;
  /** Its element kind. */
  readonly kind: ElementKind;
  /** Byte offset from the start of the record. */
  readonly offset: number;
  /** Bytes (1, 2, 4 or 8). */
  readonly size: number;
  /** Alignment in bytes (equal to the size). */
  readonly align: number;
  /** Position in declaration order. */
  readonly index: number;
}

/**
 * A C-like record layout. Fields keep declaration order; each sits at the
 * next offset that is a multiple of its alignment; the record's alignment is
 * its largest field alignment and its size is rounded up to that alignment,
 * so records packed back to back keep every field aligned — exactly what a C
 * compiler does for `struct { float x, y; uint16_t hp; uint8_t flags; }`:
 *
 * ```
 * offset  0      4      8    10  11 12
 *         | x f32 | y f32 | hp | fl |pad|   sizeOf 12, alignOf 4
 * ```
 */
export interface StructLayout<F extends StructFields = StructFields> {
  // F appears only here (covariantly), so any layout is a StructLayout; the
  // typed field names come from FieldName<L> and the free functions.
  /** The description it was built from. */
  readonly description: F;
  /** Fields in declaration order. */
  readonly fields: readonly StructFieldInfo[];
  /** Field names in declaration order. */
  readonly fieldNames: readonly string[];
  /** Bytes per record, padding included (C `sizeof`). */
  readonly size: number;
  /** Record alignment (C `alignof`). */
  readonly align: number;
  /** Byte offset of `field`; InvalidArgumentError for a name the layout lacks. */
  offsetOf(field: string): number;
  /** The field's description; InvalidArgumentError for a name the layout lacks. */
  field(field: string): StructFieldInfo;
  /** True when the layout has a field called `name`. */
  has(name: string): boolean;
}

/** The names of a layout's fields. */
export type FieldName<L extends StructLayout> = L extends StructLayout<infer F> ? keyof F & string : never;

/** The element kind of field `N` of layout `L`. */
export type FieldKind<L extends StructLayout, N extends FieldName<L>> = L extends StructLayout<infer F> ? F[N] : never;

const INTEGER_LIKE = /^(0|[1-9][0-9]*)$/;

class Layout<F extends StructFields> implements StructLayout<F> {
  readonly description: F;
  readonly fields: readonly StructFieldInfo[];
  readonly fieldNames: readonly string[];
  readonly size: number;
  readonly align: number;
  private readonly byName: Map<string, StructFieldInfo>;

  constructor(description: F) {
    if (description === null || typeof description !== "object" || Array.isArray(description)) {
      throw new InvalidArgumentError(`defineStruct: expected an object of field name -> element kind, received ${describe(description)}.`);
    }
    const names = Object.keys(description);
    if (names.length === 0) throw new InvalidArgumentError("defineStruct: a struct needs at least one field.");
    const fields: StructFieldInfo[] = [];
    const byName = new Map<string, StructFieldInfo>();
    let offset = 0;
    let align = 1;
    for (const name of names) {
      if (INTEGER_LIKE.test(name)) {
        throw new InvalidArgumentError(
          `defineStruct: field name "${name}" looks like an array index; JS would reorder it before the other fields. Use a name that starts with a letter.`,
        );
      }
      const kind: unknown = description[name];
      if (!isElementKind(kind)) {
        throw new InvalidArgumentError(
          `defineStruct: field "${name}" has unknown kind ${describe(kind)}.\n  Use one of ${Object.keys(ELEMENT_KINDS).join(", ")}.`,
        );
      }
      const info: ElementKindInfo = ELEMENT_KINDS[kind];
      offset = alignUp(offset, info.align);
      const field: StructFieldInfo = Object.freeze({ name, kind, offset, size: info.size, align: info.align, index: fields.length });
      fields.push(field);
      byName.set(name, field);
      offset += info.size;
      align = Math.max(align, info.align);
    }
    this.description = Object.freeze({ ...description });
    this.fields = Object.freeze(fields);
    this.fieldNames = Object.freeze(names);
    this.align = align;
    this.size = alignUp(offset, align);
    this.byName = byName;
    fingerprints.set(this, fingerprintOf(fields, this.size));
    Object.freeze(this);
  }

  field(name: string): StructFieldInfo {
    const field = this.byName.get(name);
    if (field === undefined) throw unknownFieldError("struct layout", name, this.fieldNames);
    return field;
  }

  offsetOf(name: string): number {
    return this.field(name).offset;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
}

/** Each layout's fingerprint, computed once (layouts are frozen). */
const fingerprints = new WeakMap<object, number>();

/** hashWords over the record size and each field's kind code, offset and name (UTF-16 code units). */
function fingerprintOf(fields: readonly StructFieldInfo[], size: number): number {
  const words: number[] = [size, fields.length];
  for (const f of fields) {
    words.push(kindCode(f.kind), f.offset, f.name.length);
    for (let i = 0; i < f.name.length; i++) words.push(f.name.charCodeAt(i));
  }
  return hashWords(Uint32Array.from(words), 0, words.length);
}

/**
 * A 32-bit hash of the layout's field names, kinds and offsets and its size:
 * what a container descriptor records, so a container is restored only with
 * the layout it was written with. @internal
 */
export function layoutFingerprint(layout: StructLayout): number {
  return fingerprints.get(layout)!;
}

/** `x: f32 @0, y: f32 @4` — how a message shows a layout. @internal */
export function describeLayout(layout: StructLayout): string {
  return layout.fields.map((f) => `${f.name}: ${f.kind} @${f.offset}`).join(", ");
}

/**
 * Builds a C-like layout from `{ field: kind }` in declaration order.
 *
 * ```ts
 * const Body = defineStruct({ x: "f32", y: "f32", hp: "u16", flags: "u8" });
 * sizeOf(Body);            // 12
 * offsetOf(Body, "flags"); // 10
 * ```
 * Throws InvalidArgumentError for an empty description, an unknown kind, or
 * an integer-like field name (JS would reorder it).
 */
export function defineStruct<const F extends StructFields>(fields: F): StructLayout<F> {
  return new Layout(fields);
}

/** Bytes per record, padding included (C `sizeof`). */
export function sizeOf(layout: StructLayout): number {
  return checkLayout("sizeOf", layout).size;
}

/** Record alignment (C `alignof`). */
export function alignOf(layout: StructLayout): number {
  return checkLayout("alignOf", layout).align;
}

/** Byte offset of `field` in `layout` (C `offsetof`); InvalidArgumentError for an unknown field. */
export function offsetOf<F extends StructFields>(layout: StructLayout<F>, field: keyof F & string): number {
  return checkLayout("offsetOf", layout).offsetOf(field);
}

/** Throws InvalidArgumentError unless `layout` came from {@link defineStruct}. */
export function checkLayout(who: string, layout: unknown): StructLayout {
  if (!(layout instanceof Layout)) {
    throw new InvalidArgumentError(`${who}: expected a layout from defineStruct({...}), received ${describe(layout)}.`);
  }
  return layout as StructLayout;
}
