import { CorruptionError, InvalidArgumentError, describe, hasBlockLabels, hex, markEntryPoints, retireControl, sealControl } from "@memkit/core";
import type { Allocator, BlockLabels, Checkable, ControlLayout, Ptr } from "@memkit/core";
import { SpaceViews, type ViewHolder } from "@memkit/core";
import { trackContainer, untrackContainer, type LeakToken } from "./leak-detection.js";
import { callbackError, checkAllocator, disposedError, handedOverError, valueError } from "./errors.js";
import type { ElementKindInfo } from "./element-kind.js";
import { hasMovableBlocks, type BlockHolder, type MovableBlocks } from "./movable-blocks.js";
import { W_BLOCK, W_BLOCK_BYTES, descriptorBytes, encodeName, initDescriptor, release, takeOver, type ContainerDescriptor, type PersistedHandle } from "./descriptor.js";

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
 * through), one block of memory at a time (plus a small descriptor once
 * persisted), the shared views of the address space, leak tracking,
 * `persist()`, `check()` and `dispose()`.
 *
 * Subclasses keep their hot state in plain fields and their element view in
 * a field refreshed by {@link refreshViews}; nothing here runs on a hot path.
 * Their constructors take a {@link ContainerDescriptor} in place of their
 * options to restore a container (one constructor path for both).
 */
export abstract class ContainerCore implements ViewHolder, Checkable, PersistedHandle, BlockHolder {
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
  /** The descriptor persist() wrote (0: none yet). */
  private desc = 0;
  /** True when a restore took this container over (the handle ended without freeing). */
  private handedOver = false;
  private readonly type: string;
  private readonly leak: LeakToken | null;
  /** The allocator when it files blocks under labels (a trace scope), else null. */
  private readonly labelled: (Allocator & BlockLabels) | null = null;
  /** This container's label id in `labelled` (0 without one). */
  private readonly labelId: number = 0;
  /** The allocator when it may move blocks its holders follow (a relocatable allocator), and this kind can follow them; else null. */
  private readonly movable: MovableBlocks | null = null;

  protected constructor(type: string, allocator: Allocator, options: ContainerOptions | ContainerDescriptor | undefined) {
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
    if (this.rebase !== undefined && hasMovableBlocks(allocator)) this.movable = allocator;
  }

  /**
   * Re-derives the cached element offsets from `block` after the allocator
   * moved it (relocatable memory). Kinds that implement it let their block
   * move; the others' blocks stay where they are.
   */
  protected rebase?(): void;

  /** @internal The allocator moved this container's block to `ptr` (a compaction of relocatable memory). Not during growth. */
  blockRelocated(ptr: Ptr): void {
    this.block = ptr;
    if (this.leak !== null) this.leak.ptr = ptr;
    this.rebase!();
    this.blockMoved();
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

  /** True after {@link dispose} (or after a restore took the container over). */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** The descriptor {@link persist} wrote, or 0 before the first persist(). */
  get descriptorPtr(): Ptr {
    return this.desc;
  }

  /**
   * Writes (the first time: allocates from this container's allocator, under
   * its label) the container's descriptor and returns its address: what
   * `restore(allocator, ptr)` needs to find the container again from memory
   * alone — after `memory.save()` and a restore in another process, or in a
   * worker. The descriptor is a snapshot of the words the container keeps in
   * JS (length, counts, free-list ends): call persist() again after changing
   * the container, right before saving. The container rewrites it itself
   * whenever its block moves, so a descriptor never names a freed block.
   * `dispose()` frees it.
   */
  persist(): Ptr {
    if (this.isDisposed) this.throwDisposed();
    if (this.desc === 0) {
      const layout = this.descriptorLayout();
      const name = encodeName(this.name);
      const bytes = descriptorBytes(layout, name.length);
      const ptr = this.allocateBlock(bytes);
      initDescriptor(this.allocator.space, ptr, layout, bytes, name);
      this.desc = ptr;
      if (this.leak !== null) this.leak.descriptor = ptr;
      takeOver(this.allocator.space, ptr, this);
    }
    this.writeDescriptor();
    return this.desc;
  }

  /**
   * Verifies that the container's state describes memory it may use: its
   * block (and descriptor) are live blocks of its allocator, large enough for
   * its capacity, and the subclass's own invariants hold. Throws
   * CorruptionError at the first fault; does nothing after dispose.
   */
  abstract check(): void;

  /** The descriptor layout of this container kind. */
  protected abstract descriptorLayout(): ControlLayout;

  /** Writes the kind's words (after the common ones) into the descriptor at word `w`. */
  protected abstract writeDescriptorWords(u32: Uint32Array, w: number): void;

  /** Rewrites the descriptor, if there is one, after the block moved (so it never names a freed block). Growth only. */
  protected blockMoved(): void {
    if (this.desc !== 0) this.writeDescriptor();
  }

  private writeDescriptor(): void {
    const u32 = this.views.u32;
    const w = this.desc >>> 2;
    u32[w + W_BLOCK] = this.block;
    u32[w + W_BLOCK_BYTES] = this.blockBytes;
    this.writeDescriptorWords(u32, w);
    sealControl(this.allocator.space, this.desc, this.descriptorLayout());
  }

  /**
   * Takes the container `d` describes over: `read` sets the subclass's
   * fields from the descriptor's words (range-checked), then check() must
   * accept the result. On success this is the container's one live handle
   * (a handle this thread held on it ends: {@link handOver}); on failure
   * nothing changed and the error is a CorruptionError.
   */
  protected restoreFrom(d: ContainerDescriptor, read: () => void): void {
    try {
      this.setBlock(d.block, d.blockBytes);
      this.desc = d.ptr;
      read();
      this.refreshViews(this.views);
      try {
        this.check();
      } catch (err) {
        if (!(err instanceof CorruptionError)) throw err;
        throw new CorruptionError(
          `${d.who}: the ${d.layout.kind} descriptor at ${hex(d.ptr)} ("${d.name}") does not match the memory it describes: ${err.message}\n` +
            `  Call persist() after the last change to the container, right before saving.`,
        );
      }
    } catch (err) {
      this.desc = 0;
      this.setBlock(0, 0);
      this.isDisposed = true;
      this.resetState();
      if (this.leak !== null) untrackContainer(this.leak);
      throw err;
    }
    if (this.leak !== null) this.leak.descriptor = d.ptr;
    takeOver(this.allocator.space, d.ptr, this);
  }

  /** @internal Ends this handle without freeing anything: a handle restored from its descriptor took the container over. */
  handOver(): void {
    if (this.isDisposed) return;
    this.handedOver = true;
    this.end();
  }

  /**
   * Throws CorruptionError unless the block (when there is one) is a live
   * block of the allocator with at least `usable` usable bytes, and the
   * descriptor (when there is one) is live too. For subclasses' check().
   */
  protected checkBlock(usable: number): void {
    const a = this.allocator;
    const ptr = this.block;
    if (ptr === 0) {
      if (usable !== 0 || this.blockBytes !== 0) throw new CorruptionError(`${this.label}: it has no block but claims ${usable} bytes.`);
    } else {
      if (ptr % CONTAINER_ALIGN !== 0 || !a.owns(ptr)) {
        throw new CorruptionError(`${this.label}: its block ${hex(ptr)} is not a live block of allocator "${a.name}".`);
      }
      const size = a.allocatedSize(ptr);
      if (size < usable || size < this.blockBytes) {
        throw new CorruptionError(`${this.label}: its block ${hex(ptr)} has ${size} usable bytes; the container needs ${Math.max(usable, this.blockBytes)}.`);
      }
    }
    if (this.desc !== 0 && !a.owns(this.desc)) {
      throw new CorruptionError(`${this.label}: its descriptor ${hex(this.desc)} is not a live block of allocator "${a.name}".`);
    }
  }

  /** `DynamicArray<u32> "contacts"`: how messages name this container. */
  get label(): string {
    return this.name === this.type ? this.type : `${this.type} "${this.name}"`;
  }

  /** Records a new block (after allocate/reallocate) so leak reports name the right one. */
  protected setBlock(ptr: number, bytes: number): void {
    this.block = ptr;
    this.blockBytes = bytes;
    if (ptr !== 0 && this.movable !== null) this.movable.followBlock(ptr, this);
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
    const desc = this.desc;
    if (desc !== 0) {
      // Retired first (a restore from a stale copy of the pointer is refused as destroyed), but put back if the free is refused.
      const u32 = this.views.u32;
      const magic = u32[desc >>> 2]!;
      retireControl(this.allocator.space, desc);
      try {
        this.allocator.deallocate(desc);
      } catch (err) {
        u32[desc >>> 2] = magic;
        throw err;
      }
      release(this.allocator.space, desc, this);
      this.desc = 0;
      if (this.leak !== null) this.leak.descriptor = 0;
    }
    if (this.block !== 0) this.allocator.deallocate(this.block);
    this.end();
  }

  /** Ends the handle: the empty state, no view refreshes, no leak report. */
  private end(): void {
    // A block this handle no longer owns (a restore took it over) must not be moved on its word.
    if (this.movable !== null && this.block !== 0) this.movable.unfollowBlock(this.block, this);
    this.isDisposed = true;
    this.desc = 0;
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

  /** Throws the after-dispose error (or the one for a handle a restore took over). Cold. */
  protected throwDisposed(): never {
    throw this.handedOver ? handedOverError(this.label) : disposedError(this.label);
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
