import type { AddressSpace, FillBytes } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { MEMKIT_FOOTPRINT_NOTE, createBacking, loadPageAllocator } from "./memkit-backing.js";
import type { MemkitAllocator, OverPages } from "./memkit-backing.js";
import { importExport } from "./subject.js";
import type { Subject, SubjectFactory } from "./subject.js";

/**
 * `@memkit/slot-allocator` (size classes in slabs over 64 KiB page spans; serves blocks up to 1 KiB), constructed as
 * `new SlotAllocator(pages, {})`. Its own class rather than a shared memkit
 * base class, so `this.slots.allocate` is a monomorphic call V8 inlines.
 */
class MemkitSlotSubject implements Subject {
  private readonly pages: PageAllocator;
  private readonly slots: MemkitAllocator;
  private u8: Uint8Array;
  /** Zeroes as memkit's allocateZeroed does (see Subject.zero). */
  private readonly fill: FillBytes;
  private readonly unsubscribe: () => void;

  constructor(space: AddressSpace, pages: PageAllocator, slots: MemkitAllocator) {
    this.pages = pages;
    this.slots = slots;
    this.u8 = space.u8;
    this.fill = space.bytes.fill;
    this.unsubscribe = space.onGrow(() => {
      this.u8 = space.u8;
    });
  }

  alloc(size: number): number {
    return this.slots.allocate(size);
  }

  allocAligned(size: number, align: number): number {
    return this.slots.allocate(size, align);
  }

  zero(handle: number, size: number): void {
    this.fill(handle, 0, size);
  }

  free(handle: number): void {
    this.slots.deallocate(handle);
  }

  realloc(handle: number, size: number): number {
    return this.slots.reallocate(handle, size);
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
    (this.slots as { check?: () => void }).check?.();
  }

  footprint(): number {
    return this.pages.stats().reservedBytes;
  }

  destroy(): void {
    this.unsubscribe();
    this.slots.destroy?.();
    this.pages.destroy();
  }
}

/** The slot-allocator subject, or SubjectUnavailableError until the package exports SlotAllocator. */
export async function load(): Promise<SubjectFactory> {
  const Pages = await loadPageAllocator();
  const Slots = await importExport<OverPages<MemkitAllocator>>("@memkit/slot-allocator", "SlotAllocator", () => import("@memkit/slot-allocator"));
  return {
    footprintNote: MEMKIT_FOOTPRINT_NOTE,
    create: () => {
      const { space, pages } = createBacking(Pages, 65536);
      return new MemkitSlotSubject(space, pages, new Slots(pages, {}));
    },
  };
}
