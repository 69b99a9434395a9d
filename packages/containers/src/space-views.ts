import { InvalidArgumentError, describe } from "@memkit/core";
import type { AddressSpace } from "@memkit/core";
import type { ElementKind, TypedArray } from "./element-kind.js";

/**
 * Something that caches typed views of an address space and must re-read them
 * after the memory grew (every container).
 */
export interface ViewHolder {
  /** Re-reads every cached view from `views`. Runs inside `space.onGrow`. @internal */
  refreshViews(views: SpaceViews): void;
  /** Position in the owning {@link SpaceViews}' list; -1 when not registered. @internal */
  viewSlot: number;
}

const bySpace = new WeakMap<AddressSpace, SpaceViews>();

/**
 * One set of typed views per address space, shared by every container in it,
 * with one `onGrow` listener for all of them.
 *
 * Why not one listener per container: `space.onGrow` would hold each
 * container strongly (the listener closes over it), so a container the
 * program dropped would never be collected and the JS-side leak detector
 * could never see it; and thousands of listeners make `unsubscribe` O(n).
 * Here the space holds one listener, and the listener reaches containers
 * through `WeakRef`s. On growth each live container re-reads its view, so its
 * hot paths index a cached field and never check the buffer.
 */
export class SpaceViews {
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
      // The listener keeps `created` alive as long as the space lives; it never holds containers.
      space.onGrow((grown) => created.grown(grown));
      bySpace.set(space, created);
      views = created;
    }
    return views;
  }

  /** The whole-space view for `kind`. Cold: containers call it only when (re)reading views. */
  view(kind: ElementKind): TypedArray {
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
    for (let i = this.holders.length - 1; i >= 0; i--) {
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
