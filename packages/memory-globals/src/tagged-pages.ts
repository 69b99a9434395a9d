import { CorruptionError, type AddressSpace, type Allocator, type AllocatorStats, type Ptr } from "@memkit/core";
import type { PageAllocator, PageReclaimer, ReclaimRegistry } from "@memkit/page-allocator";

/**
 * The page allocator as seen by one lessee that does not tag its own spans
 * (the temp allocators): every span it gets is tagged with the lessee's owner
 * id, so memory maps can say whose pages they are. Cold path: temp allocators
 * lease chunks rarely and reuse them.
 */
export class TaggedPages implements Allocator, ReclaimRegistry {
  readonly name: string;
  readonly space: AddressSpace;
  /** Owner id of the spans (from `pages.registerOwner`). */
  readonly ownerId: number;
  readonly #pages: PageAllocator;

  /** Registers `owner` with `pages`, or (restoring) takes the id it was registered with, which must name it. */
  constructor(pages: PageAllocator, owner: string, ownerId?: number) {
    this.#pages = pages;
    this.name = `${pages.name}(${owner})`;
    this.space = pages.space;
    if (ownerId !== undefined && pages.ownerName(ownerId) !== owner) {
      throw new CorruptionError(`${this.name}: owner id ${ownerId} is registered as ${JSON.stringify(pages.ownerName(ownerId))}, not ${JSON.stringify(owner)}: the memory root is damaged.`);
    }
    this.ownerId = ownerId ?? pages.registerOwner(owner);
  }

  allocate(size: number, align?: number): Ptr {
    const span = this.#pages.allocate(size, align);
    this.#pages.setTag(span, this.ownerId);
    return span;
  }

  deallocate(ptr: Ptr): void {
    this.#pages.deallocate(ptr);
  }

  reallocate(ptr: Ptr, newSize: number, align?: number): Ptr {
    const span = this.#pages.reallocate(ptr, newSize, align);
    this.#pages.setTag(span, this.ownerId);
    return span;
  }

  allocatedSize(ptr: Ptr): number {
    return this.#pages.allocatedSize(ptr);
  }

  owns(ptr: Ptr): boolean {
    return this.#pages.owns(ptr) && this.#pages.tagOf(ptr) >>> 24 === this.ownerId;
  }

  /** Passes the lessee's reclaim hook on to the page allocator (asked before any allocation fails). */
  addReclaimer(reclaim: PageReclaimer): () => void {
    return this.#pages.addReclaimer(reclaim);
  }

  /** The whole page allocator's stats (spans are not counted per lessee). */
  stats(): AllocatorStats {
    return this.#pages.stats();
  }
}
