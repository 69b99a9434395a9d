/** Options of {@link RelocatableAllocator.compact}. */
export interface CompactOptions {
  /** Bytes this call may move (plus 8 per block header it looks at). @defaultValue no limit: one whole pass (a load screen) */
  maxBytes?: number;
}


/** Totals of what compaction did, since creation (the control block keeps them). */
export interface RelocationStats {
  /** Payload bytes moved, ever. */
  movedBytes: number;
  /** Blocks moved, ever. */
  moves: number;
  /** compact() calls, ever. */
  compactCalls: number;
  /** Live blocks with at least one pin now. */
  pinnedBlocks: number;
  /** Chunks leased from the backing now. */
  chunks: number;
}
