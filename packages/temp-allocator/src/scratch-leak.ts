import { LeakError, formatSize, type LeakedBlock } from "@memkit/core";

/**
 * The LeakError for a scratch stack that still holds marks or blocks where it
 * should be empty. `live` holds the live blocks' pointers, oldest first; each
 * block's size is the first word of its header (`headerBytes` below the pointer).
 */
export function scratchLeak(name: string, marks: number, live: Uint32Array, u32: Uint32Array, headerBytes: number): LeakError {
  const blocks: LeakedBlock[] = [];
  let bytes = 0;
  for (const ptr of live) {
    const size = u32[(ptr - headerBytes) >>> 2]!;
    blocks.push({ scope: name, ptr, size });
    bytes += size;
  }
  const held: string[] = [];
  if (marks > 0) held.push(`${marks} mark${marks === 1 ? "" : "s"} still held`);
  if (blocks.length > 0) held.push(`${blocks.length} block${blocks.length === 1 ? "" : "s"} (${formatSize(bytes)}) still allocated`);
  const advice =
    marks > 0
      ? "  Every mark() needs its release(mark) on every path out of the function (withMark(body) does it); releasing the oldest mark frees everything above it."
      : "  Blocks allocated outside a mark stay until deallocate pops them (newest first) or reset() drops them all.";
  return new LeakError(`${name}: ${held.join(" and ")}.\n${advice}`, { scopes: [name], count: blocks.length, bytes, blocks });
}
