import type { Allocator, Ptr } from "@memkit/core";

/** Something that keeps the address of a block an allocator may move: told the new address after each move. */
export interface BlockHolder {
  /** @internal The block this holder follows now starts at `ptr` (same size, same bytes). */
  blockRelocated(ptr: Ptr): void;
}

/**
 * An allocator whose pointer blocks may move (a relocatable allocator's
 * `allocate`): a block nobody follows stays where it is; a block a
 * {@link BlockHolder} follows may move, and the holder is told where it went.
 * Containers follow their block when the allocator has this (decided once, at
 * construction), so their hot paths keep indexing a cached base.
 */
export interface MovableBlocks {
  /** Lets the live block at `ptr` move, telling `holder` after each move; replaces an earlier holder. */
  followBlock(ptr: Ptr, holder: BlockHolder): void;
  /** Stops `holder` following the block at `ptr` (the block then stays where it is); anything else is ignored. */
  unfollowBlock(ptr: Ptr, holder: BlockHolder): void;
}

/** True when `allocator` implements {@link MovableBlocks}. */
export function hasMovableBlocks(allocator: object): allocator is Allocator & MovableBlocks {
  const a = allocator as Partial<MovableBlocks>;
  return typeof a.followBlock === "function" && typeof a.unfollowBlock === "function";
}
