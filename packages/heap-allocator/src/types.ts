import type { Ptr } from "@memkit/core";

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

/** Visitor for {@link HeapAllocator.walk}: one call per block, in address order within each span. */
export type BlockVisitor = (ptr: Ptr, usableBytes: number, free: boolean) => void;
