import type { AddressSpace } from "./address-space.js";
import { InvalidArgumentError } from "./errors.js";
import { describe } from "./validate.js";

/** The element kinds a view can have: C's fixed-width numeric types. */
export type ViewKind = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64" | "u64" | "i64";

/** The typed array behind each {@link ViewKind}. */
export interface ViewSet {
  u8: Uint8Array;
  i8: Int8Array;
  u16: Uint16Array;
  i16: Int16Array;
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
  u64: BigUint64Array;
  i64: BigInt64Array;
}

/**
 * Something that caches typed views of an address space and must re-read them
 * after the memory grew: every allocator handle and every container.
 */
export interface ViewHolder {
  /** Re-reads every cached view from `views`. Runs inside `space.onGrow`. @internal */
  refreshViews(views: SpaceViews): void;
  /** Position in the owning {@link SpaceViews}' list; -1 when not registered. @internal */
  viewSlot: number;
}

const bySpace = new WeakMap<AddressSpace, SpaceViews>();

/**
 * One set of typed views per address space, shared by everything that reads
 * it, with one `onGrow` listener for all of them.
 *
 * Why not one listener per holder: `space.onGrow` would hold each holder
 * strongly (the listener closes over it), so a container the program dropped
 * would never be collected and the JS-side leak detector could never see it;
 * and thousands of listeners make unsubscribing O(n). Here the space holds one
 * listener, which reaches holders through `WeakRef`s. On growth each live
 * holder re-reads its views, so its hot paths index a cached field and never
 * check the buffer.
 */
export class SpaceViews implements ViewSet {
  u8!: Uint8Array;
  i8!: Int8Array;
  u16!: Uint16Array;
  i16!: Int16Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  f32!: Float32Array;
  f64!: Float64Array;
  u64!: BigUint64Array;
  i64!: BigInt64Array;

  /**
   * Empty views: a retired handle points its cached views here, so a stray
   * hot-path call reads `undefined` and falls to a cold path that throws.
   */
  static readonly dead: ViewSet = Object.freeze({
    u8: new Uint8Array(0),
    i8: new Int8Array(0),
    u16: new Uint16Array(0),
    i16: new Int16Array(0),
    u32: new Uint32Array(0),
    i32: new Int32Array(0),
    f32: new Float32Array(0),
    f64: new Float64Array(0),
    u64: new BigUint64Array(0),
    i64: new BigInt64Array(0),
  });

  private holders: WeakRef<ViewHolder>[] = [];
  /** Compact dead refs when the list reaches this length (amortised O(1) per register). */
  private pruneAt = 64;

  private constructor(space: AddressSpace) {
    this.rebuild(space.buffer);
  }

  /** The shared views of `space` (created, and subscribed to `onGrow`, on first use). */
  static of(space: AddressSpace): SpaceViews {
    const s = space as Partial<AddressSpace> | null;
    if (s === null || typeof s !== "object" || typeof s.onGrow !== "function" || typeof s.buffer !== "object") {
      throw new InvalidArgumentError(`SpaceViews.of: expected an AddressSpace, received ${describe(space)}.`);
    }
    let views = bySpace.get(space);
    if (views === undefined) {
      const created = new SpaceViews(space);
      // The listener keeps `created` alive as long as the space lives; it never holds the holders.
      space.onGrow((grown) => created.grown(grown));
      bySpace.set(space, created);
      views = created;
    }
    return views;
  }

  /** The whole-space view for `kind`. Cold: holders call it only when (re)reading views. */
  view<K extends ViewKind>(kind: K): ViewSet[K] {
    return this[kind];
  }

  /** Adds `holder` (held weakly) to the views refreshed after growth. */
  register(holder: ViewHolder): void {
    if (this.holders.length >= this.pruneAt) {
      this.prune();
      this.pruneAt = Math.max(64, this.holders.length * 2);
    }
    holder.viewSlot = this.holders.length;
    this.holders.push(new WeakRef(holder));
  }

  /** Removes `holder` in O(1) (swap with the last entry). */
  unregister(holder: ViewHolder): void {
    const slot = holder.viewSlot;
    if (slot < 0) return;
    holder.viewSlot = -1;
    this.removeAt(slot);
  }

  /** Number of registered holders, live or not yet pruned (for tests and reports). */
  get holderCount(): number {
    return this.holders.length;
  }

  private removeAt(slot: number): void {
    const last = this.holders.pop()!;
    if (slot < this.holders.length) {
      this.holders[slot] = last;
      const moved = last.deref();
      if (moved !== undefined) moved.viewSlot = slot;
    }
  }

  private prune(): void {
    for (let i = this.holders.length - 1; i >= 0; i--) {
      if (this.holders[i]!.deref() === undefined) this.removeAt(i);
    }
  }

  private grown(space: AddressSpace): void {
    this.rebuild(space.buffer);
    // Backwards, and re-checking the length: a holder's refresh is user-visible code
    // (a container may register or unregister others), so the list can change under us.
    for (let i = this.holders.length - 1; i >= 0; i--) {
      if (i >= this.holders.length) continue;
      const holder = this.holders[i]!.deref();
      if (holder === undefined) this.removeAt(i);
      else holder.refreshViews(this);
    }
  }

  private rebuild(buffer: ArrayBuffer | SharedArrayBuffer): void {
    this.u8 = new Uint8Array(buffer);
    this.i8 = new Int8Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.i16 = new Int16Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.u64 = new BigUint64Array(buffer);
    this.i64 = new BigInt64Array(buffer);
  }
}
