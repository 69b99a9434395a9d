import { hex } from "@memkit/core";
import type { BumpChain } from "./bump-chain.js";
import { C_BYTES } from "./chunk.js";

/**
 * What check() knows about the chunks it walked: each one is a block the
 * backing handed out (owned, at least as large as its header says), none is
 * met twice or overlaps another or the allocator's own control memory, and
 * together they are exactly the chunks and bytes the control block counts.
 * So a chunk address damaged into anything else is found, whatever its bytes say.
 */
export class ChunkCensus {
  readonly #chain: BumpChain;
  readonly #ranges: [number, number, string][] = [];
  readonly #own: number;
  #bytes = 0;

  /** `own`: byte ranges of the allocator's control memory (control block, tables) no chunk may overlap. */
  constructor(chain: BumpChain, own: readonly (readonly [number, number, string])[]) {
    this.#chain = chain;
    for (const [from, to, what] of own) this.#ranges.push([from, to, what]);
    this.#own = this.#ranges.length;
  }

  /** Counts `chunk` (already through expectChunk); `what` names where it was found. */
  add(chunk: number, what: string): void {
    const chain = this.#chain;
    const bytes = chain.u32[(chunk >>> 2) + C_BYTES]!;
    if (!chain.backing.owns(chunk)) throw chain.corrupt(`${what} at ${hex(chunk)} is not a block of the backing "${chain.backing.name}"`);
    if (chain.backing.allocatedSize(chunk) < bytes) throw chain.corrupt(`${what} at ${hex(chunk)} claims ${bytes} bytes, more than the backing gave it`);
    this.#ranges.push([chunk, chunk + bytes, `${what} at ${hex(chunk)}`]);
    this.#bytes += bytes;
    if (this.#ranges.length - this.#own > chain.chunkCount) throw chain.corrupt(`more chunks are linked than the ${chain.chunkCount} it holds`);
  }

  /** Throws unless the chunks counted are exactly the ones held, and nothing overlaps. */
  finish(): void {
    const chain = this.#chain;
    const chunks = this.#ranges.length - this.#own;
    if (chunks !== chain.chunkCount || this.#bytes !== chain.reservedBytes) {
      throw chain.corrupt(`its lists hold ${chunks} chunks (${this.#bytes} B); the control block counts ${chain.chunkCount} (${chain.reservedBytes} B)`);
    }
    const sorted = this.#ranges.filter(([from, to]) => to > from).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![0] < sorted[i - 1]![1]) throw chain.corrupt(`${sorted[i]![2]} overlaps ${sorted[i - 1]![2]}`);
    }
  }
}
