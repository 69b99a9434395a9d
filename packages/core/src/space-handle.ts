import type { AddressSpace } from "./address-space.js";
import { openControl, type ControlLayout } from "./control-block.js";
import { destroyedError, type DestroyedError } from "./errors.js";
import { SpaceViews, type ViewHolder, type ViewSet } from "./space-views.js";
import type { Ptr } from "./types.js";

/**
 * A control block that {@link openControl} verified: what an allocator's
 * constructor receives, instead of its creation options, to become a second
 * handle on an existing allocator. The only way to get one is
 * {@link Attachment.open}, so a constructor that sees one knows the block's
 * magic, version, size and seal were checked; it still range-checks every
 * state word it relies on.
 *
 * ```ts
 * static attach(space: AddressSpace, controlPtr: Ptr): HeapAllocator {
 *   return new HeapAllocator(Attachment.open(space, controlPtr, HEAP_LAYOUT, "HeapAllocator.attach"));
 * }
 * ```
 */
export class Attachment {
  private constructor(
    readonly space: AddressSpace,
    readonly controlPtr: Ptr,
    /** Size of the control block, from its header. */
    readonly bytes: number,
    /** The call that opened it, for messages (`HeapAllocator.attach`). */
    readonly who: string,
  ) {}

  /** Verifies the control block at `controlPtr` (see openControl); throws CorruptionError when it is not one. */
  static open(space: AddressSpace, controlPtr: Ptr, layout: ControlLayout, who: string, bytesRange?: readonly [number, number]): Attachment {
    return new Attachment(space, controlPtr, openControl(space, controlPtr, layout, who, bytesRange), who);
  }
}

/** How a handle ended: `destroy()` ended the allocator itself, `detach()` only this handle. */
export type HandleEnd = "destroyed" | "detached";

/**
 * The lifecycle every memkit allocator shares. An allocator's state lives in
 * linear memory, in a control block at {@link controlPtr}; the JS object is a
 * handle: cached views plus constants. So:
 *
 * - **create** — a constructor builds a new control block (and its state);
 * - **attach** — a static `attach(space, controlPtr)` opens an existing one
 *   ({@link Attachment.open}) and passes it to the same constructor, which
 *   then reads the block instead of writing it: a second handle on the same
 *   allocator (another thread, a wasm host, a restored save). One
 *   constructor path for both, so a handle is always fully built;
 * - **detach** — ends this handle only; the allocator and its blocks live on;
 * - **destroy** — ends the allocator: its memory goes back, its control block
 *   is retired (`retireControl`), and every handle is dead.
 *
 * A handle follows the space's growth through {@link SpaceViews}: subclasses
 * implement `refreshViews` to re-read their cached views, and call
 * {@link followViews} once their fields exist. After {@link end}, the cached
 * views point at empty arrays (`SpaceViews.dead`), so a stray call on a hot
 * path reads `undefined` and falls to a cold path, where
 * {@link assertAlive} throws DestroyedError: no flag checks on hot paths.
 */
export abstract class SpaceHandle implements ViewHolder {
  /** The space the control block and every block live in. */
  readonly space: AddressSpace;
  /** Where this allocator's control block lives. */
  readonly controlPtr: Ptr;
  /** @internal see {@link ViewHolder}. */
  viewSlot = -1;
  /** A short name used in messages. */
  abstract readonly name: string;
  #end: HandleEnd | undefined = undefined;

  protected constructor(space: AddressSpace, controlPtr: Ptr) {
    this.space = space;
    this.controlPtr = controlPtr;
  }

  /** Re-reads the cached views from `views` (the live ones, or `SpaceViews.dead` after {@link end}). */
  abstract refreshViews(views: ViewSet): void;

  /**
   * Reads the views now and after every growth of the space, and lists the
   * handle for {@link SpaceHandle.lookup}. Call once, at the end of the constructor.
   */
  protected followViews(): void {
    const views = SpaceViews.of(this.space);
    views.register(this);
    this.refreshViews(views);
    listed(this.space).add(this);
  }

  /**
   * A live handle of this JS thread on the control block at `controlPtr`, of
   * class `type` (the first one made, when there are several), or undefined.
   * An allocator attaching to one that leases from another (a heap's page
   * allocator) reuses the handle the thread already has this way.
   */
  static lookup<T extends SpaceHandle>(space: AddressSpace, controlPtr: Ptr, type: abstract new (...args: never[]) => T): T | undefined {
    for (const handle of handlesAt(space, controlPtr)) if (handle instanceof type) return handle;
    return undefined;
  }

  /** False once the handle was destroyed or detached. */
  get alive(): boolean {
    return this.#end === undefined;
  }

  /** How the handle ended, or undefined while it is alive. */
  get ended(): HandleEnd | undefined {
    return this.#end;
  }

  /** Ends this handle: stops following growth and points the views at empty arrays. Idempotent. */
  protected end(how: HandleEnd): void {
    if (this.#end !== undefined) return;
    this.#end = how;
    SpaceViews.of(this.space).unregister(this);
    listed(this.space).remove(this);
    this.refreshViews(SpaceViews.dead);
    // A destroyed allocator is gone for every handle this thread holds on it.
    if (how === "destroyed") for (const other of handlesAt(this.space, this.controlPtr)) other.end("destroyed");
  }

  /** Throws DestroyedError when the handle has ended. For cold paths and the top of non-hot calls. */
  protected assertAlive(op: string): void {
    if (this.#end !== undefined) throw this.endedError(op);
  }

  /** The DestroyedError for `op` on this ended handle. */
  protected endedError(op: string): DestroyedError {
    const what = this.#end === "detached" ? "this handle was detached" : "this allocator was destroyed";
    const next = this.#end === "detached" ? "attach a new handle to use the allocator." : "create a new one.";
    return destroyedError(`${this.name}.${op}`, what, next);
  }
}

/** Live handles of one space by control block, held weakly (a dropped handle is simply collected). */
class HandleList {
  readonly #byPtr = new Map<Ptr, WeakRef<SpaceHandle>[]>();

  add(handle: SpaceHandle): void {
    const refs = this.#byPtr.get(handle.controlPtr);
    if (refs === undefined) this.#byPtr.set(handle.controlPtr, [new WeakRef(handle)]);
    else refs.push(new WeakRef(handle));
  }

  remove(handle: SpaceHandle): void {
    const refs = this.#byPtr.get(handle.controlPtr);
    if (refs === undefined) return;
    const kept = refs.filter((ref) => {
      const h = ref.deref();
      return h !== undefined && h !== handle;
    });
    if (kept.length === 0) this.#byPtr.delete(handle.controlPtr);
    else this.#byPtr.set(handle.controlPtr, kept);
  }

  at(controlPtr: Ptr): SpaceHandle[] {
    const out: SpaceHandle[] = [];
    for (const ref of this.#byPtr.get(controlPtr) ?? []) {
      const h = ref.deref();
      if (h !== undefined && h.alive) out.push(h);
    }
    return out;
  }
}

const lists = new WeakMap<AddressSpace, HandleList>();

function listed(space: AddressSpace): HandleList {
  let list = lists.get(space);
  if (list === undefined) {
    list = new HandleList();
    lists.set(space, list);
  }
  return list;
}

function handlesAt(space: AddressSpace, controlPtr: Ptr): SpaceHandle[] {
  return lists.get(space)?.at(controlPtr) ?? [];
}
