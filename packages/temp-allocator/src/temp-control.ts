import {
  type Attachment,
  InvalidArgumentError,
  OutOfMemoryError,
  describe,
  formatBytes,
  hex,
  initControl,
  sealControl,
  type AddressSpace,
  type Allocator,
  type ControlLayout,
  type Ptr,
} from "@memkit/core";
import { nextAllocatorKey } from "./stamp.js";
import { CONFIG_LEASED, D_FACTOR, W_BACKING, W_CHUNK_BYTES, W_CONFIG, W_KEY, W_META_BYTES } from "./temp-layout.js";

/** Where a temp allocator's handle comes from: a control block just written, or one opened for attach. */
export interface TempSource {
  readonly space: AddressSpace;
  readonly controlPtr: Ptr;
  readonly backing: Allocator;
  readonly name: string;
  /** Set when attaching: the verified control block. */
  readonly attachment: Attachment | undefined;
}

/** What a new control block records in its fixed words. */
export interface TempFixed {
  chunkBytes: number;
  /** W_CONFIG bits of the kind (CONFIG_LEASED is added here when the block is leased). */
  config: number;
  /** D_FACTOR. */
  factor: number;
}

/** The backing's own controlPtr when it is an allocator with a control block, else 0. */
function backingControl(backing: Allocator): number {
  const ptr = (backing as Allocator & { controlPtr?: unknown }).controlPtr;
  return typeof ptr === "number" && ptr >>> 0 === ptr ? ptr : 0;
}

/** Throws InvalidArgumentError unless `backing` is an allocator (of `space`, when given). */
export function expectBacking(who: string, backing: unknown, space?: AddressSpace): Allocator {
  const b = backing as Partial<Allocator> | null;
  if (b === null || typeof b !== "object" || typeof b.allocate !== "function" || typeof b.deallocate !== "function" || typeof b.space !== "object") {
    throw new InvalidArgumentError(`${who}: the backing must be an Allocator (the chunks come from it), received ${describe(backing)}.`);
  }
  if (space !== undefined && b.space !== space) {
    throw new InvalidArgumentError(`${who}: the backing "${String(b.name)}" allocates in another address space; pass the backing the chunks came from, in the space of the control block.`);
  }
  return backing as Allocator;
}

/**
 * Writes a new control block of `bytes` for `layout` at `controlPtr`, or in
 * a block leased from the backing when it is undefined, and seals its fixed
 * words. Returns where it is; the state words are zero.
 */
export function createTempControl(backing: Allocator, name: string, layout: ControlLayout, bytes: number, controlPtr: Ptr | undefined, fixed: TempFixed): TempSource {
  const space = backing.space;
  let ptr = controlPtr ?? 0;
  let config = fixed.config;
  let leased = 0;
  if (controlPtr === undefined) {
    try {
      ptr = backing.allocate(bytes, 8);
    } catch (cause) {
      if (!(cause instanceof OutOfMemoryError)) throw cause;
      throw new OutOfMemoryError(`${layout.kind} "${name}": the backing "${backing.name}" has no ${formatBytes(bytes)} left for the control block.`, { cause });
    }
    leased = backing.allocatedSize(ptr);
    config |= CONFIG_LEASED;
  }
  initControl(space, ptr, layout, bytes);
  const u32 = space.u32;
  const w = ptr >>> 2;
  u32[w + W_KEY] = nextAllocatorKey(ptr);
  u32[w + W_CHUNK_BYTES] = fixed.chunkBytes;
  u32[w + W_BACKING] = backingControl(backing);
  u32[w + W_CONFIG] = config;
  space.f64[(ptr >>> 3) + D_FACTOR] = fixed.factor;
  sealControl(space, ptr, layout);
  u32[w + W_META_BYTES] = leased;
  return { space, controlPtr: ptr, backing, name, attachment: undefined };
}

/** The source of an attached handle: the control block `attachment` verified, leasing through `backing`, which must match the one recorded. */
export function attachTempSource(attachment: Attachment, layout: ControlLayout, backing: unknown, name: string): TempSource {
  const { space, controlPtr, who } = attachment;
  const b = expectBacking(who, backing, space);
  const recorded = space.u32[(controlPtr >>> 2) + W_BACKING]!;
  const given = backingControl(b);
  if (recorded !== 0 && given !== 0 && given !== recorded) {
    throw new InvalidArgumentError(
      `${who}: the ${layout.kind} at ${hex(controlPtr)} leases its chunks from the allocator whose control block is at ${hex(recorded)}; ` +
        `the backing passed ("${b.name}") is the one at ${hex(given)}. Pass a handle on the allocator it was created with.`,
    );
  }
  return { space, controlPtr, backing: b, name, attachment };
}
