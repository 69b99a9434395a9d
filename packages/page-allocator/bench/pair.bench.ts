// Cost of an allocate/free pair on a private space against a shared one (the
// lock taken uncontended, every write logged), in one run.
//   npm run bench          (bundles with rolldown, runs with plain Node)
import { AddressSpace, ThreadTable } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";

const PAGE = 4096;
const PAIRS = 200_000;
const ROUNDS = 7;

function make(shared: boolean): PageAllocator {
  const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 64 << 20, shared });
  const thread = shared ? ThreadTable.create(space, 1024).claim("bench") : undefined;
  return new PageAllocator(space, { pageSize: PAGE, controlPtr: 8192, thread });
}

/** ns per allocate/free pair: a few live spans of 1..8 pages, freed in a rotating order. */
function run(pages: PageAllocator): number {
  const live = new Int32Array(16);
  for (let i = 0; i < live.length; i++) live[i] = pages.allocate(((i % 8) + 1) * PAGE);
  const start = process.hrtime.bigint();
  for (let i = 0; i < PAIRS; i++) {
    const k = (i * 7) & 15;
    pages.deallocate(live[k]!);
    live[k] = pages.allocate(((i % 8) + 1) * PAGE);
  }
  const ns = Number(process.hrtime.bigint() - start) / PAIRS;
  for (const p of live) pages.deallocate(p);
  return ns;
}

// Private first, every round, before a shared allocator exists: a process that has only private page
// allocators sees one kind of word store (WordStore), which V8 inlines; once both kinds run, the writes
// become polymorphic. The shared rounds then run in the same process.
const best = { private: Infinity, shared: Infinity };
for (const name of ["private", "shared"] as const) {
  const pages = make(name === "shared");
  for (let round = 0; round < ROUNDS; round++) best[name] = Math.min(best[name], run(pages));
}
console.log(`allocate+free pair, private space: ${best.private.toFixed(1)} ns`);
console.log(`allocate+free pair, shared space (lock, logged writes): ${best.shared.toFixed(1)} ns`);
console.log(`shared / private: ${(best.shared / best.private).toFixed(2)}x`);
