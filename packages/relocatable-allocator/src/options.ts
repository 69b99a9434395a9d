import {
  Attachment,
  InvalidArgumentError,
  OutOfMemoryError,
  controlWord,
  describe,
  formatSize,
  hex,
  initControl,
  sealControl,
  type AddressSpace,
  type Allocator,
  type Ptr,
} from "@memkit/core";
import { DEFAULT_INDEX_BITS } from "@memkit/containers";
import {
  CONTROL_BYTES,
  DEFAULT_CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  MIN_CHUNK_BYTES,
  RELOCATABLE_LAYOUT,
  W_BACKING,
  W_CHUNK_BYTES,
  W_FREE_HEAD,
  W_FREE_TAIL,
  W_INDEX_BITS,
  W_LEASED,
} from "./layout.js";

/** Options of a new {@link RelocatableAllocator}. */
export interface RelocatableAllocatorOptions {
  /** Name in messages and reports. @defaultValue "relocatable" */
  name?: string;
  /**
   * Bytes of a standard chunk leased from the backing (a multiple of 8 from
   * 4 KiB to 1 GiB); a block that does not fit gets a chunk of its own.
   * @defaultValue 256 KiB
   */
  chunkBytes?: number;
  /**
   * Bits of a handle holding the slot index (8..22), as in HandlePool: the
   * other `30 - indexBits` hold the generation.
   * @defaultValue 20 (1,048,576 blocks, 1,023 generations)
   */
  indexBits?: number;
}

/** Options of {@link RelocatableAllocator.attach}. */
export interface RelocatableAttachOptions {
  /** The backing the allocator leases from (a handle on it in this thread). */
  backing: Allocator;
  /** Name in messages. @defaultValue "relocatable" */
  name?: string;
}

/** Where a handle's control block is, and what it leases from. */
export interface RelocatableSource {
  readonly space: AddressSpace;
  readonly controlPtr: Ptr;
  readonly backing: Allocator;
  readonly name: string;
  readonly chunkBytes: number;
  readonly indexBits: number;
}

/** The backing's own controlPtr when it is an allocator with a control block, else 0. */
function backingControl(backing: Allocator): number {
  const ptr = (backing as Allocator & { controlPtr?: unknown }).controlPtr;
  return typeof ptr === "number" && ptr >>> 0 === ptr ? ptr : 0;
}

function expectBacking(who: string, backing: unknown): Allocator {
  const b = backing as Partial<Allocator> | null;
  if (b === null || typeof b !== "object" || typeof b.allocate !== "function" || typeof b.deallocate !== "function" || typeof b.space !== "object") {
    throw new InvalidArgumentError(`${who}: the backing must be an Allocator (chunks and tables are leased from it), received ${describe(backing)}.`);
  }
  return backing as Allocator;
}

function resolveName(who: string, name: unknown): string {
  if (name === undefined) return "relocatable";
  if (typeof name !== "string") throw new InvalidArgumentError(`${who}: option name must be a string, received ${describe(name)}.`);
  return name;
}

/** Validates the options and writes a new control block, or opens the attached one. */
export function relocatableSource(source: Allocator | Attachment, options: RelocatableAllocatorOptions | RelocatableAttachOptions | undefined): RelocatableSource {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new InvalidArgumentError(`RelocatableAllocator: options must be an object, received ${describe(options)}.`);
  }
  if (source instanceof Attachment) return attachSource(source, options as RelocatableAttachOptions);
  const who = "RelocatableAllocator";
  const backing = expectBacking(who, source);
  const o = (options ?? {}) as RelocatableAllocatorOptions;
  const name = resolveName(who, o.name);
  const chunkBytes: unknown = o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (typeof chunkBytes !== "number" || chunkBytes >>> 0 !== chunkBytes || chunkBytes % 8 !== 0 || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
    throw new InvalidArgumentError(`${who} "${name}": option chunkBytes must be a multiple of 8 from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}, received ${describe(chunkBytes)}.`);
  }
  const indexBits: unknown = o.indexBits ?? DEFAULT_INDEX_BITS;
  if (typeof indexBits !== "number" || (indexBits | 0) !== indexBits || indexBits < 8 || indexBits > 22) {
    throw new InvalidArgumentError(`${who} "${name}": option indexBits must be an integer from 8 to 22, received ${describe(indexBits)}.`);
  }
  let ptr: number;
  try {
    ptr = backing.allocate(CONTROL_BYTES, 8);
  } catch (cause) {
    if (!(cause instanceof OutOfMemoryError)) throw cause;
    throw new OutOfMemoryError(`${who} "${name}": the backing "${backing.name}" has no ${formatSize(CONTROL_BYTES)} left for the control block.`, { cause });
  }
  const space = backing.space;
  initControl(space, ptr, RELOCATABLE_LAYOUT, CONTROL_BYTES);
  const u32 = space.u32;
  const w = ptr >>> 2;
  u32[w + W_CHUNK_BYTES] = chunkBytes;
  u32[w + W_INDEX_BITS] = indexBits;
  u32[w + W_BACKING] = backingControl(backing);
  u32[w + W_LEASED] = 1;
  sealControl(space, ptr, RELOCATABLE_LAYOUT);
  const i32 = space.i32;
  i32[w + W_FREE_HEAD] = -1;
  i32[w + W_FREE_TAIL] = -1;
  return { space, controlPtr: ptr, backing, name, chunkBytes, indexBits };
}

function attachSource(attachment: Attachment, options: RelocatableAttachOptions | undefined): RelocatableSource {
  const { space, controlPtr, who } = attachment;
  const backing = expectBacking(who, options?.backing);
  if (backing.space !== space) {
    throw new InvalidArgumentError(`${who}: the backing "${backing.name}" allocates in another address space; pass the one the allocator was created with.`);
  }
  const recorded = space.u32[(controlPtr >>> 2) + W_BACKING]!;
  const given = backingControl(backing);
  if (recorded !== 0 && given !== 0 && given !== recorded) {
    throw new InvalidArgumentError(
      `${who}: the RelocatableAllocator at ${hex(controlPtr)} leases from the allocator whose control block is at ${hex(recorded)}; ` +
        `the backing passed ("${backing.name}") is the one at ${hex(given)}. Pass a handle on the allocator it was created with.`,
    );
  }
  const u32 = space.u32;
  const chunkBytes = controlWord(u32, controlPtr, W_CHUNK_BYTES, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES, RELOCATABLE_LAYOUT, "chunkBytes");
  const indexBits = controlWord(u32, controlPtr, W_INDEX_BITS, 8, 22, RELOCATABLE_LAYOUT, "indexBits");
  return { space, controlPtr, backing, name: resolveName(who, options?.name), chunkBytes, indexBits };
}
