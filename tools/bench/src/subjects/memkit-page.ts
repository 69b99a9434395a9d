import type { AddressSpace, FillBytes } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { MEMKIT_FOOTPRINT_NOTE, createBacking, loadPageAllocator } from "./memkit-backing.js";
import type { Subject, SubjectFactory } from "./subject.js";

/** The page allocator used directly, with 4 KiB pages (every block rounds up to whole pages). */
const PAGE_SIZE = 4096;

/** `@memkit/page-allocator` as a block allocator: meant for large blocks, so it runs C and E only. */
class MemkitPageSubject implements Subject {
  private readonly pages: PageAllocator;
  private u8: Uint8Array;
  /** Zeroes as memkit's allocateZeroed does (see Subject.zero). */
  private readonly fill: FillBytes;
  private readonly unsubscribe: () => void;

  constructor(space: AddressSpace, pages: PageAllocator) {
    this.pages = pages;
    this.u8 = space.u8;
    this.fill = space.bytes.fill;
    this.unsubscribe = space.onGrow(() => {
      this.u8 = space.u8;
    });
  }

  alloc(size: number): number {
    return this.pages.allocate(size);
  }

  allocAligned(size: number, align: number): number {
    return this.pages.allocate(size, align);
  }

  zero(handle: number, size: number): void {
    this.fill(handle, 0, size);
  }

  free(handle: number): void {
    this.pages.deallocate(handle);
  }

  realloc(handle: number, size: number): number {
    return this.pages.reallocate(handle, size);
  }

  write(handle: number, size: number, value: number): void {
    const u8 = this.u8;
    u8[handle] = value;
    u8[handle + size - 1] = value;
  }

  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }

  footprint(): number {
    return this.pages.stats().reservedBytes;
  }

  destroy(): void {
    this.unsubscribe();
    this.pages.destroy();
  }
}

/** The page-allocator subject. */
export async function load(): Promise<SubjectFactory> {
  const Pages = await loadPageAllocator();
  return {
    footprintNote: MEMKIT_FOOTPRINT_NOTE,
    create: () => {
      const { space, pages } = createBacking(Pages, PAGE_SIZE);
      return new MemkitPageSubject(space, pages);
    },
  };
}
