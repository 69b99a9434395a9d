import type { AddressSpace, FillBytes } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { MEMKIT_FOOTPRINT_NOTE, createBacking, loadPageAllocator } from "./memkit-backing.js";
import type { MemkitAllocator, OverPages } from "./memkit-backing.js";
import { importExport } from "./subject.js";
import type { Subject, SubjectFactory } from "./subject.js";

/**
 * `@memkit/generic-allocator` (small -> slots, medium -> heap, large -> pages; no tracing), constructed as
 * `new GenericAllocator(pages, {})` over 16 KiB pages (MemoryGlobals' default). Its own class rather than a shared memkit
 * base class, so `this.generic.allocate` is a monomorphic call V8 inlines.
 */
class MemkitGenericSubject implements Subject {
  private readonly pages: PageAllocator;
  private readonly generic: MemkitAllocator;
  private u8: Uint8Array;
  /** Zeroes as memkit's allocateZeroed does (see Subject.zero). */
  private readonly fill: FillBytes;
  private readonly unsubscribe: () => void;

  constructor(space: AddressSpace, pages: PageAllocator, generic: MemkitAllocator) {
    this.pages = pages;
    this.generic = generic;
    this.u8 = space.u8;
    this.fill = space.bytes.fill;
    this.unsubscribe = space.onGrow(() => {
      this.u8 = space.u8;
    });
  }

  alloc(size: number): number {
    return this.generic.allocate(size);
  }

  allocAligned(size: number, align: number): number {
    return this.generic.allocate(size, align);
  }

  zero(handle: number, size: number): void {
    this.fill(handle, 0, size);
  }

  free(handle: number): void {
    this.generic.deallocate(handle);
  }

  realloc(handle: number, size: number): number {
    return this.generic.reallocate(handle, size);
  }

  write(handle: number, size: number, value: number): void {
    const u8 = this.u8;
    u8[handle] = value;
    u8[handle + size - 1] = value;
  }

  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }

  check(): void {
    (this.generic as { check?: () => void }).check?.();
  }

  footprint(): number {
    return this.pages.stats().reservedBytes;
  }

  destroy(): void {
    this.unsubscribe();
    this.generic.destroy?.();
    this.pages.destroy();
  }
}

/** The generic-allocator subject, or SubjectUnavailableError until the package exports GenericAllocator. */
export async function load(): Promise<SubjectFactory> {
  const Pages = await loadPageAllocator();
  const Generic = await importExport<OverPages<MemkitAllocator>>("@memkit/generic-allocator", "GenericAllocator", () => import("@memkit/generic-allocator"));
  return {
    footprintNote: MEMKIT_FOOTPRINT_NOTE,
    create: () => {
      // The engine's default configuration (MemoryGlobals): 16 KiB pages, so slot slabs are 16 KiB.
      const { space, pages } = createBacking(Pages, 16384);
      return new MemkitGenericSubject(space, pages, new Generic(pages, {}));
    },
  };
}
