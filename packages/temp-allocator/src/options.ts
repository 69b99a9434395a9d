import { InvalidArgumentError, describe, formatBytes, type Allocator, type Ptr } from "@memkit/core";
import { CHUNK_HEADER } from "./chunk.js";
import type { FrameGrowthWarning } from "./frame-growth.js";

/** Standard chunk size when none is given: one 64 KiB page of the default page allocator. */
export const DEFAULT_CHUNK_BYTES = 64 << 10;
/** Smallest standard chunk accepted. */
export const MIN_CHUNK_BYTES = 1 << 10;
/** Largest standard chunk accepted (larger requests still get dedicated chunks). */
export const MAX_STANDARD_CHUNK_BYTES = 1 << 30;

/** Options shared by both temp allocators. */
export interface TempAllocatorOptions {
  /** Name used in messages and reports. */
  name?: string;
  /**
   * Bytes of each standard chunk leased from the backing allocator (a
   * multiple of 8, 1 KiB .. 1 GiB, header included). Match it to the backing's
   * page size so no backing page is half used. Requests that do not fit a
   * standard chunk get a dedicated chunk of their own size.
   * @defaultValue 65536
   */
  chunkBytes?: number;
  /**
   * Where the control block goes (8-aligned, `FrameAllocator.controlBytes(arenas)`
   * or `ScratchAllocator.controlBytes()` bytes of memory the caller owns, such
   * as a region carved from the bootstrap heap). Without it the control block
   * is leased from the backing (and counted in reservedBytes).
   */
  controlPtr?: Ptr;
}

/** Options of `FrameAllocator.attach` / `ScratchAllocator.attach`. */
export interface TempAttachOptions {
  /**
   * The allocator the chunks come from: the creating side's backing, or a
   * handle on the same allocator in this thread (an attached page allocator).
   * When the backing has a `controlPtr`, it must be the one recorded at creation.
   */
  backing: Allocator;
  /** Name of this handle, for messages. @defaultValue "frame" / "scratch" */
  name?: string;
}

/** Options of `FrameAllocator.attach`. */
export interface FrameAttachOptions extends TempAttachOptions {
  /** Receives this handle's growth warning instead of `console.warn` (the warning fires once per allocator, whichever handle sees it). */
  onFrameGrowth?: (warning: FrameGrowthWarning) => void;
}

/** Options for {@link ScratchAllocator}. */
export interface ScratchAllocatorOptions extends TempAllocatorOptions {
  /** @defaultValue "scratch" */
  name?: string;
}

/** Options for {@link FrameAllocator}. */
export interface FrameAllocatorOptions extends TempAllocatorOptions {
  /** @defaultValue "frame" */
  name?: string;
  /**
   * Frame arenas in the ring, 1..64: memory allocated in frame k stays valid
   * through frame k + arenas - 1. 2 = "this frame and the previous one".
   * @defaultValue 2
   */
  arenas?: number;
  /**
   * Debug mode: recycled frame memory is filled with `FRAME_FREED_BYTE` (0xdd),
   * writes into it are detected by {@link FrameAllocator.check},
   * {@link FrameAllocator.beginFrame} and the allocation that would hand it
   * out again, and `deallocate` marks blocks freed so a second free throws.
   * Costs O(bytes) per frame and per allocation.
   * @defaultValue false
   */
  debug?: boolean;
  /**
   * Warn when the current frame holds more than this multiple of the typical
   * frame's bytes: a running average over roughly the last 16 frames, at least
   * one chunk (16 chunks during the first 16 frames, which have little
   * history; one chunk before the first beginFrame()). Checked when the frame
   * chains a chunk. Once per allocator. `Infinity` turns it off.
   * @defaultValue 8
   */
  growthWarningFactor?: number;
  /**
   * Receives the growth warning instead of `console.warn` (once per allocator).
   * @defaultValue console.warn of `warning.message`
   */
  onFrameGrowth?: (warning: FrameGrowthWarning) => void;
}

/** Validates the chunkBytes option for `who`; returns it or the default. */
function resolveChunkBytes(who: string, chunkBytes: number | undefined): number {
  const value = chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(value) || value < MIN_CHUNK_BYTES || value > MAX_STANDARD_CHUNK_BYTES || value % 8 !== 0) {
    throw new InvalidArgumentError(
      `${who}: option chunkBytes must be a multiple of 8 from ${formatBytes(MIN_CHUNK_BYTES)} to ${formatBytes(MAX_STANDARD_CHUNK_BYTES)}, ` +
        `received ${describe(value)}.\n  It includes a ${CHUNK_HEADER}-byte chunk header; match it to the backing's page size.`,
    );
  }
  return value;
}

/** Validates the chunkBytes option (and refuses its old name, which would otherwise be ignored); returns it or the default. */
export function resolveChunkOption(who: string, options: TempAllocatorOptions): number {
  if (Object.hasOwn(options, "chunkSize")) {
    throw new InvalidArgumentError(`${who}: option chunkSize is now chunkBytes (every byte-count option ends in Bytes).`);
  }
  return resolveChunkBytes(who, options.chunkBytes);
}

/** Validates the controlPtr option: undefined (lease it) or a non-zero 8-aligned address. */
export function resolveControlPtr(who: string, controlPtr: unknown): Ptr | undefined {
  if (controlPtr === undefined) return undefined;
  if (typeof controlPtr !== "number" || controlPtr >>> 0 !== controlPtr || controlPtr === 0 || controlPtr % 8 !== 0) {
    throw new InvalidArgumentError(`${who}: option controlPtr must be a non-zero 8-aligned address, received ${describe(controlPtr)}.`);
  }
  return controlPtr;
}

/** Validates the name option. */
export function resolveName(who: string, name: unknown, fallback: string): string {
  if (name === undefined) return fallback;
  if (typeof name !== "string" || name.length === 0) {
    throw new InvalidArgumentError(`${who}: option name must be a non-empty string, received ${describe(name)}.`);
  }
  return name;
}
