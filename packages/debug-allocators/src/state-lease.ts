import { OutOfMemoryError, formatBytes, type Allocator } from "@memkit/core";
import { W_STATE_BYTES } from "./wrapper-layout.js";

/** What the growth of a wrapper's tables needs from its handle. */
export interface StateOwner {
  /** Where the tables are leased from. */
  readonly backing: Allocator;
  /** The wrapper's name, for messages. */
  readonly name: string;
  /** u32 index of the control block. */
  readonly w: number;
  /** The handle's current u32 view (read it again after every backing call: the space may have grown). */
  readonly u32: Uint32Array;
}

/**
 * Leases `bytes` (8-aligned) from the owner's backing for one of its tables
 * (`what`, for the message). An OutOfMemoryError says which table could not
 * grow. Returns the block.
 */
export function leaseState(owner: StateOwner, bytes: number, what: string): number {
  try {
    return owner.backing.allocate(bytes, 8);
  } catch (cause) {
    if (!(cause instanceof OutOfMemoryError)) throw cause;
    throw new OutOfMemoryError(
      `${owner.name}: cannot grow its ${what} to ${formatBytes(bytes)}: the backing "${owner.backing.name}" has no room.\n` +
        `  Free blocks sooner, lower the debug layers' bounds, or raise maximumBytes.`,
      { cause },
    );
  }
}

/** Counts `delta` more (or fewer) bytes of the owner's own state. */
export function noteStateBytes(owner: StateOwner, delta: number): void {
  const u32 = owner.u32;
  u32[owner.w + W_STATE_BYTES] = u32[owner.w + W_STATE_BYTES]! + delta;
}
