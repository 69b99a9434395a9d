import type { Ptr } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";

/** Options for {@link HeapAllocator}. */
export interface HeapAllocatorOptions {
  /** Name used in messages, reports and the page allocator's owner table. @defaultValue "heap" */
  name?: string;
  /**
   * Lease granularity: bytes of each span leased from the page allocator,
   * rounded up to whole pages. A request too large for a span of this size
   * leases one span just big enough for it. The first ("home") span also
   * holds the heap's 3 KiB control block and is kept until {@link HeapAllocator.destroy}.
   * @defaultValue 1 MiB
   */
  spanBytes?: number;
}

/** Options for {@link HeapAllocator.attach}. */
export interface HeapAttachOptions {
  /** Name this handle uses in messages and reports. @defaultValue the name the heap registered with its page allocator */
  name?: string;
  /**
   * A handle on the page allocator the heap leases from (the one its control
   * block records). @defaultValue this thread's live handle on it, or a new
   * one attached for this heap handle (and detached with it)
   */
  pages?: PageAllocator;
}

/** Visitor for {@link HeapAllocator.walk}: one call per block, in address order within each span. */
export type BlockVisitor = (ptr: Ptr, usableBytes: number, free: boolean) => void;
