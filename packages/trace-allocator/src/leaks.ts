import { formatBytes, formatCount, hex } from "@memkit/core";
import { RETAINED, ROW_MASK, R_PTR, R_SITE, R_SIZE, R_WORD, headerOf } from "./block-records.js";
import { shortFrame } from "./call-stacks.js";
import { C_LIVE_BYTES, C_LIVE_COUNT, C_RETAINED_BYTES, C_RETAINED_COUNT, ROW_SHIFT, type Registry } from "./registry.js";
import { internals, type TraceAllocator } from "./trace-allocator.js";
import type { RetainedBlock, TraceLeakReport, TracedBlock } from "./types.js";

/** Blocks listed in a LeakError's message (all of them are in `error.report`). */
export const LEAK_MESSAGE_BLOCKS = 20;
/** Frames per block in the message (the whole stack is in `error.report`). */
const MESSAGE_FRAMES = 6;

/** Scopes of `scope`'s subtree, parents before children. */
export function subtreeOf(scope: TraceAllocator): TraceAllocator[] {
  const out: TraceAllocator[] = [];
  const walk = (s: TraceAllocator): void => {
    out.push(s);
    for (const child of s.children) walk(child);
  };
  walk(scope);
  return out;
}

/**
 * Everything `scope`'s subtree still holds: blocks that are not retained
 * (leaks), retained blocks (listed apart), and live descendant scopes. A walk
 * over the tree's block table: teardown-time work, never on a hot path.
 */
export function collectLeaks(scope: TraceAllocator): TraceLeakReport {
  const { reg, row } = internals(scope);
  const report: TraceLeakReport = { scope: scope.path, scopes: [], count: 0, bytes: 0, blocks: [], liveScopes: [], retained: [], untracked: [] };
  if (row < 0) return report;
  const subtree = subtreeOf(scope);
  const order = new Map<number, number>();
  subtree.forEach((s, i) => order.set(internals(s).row, i));
  const { data, count } = reg.records;
  const rank = new Map<TracedBlock, number>();
  for (let i = 0; i < count; i++) {
    const r = i << 2;
    const ptr = data[r + R_PTR]!;
    const word = data[r + R_WORD]!;
    const at = order.get(word & ROW_MASK);
    if (at === undefined) continue;
    const owner = subtree[at]!;
    const block: TracedBlock = { scope: owner.path, ptr, size: data[r + R_SIZE]!, frame: reg.records.frameOf(ptr, reg.i32) };
    const siteId = data[r + R_SITE]!;
    const stack = stackOf(reg, siteId);
    if (stack !== undefined) block.stack = stack;
    const label = labelOf(reg, siteId);
    if (label !== undefined) block.label = label;
    rank.set(block, at);
    if ((word & RETAINED) !== 0) {
      const info = reg.retained.get(ptr);
      const kept: RetainedBlock = { ...block, origin: info?.origin ?? owner.path };
      if (info?.reason !== undefined) kept.reason = info.reason;
      report.retained.push(kept);
    } else {
      report.blocks.push(block);
      report.count++;
      report.bytes += block.size;
    }
  }
  // "off" scopes keep no records, only counters: what they still hold is known by number and bytes.
  for (const s of subtree) {
    const own = internals(s);
    if (own.level !== "off" || own.row < 0) continue;
    const o = own.row << ROW_SHIFT;
    const count = reg.counters[o + C_LIVE_COUNT]! - reg.counters[o + C_RETAINED_COUNT]!;
    const bytes = reg.counters[o + C_LIVE_BYTES]! - reg.counters[o + C_RETAINED_BYTES]!;
    if (count <= 0) continue;
    report.untracked.push({ scope: s.path, count, bytes });
    report.count += count;
    report.bytes += bytes;
  }
  const byScopeThenAddress = (a: TracedBlock, b: TracedBlock): number => rank.get(a)! - rank.get(b)! || a.ptr - b.ptr;
  report.blocks.sort(byScopeThenAddress);
  report.retained.sort((a, b) => a.origin.localeCompare(b.origin) || a.ptr - b.ptr);
  report.liveScopes = subtree.slice(1).map((s) => s.path);
  const holding = new Set([...report.blocks, ...report.untracked].map((b) => b.scope));
  // The scope itself when it holds blocks or live children, and every live descendant.
  report.scopes = subtree.filter((s, i) => i > 0 || holding.has(s.path) || report.liveScopes.length > 0).map((s) => s.path);
  return report;
}

/**
 * Calls `visit` for every block live in `scope`'s subtree when the walk
 * starts and still live there when its turn comes (the visitor is user code:
 * it may free, allocate, create and dispose scopes). See forEachLiveBlock.
 */
export function walkLiveBlocks(scope: TraceAllocator, visit: (ptr: number, size: number, scope: string) => void): void {
  const { reg } = internals(scope);
  if (internals(scope).row < 0) return;
  const records = reg.records;
  const ptrs = records.data.filter((_, k) => (k & 3) === 0 && k >> 2 < records.count);
  for (const ptr of ptrs) {
    const top = internals(scope).row;
    if (top < 0) return;
    const i = records.find(ptr, reg.i32);
    if (i < 0) continue;
    const row = records.data[(i << 2) + R_WORD]! & ROW_MASK;
    if (!reg.isWithin(row, top)) continue;
    visit(ptr, records.data[(i << 2) + R_SIZE]!, reg.scopes[row]?.path ?? scope.path);
  }
}

/**
 * Bytes the live blocks of `row` take from their backing allocators: usable
 * sizes with headers. O(live blocks of the tree).
 */
export function reservedBytesOf(reg: Registry, row: number): number {
  const { data, count } = reg.records;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const word = data[(i << 2) + R_WORD]!;
    if ((word & ROW_MASK) !== row) continue;
    sum += blockBytes(reg, data[(i << 2) + R_PTR]!, word);
  }
  return sum;
}

/** What the block at `ptr` (record word `word`) takes from its backing allocator. */
export function blockBytes(reg: Registry, ptr: number, word: number): number {
  const h = headerOf(word);
  const origin = (word & RETAINED) !== 0 ? reg.retained.get(ptr)?.originScope : undefined;
  const backing = origin?.backing ?? reg.scopes[word & ROW_MASK]!.backing;
  return backing.allocatedSize(ptr - h);
}

/** The interned stack of a site, if the site captured one. */
export function stackOf(reg: Registry, siteId: number): string | undefined {
  if (siteId === 0) return undefined;
  const site = reg.sites[siteId];
  return site === undefined ? undefined : reg.stacks.get(site.stack);
}

/** The label text of a site, if the site has a label. */
export function labelOf(reg: Registry, siteId: number): string | undefined {
  if (siteId === 0) return undefined;
  const site = reg.sites[siteId];
  return site === undefined ? undefined : reg.labels.text(site.label);
}

/** A label on one line (labels are free text; a message or a table row must not break). */
export function oneLine(label: string): string {
  return label.replace(/\s+/g, " ");
}

/**
 * The LeakError message: the scope path, how many blocks and bytes, up to
 * {@link LEAK_MESSAGE_BLOCKS} blocks with address, size and call stack, live
 * child scopes, what was retained, and what to do.
 *
 * ```
 * scope root/level/streaming leaked 2 blocks (4.00 KiB)
 *   0x0012a040  4,000 B  allocated at loadChunk (level/streaming.ts:88)
 *                                   at LevelStreamer.update (level/streaming.ts:41)
 *   0x0012b000     64 B  HashMap<u32, u32> "chunks"  allocated at ...
 * ```
 */
export function formatLeakMessage(report: TraceLeakReport, allowedBytes?: number): string {
  const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;
  let head = `scope ${report.scope} leaked ${plural(report.count, "block")} (${formatBytes(report.bytes)})`;
  if (report.liveScopes.length > 0) head += ` and has ${plural(report.liveScopes.length, "live child scope")}`;
  if (allowedBytes !== undefined) head += `: more than the ${formatBytes(allowedBytes)} disposeAllowingLeaks(${allowedBytes}) tolerates`;
  const lines = [head];
  const shown = report.blocks.slice(0, LEAK_MESSAGE_BLOCKS);
  const sizeWidth = Math.max(0, ...shown.map((b) => formatCount(b.size).length));
  for (const block of shown) {
    const prefix = `  ${hex(block.ptr)}  ${formatCount(block.size).padStart(sizeWidth)} B  `;
    let lead = block.scope === report.scope ? "" : `in ${block.scope}, `;
    if (block.label !== undefined) lead += `${oneLine(block.label)}  `;
    const frameNote = block.frame > 0 ? ` [frame ${block.frame}]` : "";
    const frames = block.stack === undefined ? [] : block.stack.split("\n").slice(0, MESSAGE_FRAMES).map(shortFrame);
    if (frames.length === 0) {
      lead = lead.replace(/, $/, "").trimEnd();
      lines.push(`${prefix}${lead}${frameNote}`.trimEnd());
      continue;
    }
    lines.push(`${prefix}${lead}allocated at ${frames[0]!}${frameNote}`);
    const indent = " ".repeat(prefix.length + lead.length + "allocated ".length);
    for (const frame of frames.slice(1)) lines.push(`${indent}at ${frame}`);
  }
  const hidden = report.blocks.length - shown.length;
  if (hidden > 0) {
    const rest = report.blocks.slice(LEAK_MESSAGE_BLOCKS).reduce((sum, b) => sum + b.size, 0);
    lines.push(`  ... and ${plural(hidden, "more block")} (${formatBytes(rest)}): see error.report.blocks`);
  }
  for (const u of report.untracked) {
    lines.push(`  ${u.scope}: ${plural(u.count, "block")} (${formatBytes(u.bytes)} usable) at tracing "off", which keeps counts, not a list of blocks`);
  }
  if (report.liveScopes.length > 0) lines.push(`  live child scopes (dispose them first): ${report.liveScopes.join(", ")}`);
  if (report.retained.length > 0) {
    const bytes = report.retained.reduce((sum, b) => sum + b.size, 0);
    lines.push(`  retained on purpose, not counted: ${plural(report.retained.length, "block")} (${formatBytes(bytes)})`);
  }
  if (report.untracked.length > 0) {
    lines.push(`  To list and place those blocks, create the scope with tracing "callstacks" ("off" is fixed at creation).`);
  } else if (report.count > 0 && !report.blocks.some((b) => b.stack !== undefined)) {
    lines.push(`  No call stacks were captured: use tracing "callstacks" (scope.setTracing("callstacks")) to see where each block was allocated.`);
  }
  lines.push(`  Free them before dispose(), retain(ptr) what must outlive the scope, or disposeAllowingLeaks(maxBytes) for code you cannot fix.`);
  return lines.join("\n");
}
