import { formatBytes, formatCount, hex } from "@memkit/core";
import { shortFrame } from "./call-stacks.js";
import { addLaneReserved } from "./lane-walks.js";
import { D_LIVE_BYTES, D_LIVE_COUNT, D_RETAINED_BYTES, D_RETAINED_COUNT, OFF, RETAINED, ROW_MASK, R_SIZE, R_WORD } from "./layout.js";
import { frameOf, headerOf, recordAt, recordCount, findRecord } from "./records.js";
import { backingIdOf, retainedInfo, siteOfRecord } from "./retained.js";
import { labelOf, stackOf } from "./sites.js";
import { isScope, isWithin, levelOf, pathOf, rowF64, subtreeRows, type TreeView } from "./tree-view.js";
import type { RetainedBlock, TraceLeakReport, TracedBlock } from "./types.js";

/** Blocks listed in a LeakError's message (all of them are in `error.report`). */
export const LEAK_MESSAGE_BLOCKS = 20;
/** Frames per block in the message (the whole stack is in `error.report`). */
const MESSAGE_FRAMES = 6;

/**
 * Everything the subtree of the scope at `row` (generation `gen`) still
 * holds: blocks that are not retained (leaks), retained blocks (listed
 * apart), and live descendant scopes. A walk over the tree's records:
 * teardown-time work, never on a hot path. `path` names a scope that is gone.
 */
export function collectLeaks(view: TreeView, row: number, gen: number, path: string): TraceLeakReport {
  const report: TraceLeakReport = { scope: path, scopes: [], count: 0, bytes: 0, blocks: [], liveScopes: [], retained: [], untracked: [] };
  if (!isScope(view, row, gen)) return report;
  const subtree = subtreeRows(view, row);
  const paths = subtree.map((r) => pathOf(view, r));
  report.scope = paths[0]!;
  const order = new Map<number, number>();
  subtree.forEach((r, i) => order.set(r, i));
  const rank = new Map<TracedBlock, number>();
  const count = recordCount(view);
  for (let i = 0; i < count; i++) {
    const r = recordAt(view, i);
    const ptr = view.i32[r]!;
    const word = view.i32[r + R_WORD]!;
    const at = order.get(word & ROW_MASK);
    if (at === undefined) continue;
    const block: TracedBlock = { scope: paths[at]!, ptr, size: view.i32[r + R_SIZE]!, frame: frameOf(view, ptr) };
    const siteId = siteOfRecord(view, i);
    const stack = stackOf(view, siteId);
    if (stack !== undefined) block.stack = stack;
    const label = labelOf(view, siteId);
    if (label !== undefined) block.label = label;
    rank.set(block, at);
    if ((word & RETAINED) !== 0) {
      const info = retainedInfo(view, i);
      const kept: RetainedBlock = { ...block, origin: info.origin };
      if (info.reason !== undefined) kept.reason = info.reason;
      report.retained.push(kept);
    } else {
      report.blocks.push(block);
      report.count++;
      report.bytes += block.size;
    }
  }
  // "off" scopes keep no records, only counters: what they still hold is known by number and bytes.
  subtree.forEach((r, at) => {
    if (levelOf(view, r) !== OFF) return;
    const o = rowF64(view, r);
    const n = view.f64[o + D_LIVE_COUNT]! - view.f64[o + D_RETAINED_COUNT]!;
    const bytes = view.f64[o + D_LIVE_BYTES]! - view.f64[o + D_RETAINED_BYTES]!;
    if (n <= 0) return;
    report.untracked.push({ scope: paths[at]!, count: n, bytes });
    report.count += n;
    report.bytes += bytes;
  });
  const byScopeThenAddress = (a: TracedBlock, b: TracedBlock): number => rank.get(a)! - rank.get(b)! || a.ptr - b.ptr;
  report.blocks.sort(byScopeThenAddress);
  report.retained.sort((a, b) => a.origin.localeCompare(b.origin) || a.ptr - b.ptr);
  report.liveScopes = paths.slice(1);
  const holding = new Set([...report.blocks, ...report.untracked].map((b) => b.scope));
  // The scope itself when it holds blocks or live children, and every live descendant.
  report.scopes = paths.filter((p, i) => i > 0 || holding.has(p) || report.liveScopes.length > 0);
  return report;
}

/**
 * Calls `visit` for every block live in the subtree of the scope at `row`
 * (generation `gen`) when the walk starts and still live there when its turn
 * comes (the visitor is user code: it may free, allocate, create and dispose
 * scopes). See forEachLiveBlock.
 */
export function walkLiveBlocks(view: TreeView, row: number, gen: number, visit: (ptr: number, size: number, scope: string) => void): void {
  if (!isScope(view, row, gen)) return;
  const count = recordCount(view);
  const ptrs: number[] = [];
  for (let i = 0; i < count; i++) ptrs.push(view.i32[recordAt(view, i)]!);
  for (const ptr of ptrs) {
    if (!isScope(view, row, gen)) return;
    const i = findRecord(view, ptr);
    if (i < 0) continue;
    const r = recordAt(view, i);
    const owner = view.i32[r + R_WORD]! & ROW_MASK;
    if (!isWithin(view, owner, row)) continue;
    visit(ptr, view.i32[r + R_SIZE]!, pathOf(view, owner));
  }
}

/**
 * Bytes the live blocks of `row` take from their backing allocators: usable
 * sizes with headers. O(live blocks of the tree).
 */
export function reservedBytesOf(view: TreeView, row: number): number {
  const count = recordCount(view);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    if ((view.i32[recordAt(view, i) + R_WORD]! & ROW_MASK) === row) sum += blockBytes(view, i);
  }
  const lanes = new Map<number, number>();
  addLaneReserved(view, lanes, row);
  return sum + (lanes.get(row) ?? 0);
}

/** What the block of record `i` takes from its backing allocator. */
export function blockBytes(view: TreeView, i: number): number {
  const r = recordAt(view, i);
  const h = headerOf(view.i32[r + R_WORD]!);
  return view.backingOf(backingIdOf(view, i)).allocatedSize(view.i32[r]! - h);
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
