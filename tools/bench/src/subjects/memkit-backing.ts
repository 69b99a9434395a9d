import { AddressSpace } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import type { PageAllocator, PageAllocatorOptions } from "@memkit/page-allocator";
import { MAXIMUM_BYTES, RESERVED_BYTES, importExport } from "./subject.js";

/** Every memkit subject gets a fresh space of this size per run (see {@link RESERVED_BYTES}: nothing grows). */
export const MEMKIT_SPACE = { initialBytes: RESERVED_BYTES, maximumBytes: MAXIMUM_BYTES } as const;

/** A memkit allocator as the adapters use it: the contract plus the optional destroy(). */
export interface MemkitAllocator extends Allocator {
  destroy?(): void;
}

/** What a memkit allocator over pages is constructed with: `new X(pages, options)`. */
export type OverPages<T extends MemkitAllocator> = new (pages: PageAllocator, options?: Record<string, unknown>) => T;

type PageAllocatorClass = new (space: AddressSpace, options?: PageAllocatorOptions) => PageAllocator;

/** The page allocator class, or SubjectUnavailableError when its package is not built/exported. */
export function loadPageAllocator(): Promise<PageAllocatorClass> {
  return importExport<PageAllocatorClass>("@memkit/page-allocator", "PageAllocator", () => import("@memkit/page-allocator"));
}

/** A fresh address space and page allocator. */
export interface MemkitBacking {
  readonly space: AddressSpace;
  readonly pages: PageAllocator;
}

/** Creates the backing of one run: {@link MEMKIT_SPACE} and a page allocator of `pageSize`. */
export function createBacking(Pages: PageAllocatorClass, pageSize: number): MemkitBacking {
  const space = AddressSpace.create(MEMKIT_SPACE);
  return { space, pages: new Pages(space, { pageSize }) };
}

/** Footprint note shared by the memkit subjects. */
export const MEMKIT_FOOTPRINT_NOTE = "memkit: bytes of pages carved from the address space (page allocator reservedBytes)";
