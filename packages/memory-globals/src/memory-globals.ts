import { AddressSpace, AllocatorError, InvalidArgumentError, formatBytes } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { BootstrapHeap } from "./bootstrap-heap.js";
import { NULL_GUARD_BYTES, resolveOptions, type MemoryGlobalsOptions, type ResolvedOptions } from "./options.js";

/*
 * Address space laid out by MemoryGlobals.init:
 *
 *   0x0            NULL_GUARD_BYTES        bootstrap end (page aligned)              maximumBytes
 *   +--------------+-----------------------+-------------------------------------------+
 *   | null guard   | bootstrap heap:       | pages handed out by the page allocator    |
 *   | (never used) | page allocator's      | (heap spans, slabs, large blocks, arenas) |
 *   |              | control block, ...    | grows on demand ->                         |
 *   +--------------+-----------------------+-------------------------------------------+
 */

let current: MemoryGlobals | undefined;

/**
 * The engine's memory, built once at start and torn down once at exit, in
 * explicit order: address space, bootstrap heap, page allocator, then the
 * allocators built on them. `shutdown()` destroys them in reverse.
 */
export class MemoryGlobals {
  /** The options in force, with defaults applied. */
  readonly options: ResolvedOptions;
  #space: AddressSpace;
  #bootstrap: BootstrapHeap;
  #pages: PageAllocator;
  #alive = true;

  private constructor(options: ResolvedOptions) {
    this.options = options;
    const pageControl = PageAllocator.controlBytes(options.maximumBytes, options.pageSize);
    const bootstrapBytes = options.bootstrapBytes ?? pageControl + 16 * 1024 + 16;
    const pagesStart = Math.ceil((NULL_GUARD_BYTES + bootstrapBytes) / options.pageSize) * options.pageSize;
    if (pagesStart + options.pageSize > options.maximumBytes) {
      throw new InvalidArgumentError(
        `MemoryGlobals.init: option bootstrapBytes (${formatBytes(bootstrapBytes)}) leaves no room for pages in a ${formatBytes(options.maximumBytes)} space; ` +
          `raise maximumBytes or lower bootstrapBytes.`,
      );
    }
    this.#space = AddressSpace.create({ initialBytes: options.initialBytes, maximumBytes: options.maximumBytes, shared: options.shared });
    this.#bootstrap = BootstrapHeap.create(this.#space, NULL_GUARD_BYTES, bootstrapBytes);
    const controlPtr = this.#bootstrap.carve(pageControl, 8);
    this.#pages = new PageAllocator(this.#space, { pageSize: options.pageSize, controlPtr, firstByte: pagesStart });
  }

  /**
   * Builds the engine's memory. Throws InvalidArgumentError naming the bad
   * option, and a plain AllocatorError when memory is already initialised.
   */
  static init(options: MemoryGlobalsOptions = {}): MemoryGlobals {
    if (current !== undefined) {
      throw new AllocatorError("MemoryGlobals.init: memory is already initialised; call shutdown() on the current instance first.");
    }
    const globals = new MemoryGlobals(resolveOptions(options));
    current = globals;
    return globals;
  }

  /** The live instance, or undefined between shutdown and the next init. */
  static get current(): MemoryGlobals | undefined {
    return current;
  }

  /** The one linear address space. */
  get space(): AddressSpace {
    this.assertAlive("space");
    return this.#space;
  }

  /** The static region the first control blocks are carved from. */
  get bootstrap(): BootstrapHeap {
    this.assertAlive("bootstrap");
    return this.#bootstrap;
  }

  /** Page spans: the layer every other allocator leases from. */
  get pages(): PageAllocator {
    this.assertAlive("pages");
    return this.#pages;
  }

  /** False after {@link shutdown}. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Tears everything down in reverse order of construction. Calling it twice throws. */
  shutdown(): void {
    this.assertAlive("shutdown");
    this.#alive = false;
    if (current === this) current = undefined;
    this.#pages.destroy();
  }

  private assertAlive(what: string): void {
    if (!this.#alive) {
      throw new AllocatorError(`MemoryGlobals.${what}: this memory was shut down; call MemoryGlobals.init() again for a new one.`);
    }
  }
}
