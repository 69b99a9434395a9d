import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator, type GenericAllocatorOptions } from "@memkit/generic-allocator";

/** A fresh space, page allocator and generic allocator. */
export function makeGeneric(options: GenericAllocatorOptions = {}, initialBytes = 4 << 20, maximumBytes = 512 << 20): { space: AddressSpace; pages: PageAllocator; generic: GenericAllocator } {
  const space = AddressSpace.create({ initialBytes, maximumBytes });
  const pages = new PageAllocator(space);
  return { space, pages, generic: new GenericAllocator(pages, options) };
}
