import { InvalidArgumentError, describe, hasBlockLabels, markEntryPoints } from "@memkit/core";
import type { Allocator, BlockLabels } from "@memkit/core";
import { SpaceViews, type ViewHolder } from "@memkit/core";
import { trackContainer, untrackContainer, type LeakToken } from "./leak-detection.js";
import { callbackError, disposedError, valueError } from "./errors.js";
import type { ElementKindInfo } from "./element-kind.js";

/** Options every container accepts. */
export interface ContainerOptions {
  /**
   * A name for error messages and leak reports; over a trace scope the
   * container's blocks are also filed under it (its {@link ContainerCore.label},
   * `HashMap<u32, u32> "grid"`) in the scope's reports, leak reports and folded stacks.
   * @defaultValue the container type, e.g. `DynamicArray<u32>`
   */
  name?: string;
  /**
   * Report this container if the garbage collector reclaims it before
   * `dispose()` (FinalizationRegistry), with its creation stack.
   * @defaultValue the module-wide setting of `setContainerDebug()` (off)
   */
  debug?: boolean;
}

/** Every container's block alignment: 8 covers every element kind and struct layout. */
export const CONTAINER_ALIGN = 8;

/**
 * What every container shares: the allocator it was created with (and frees
 * through), exactly one block of memory at a time, the shared views of the
 * address space, leak tracking and `dispose()`.
 *
 * Subclasses keep their hot state in plain fields and their element view in
 * a field refreshed by {@link refreshViews}; nothing here runs on a hot path.
 */
export abstract class ContainerCore implements ViewHolder {
  /** The allocator this container allocates from and frees through. */
  readonly allocator: Allocator;
  /** The name given at construction (or the container type). */
  readonly name: string;
  /** @internal */
  viewSlot = -1;
  /** The address space's shared views (re-read after growth). */
  protected views: SpaceViews;
  /** The container's block, or 0 when it holds none. */
  protected block = 0;
  /** Bytes asked for that block. */
  protected blockBytes = 0;
  protected isDisposed = false;
  private readonly type: string;
  private readonly leak: LeakToken | null;
  /** The allocator when it files blocks under labels (a trace scope), else null. */
  private readonly labelled: (Allocator & BlockLabels) | null = null;
  /** This container's label id in `labelled` (0 without one). */
  private readonly labelId: number = 0;

  protected constructor(type: string, allocator: Allocator, options: ContainerOptions | undefined) {
    checkAllocator(type, allocator);
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new InvalidArgumentError(`${type}: options must be an object, received ${describe(options)}.`);
    }
    // A scope recording call stacks starts them at the code that called this container (in bundles too).
    markEntryPoints(new.target);
    // Only `undefined` means "not given": a null or mistyped option is a bug worth reporting.
    const name = options?.name === undefined ? type : options.name;
    if (typeof name !== "string") throw new InvalidArgumentError(`${type}: option name must be a string, received ${describe(name)}.`);
    const debug = options?.debug;
    if (debug !== undefined && typeof debug !== "boolean") {
      throw new InvalidArgumentError(`${type}: option debug must be true or false, received ${describe(debug)}.`);
    }
    this.type = type;
    this.allocator = allocator;
    this.name = name;
    this.views = SpaceViews.of(allocator.space);
    // Over a trace scope, every block is filed under the container's label (decided once: the id belongs to that allocator).
    if (hasBlockLabels(allocator)) {
      this.labelId = allocator.labelId(this.label);
      this.labelled = allocator;
    }
    this.leak = trackContainer(this, debug, type, name, allocator);
  }

  /** A block of `bytes` from the allocator, under this container's label when the allocator takes labels. Growth only. */
  protected allocateBlock(bytes: number): number {
    const labelled = this.labelled;
    return labelled === null ? this.allocator.allocate(bytes, CONTAINER_ALIGN) : labelled.allocate(bytes, CONTAINER_ALIGN, this.labelId);
  }

  /** Resizes `old` (0: allocates) to `bytes`, keeping its bytes, under this container's label. Growth only. */
  protected resizeBlock(old: number, bytes: number): number {
    if (old === 0) return this.allocateBlock(bytes);
    const labelled = this.labelled;
    return labelled === null ? this.allocator.reallocate(old, bytes, CONTAINER_ALIGN) : labelled.reallocate(old, bytes, CONTAINER_ALIGN, this.labelId);
  }

  /** Registers for view refreshes; subclasses call it once their fields exist. */
  protected attachViews(): void {
    this.views.register(this);
    this.refreshViews(this.views);
  }

  /** @internal Re-reads the element views after the address space grew. */
  abstract refreshViews(views: SpaceViews): void;

  /** The container's block in the address space (0 when it holds none). Valid until the next growth. */
  get ptr(): number {
    return this.block;
  }

  /** Bytes the container holds from its allocator (as asked for). */
  get byteLength(): number {
    return this.blockBytes;
  }

  /** True after {@link dispose}. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** `DynamicArray<u32> "contacts"`: how messages name this container. */
  get label(): string {
    return this.name === this.type ? this.type : `${this.type} "${this.name}"`;
  }

  /** Records a new block (after allocate/reallocate) so leak reports name the right one. */
  protected setBlock(ptr: number, bytes: number): void {
    this.block = ptr;
    this.blockBytes = bytes;
    if (this.leak !== null) {
      this.leak.ptr = ptr;
      this.leak.bytes = bytes;
    }
  }

  /**
   * Returns the memory to the allocator. Idempotent. Afterwards every
   * operation throws core's DestroyedError naming the container. If the
   * allocator refuses the free, the error propagates and the container is
   * left as it was.
   */
  dispose(): void {
    if (this.isDisposed) return;
    if (this.block !== 0) this.allocator.deallocate(this.block);
    this.isDisposed = true;
    this.setBlock(0, 0);
    this.resetState();
    this.views.unregister(this);
    if (this.leak !== null) untrackContainer(this.leak);
  }

  /** `using arr = new DynamicArray(...)` disposes at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Puts the subclass's fields in the empty state (after dispose). */
  protected abstract resetState(): void;

  /** Throws the after-dispose error. Cold. */
  protected throwDisposed(): never {
    throw disposedError(this.label);
  }

  /** @internal Throws for a value of the wrong JS type for `info` (or the after-dispose error). Cold. */
  throwValue(info: ElementKindInfo, value: unknown): never {
    if (this.isDisposed) this.throwDisposed();
    throw valueError(this.label, info, value);
  }

  /** Throws unless `callback` is a function (or the container was disposed). Once per iteration, not per element. */
  protected checkCallback(method: string, callback: unknown): void {
    if (this.isDisposed) this.throwDisposed();
    if (typeof callback !== "function") throw callbackError(this.label, method, callback);
  }
}

function checkAllocator(type: string, allocator: Allocator): void {
  const a = allocator as Partial<Allocator> | null | undefined;
  if (
    a === null ||
    typeof a !== "object" ||
    typeof a.allocate !== "function" ||
    typeof a.deallocate !== "function" ||
    typeof a.reallocate !== "function" ||
    typeof a.allocatedSize !== "function" ||
    typeof a.space !== "object" ||
    a.space === null
  ) {
    throw new InvalidArgumentError(`${type}: expected an Allocator (with allocate, deallocate, reallocate, allocatedSize and space), received ${describe(allocator)}.`);
  }
}
