import { ELEMENT_KINDS, type ElementKind, type ElementKindInfo, type ElementView, type ValueOf } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";

/** Per-slot metadata in a pool's block: 2 × i32 (state, generation). */
export const META_WORDS = 2;

/**
 * A field of a {@link HandlePool} resolved once: reads and writes through a
 * handle, which is checked on every access (stale handles throw).
 */
export interface PoolField<K extends ElementKind = ElementKind> {
  readonly name: string;
  readonly kind: K;
  readonly offset: number;
  /** The field of the record `handle` addresses; StaleHandleError / InvalidPointerError for a bad handle. */
  get(handle: number): ValueOf<K>;
  /** Writes the field of the record `handle` addresses. */
  set(handle: number, value: ValueOf<K>): void;
}

/** What a field handle reads of its pool on every access (the same test as `isAlive`). @internal */
export interface PoolFieldOwner {
  /** Whole-space Int32Array view. */
  readonly i32: Int32Array;
  /** i32 index of slot 0's state word. */
  readonly metaBase: number;
  /** Slots ever handed out. */
  readonly used: number;
  readonly indexMask: number;
  throwHandle(handle: unknown): never;
  throwValue(info: ElementKindInfo, value: unknown): never;
}

/** A field handle plus the hook its pool uses to re-point it. @internal */
export interface PoolFieldHandle extends PoolField<"f64"> {
  place(views: SpaceViews, base: number, step: number): void;
}

type PoolFieldClass = new (pool: PoolFieldOwner, name: string, offset: number, views: SpaceViews) => PoolFieldHandle;

/** One class per element kind (monomorphic typed access); the handle check is the same inline test as `isAlive`. */
function definePoolField(info: ElementKindInfo): PoolFieldClass {
  const bigint = info.bigint; // values: a literal typeof behind a constant flag (a type check in V8)
  return class PoolFieldImpl implements PoolFieldHandle {
    readonly kind = info.kind as "f64";
    private data: ElementView;
    private base = 0;
    private step = 1;

    constructor(
      private readonly pool: PoolFieldOwner,
      readonly name: string,
      readonly offset: number,
      views: SpaceViews,
    ) {
      this.data = views.view(info.kind) as unknown as ElementView;
    }

    get(handle: number): number {
      const p = this.pool;
      const index = typeof handle === "number" ? handle & p.indexMask : p.used;
      if (!(index < p.used && handle > 0 && p.i32[p.metaBase + index * META_WORDS] === handle)) p.throwHandle(handle);
      return this.data[this.base + index * this.step]!;
    }

    set(handle: number, value: number): void {
      const p = this.pool;
      const index = typeof handle === "number" ? handle & p.indexMask : p.used;
      if (!(index < p.used && handle > 0 && p.i32[p.metaBase + index * META_WORDS] === handle)) p.throwHandle(handle);
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

/** A new field handle of `kind` owned by `pool`. Call `place` before use. @internal */
export function createPoolField(kind: ElementKind, pool: PoolFieldOwner, name: string, offset: number, views: SpaceViews): PoolFieldHandle {
  let cls = poolFieldClasses[kind];
  if (cls === undefined) cls = poolFieldClasses[kind] = definePoolField(ELEMENT_KINDS[kind]);
  return new cls(pool, name, offset, views);
}
