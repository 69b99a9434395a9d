import { CorruptionError, hex } from "@memkit/core";
import { GUARDED, HEADER_CODE_MASK, HEADER_SHIFT, OWNER_MASK, RETAINED, ROW_MASK, R_PTR, R_SITE, R_SIZE, R_WORD } from "./block-records.js";
import { checkGuards } from "./header-guard.js";
import { MAX_LABELS } from "./labels.js";
import {
  C_LIVE_BYTES,
  C_LIVE_COUNT,
  C_PEAK_BYTES,
  C_RETAINED_BYTES,
  C_RETAINED_COUNT,
  C_TOTAL_BYTES,
  C_TOTAL_COUNT,
  C_TOTAL_PEAK,
  ROW_SHIFT,
} from "./registry.js";
import { internals, type TraceAllocator } from "./trace-allocator.js";

/**
 * Recounts the whole tree from its block records and compares with every
 * counter: own live bytes and blocks, retained sums, subtree totals, peaks,
 * site sums, that every block's header holds its record index and that
 * every guarded header is whole. An "off" scope keeps no records, so its own
 * live counts (the backing's usable sizes) are taken as they are and only
 * rolled up. O(live blocks + scopes + sites).
 */
export function checkTree(root: TraceAllocator): void {
  const { reg } = internals(root);
  const who = root.path;
  if (reg.guarded) checkGuards(reg, who);
  reg.records.check(who, reg.i32);
  const rows = reg.scopes.length;
  const live = new Float64Array(rows * 4); // bytes, count, retained bytes, retained count
  const siteBytes = new Map<number, number>();
  const siteCount = new Map<number, number>();
  /** (row * MAX_LABELS + label) -> [bytes, blocks] of the live blocks with that label in that row. */
  const labelSums = new Map<number, number[]>();
  let retainedFlags = 0;
  const { data, count } = reg.records;
  for (let i = 0; i < count; i++) {
    const r = i << 2;
    const ptr = data[r + R_PTR]!;
    const word = data[r + R_WORD]!;
    const row = word & ROW_MASK;
    const size = data[r + R_SIZE]!;
    if (row >= rows || reg.scopes[row] === undefined) {
      throw new CorruptionError(`${who}: block ${hex(ptr)} (${size} B) belongs to row ${row}, which no live scope holds.`);
    }
    if (((word >>> HEADER_SHIFT) & HEADER_CODE_MASK) > 13 || (word & ~(OWNER_MASK | (HEADER_CODE_MASK << HEADER_SHIFT) | GUARDED)) !== 0) throw new CorruptionError(`${who}: block ${hex(ptr)} has a malformed record word ${hex(word >>> 0)}.`);
    live[row * 4]! += size;
    live[row * 4 + 1]!++;
    if ((word & RETAINED) !== 0) {
      retainedFlags++;
      live[row * 4 + 2]! += size;
      live[row * 4 + 3]!++;
      if (!reg.retained.has(ptr)) throw new CorruptionError(`${who}: block ${hex(ptr)} is flagged retained but has no retain record.`);
    }
    const site = data[r + R_SITE]!;
    if (site !== 0) {
      const s = reg.sites[site];
      if (s === undefined) throw new CorruptionError(`${who}: block ${hex(ptr)} refers to site ${site}, which does not exist.`);
      siteBytes.set(site, (siteBytes.get(site) ?? 0) + size);
      siteCount.set(site, (siteCount.get(site) ?? 0) + 1);
      if (s.label !== 0) {
        const key = row * MAX_LABELS + s.label;
        const sums = labelSums.get(key);
        if (sums === undefined) labelSums.set(key, [size, 1]);
        else {
          sums[0]! += size;
          sums[1]!++;
        }
      }
    }
  }
  if (retainedFlags !== reg.retained.size) {
    throw new CorruptionError(`${who}: ${retainedFlags} blocks are flagged retained but ${reg.retained.size} retain records exist.`);
  }
  const c = reg.counters;
  const names = ["liveBytes", "liveCount", "retainedBytes", "retainedCount"];
  const fields = [C_LIVE_BYTES, C_LIVE_COUNT, C_RETAINED_BYTES, C_RETAINED_COUNT];
  const totals = new Float64Array(rows * 2);
  for (let row = 0; row < rows; row++) {
    const scope = reg.scopes[row];
    if (scope === undefined) continue;
    const o = row << ROW_SHIFT;
    if (internals(scope).level === "off") {
      // No records for its own blocks: what it counts beyond its adopted (retained) ones is taken as is.
      live[row * 4]! += c[o + C_LIVE_BYTES]! - c[o + C_RETAINED_BYTES]!;
      live[row * 4 + 1]! += c[o + C_LIVE_COUNT]! - c[o + C_RETAINED_COUNT]!;
    }
    for (let f = 0; f < 4; f++) {
      const counted = c[o + fields[f]!]!;
      const found = live[row * 4 + f]!;
      if (counted !== found) throw new CorruptionError(`${who}: scope ${scope.path} counts ${names[f]!} ${counted}, its blocks sum to ${found}.`);
    }
    if (c[o + C_PEAK_BYTES]! < c[o + C_LIVE_BYTES]!) throw new CorruptionError(`${who}: scope ${scope.path} has a peak below its live bytes.`);
    for (let r = row; r >= 0; r = reg.parents[r]!) {
      totals[r * 2]! += live[row * 4]!;
      totals[r * 2 + 1]! += live[row * 4 + 1]!;
    }
  }
  for (let row = 0; row < rows; row++) {
    const scope = reg.scopes[row];
    if (scope === undefined) continue;
    const o = row << ROW_SHIFT;
    if (c[o + C_TOTAL_BYTES] !== totals[row * 2] || c[o + C_TOTAL_COUNT] !== totals[row * 2 + 1]) {
      throw new CorruptionError(
        `${who}: scope ${scope.path} counts a subtree of ${c[o + C_TOTAL_COUNT]} blocks / ${c[o + C_TOTAL_BYTES]} B, its subtree holds ${totals[row * 2 + 1]} / ${totals[row * 2]} B.`,
      );
    }
    if (c[o + C_TOTAL_PEAK]! < c[o + C_TOTAL_BYTES]!) throw new CorruptionError(`${who}: scope ${scope.path} has a subtree peak below its subtree bytes.`);
  }
  checkLabels(root, labelSums);
  for (const site of reg.sites) {
    if (site === undefined) continue;
    const bytes = siteBytes.get(site.id) ?? 0;
    const count = siteCount.get(site.id) ?? 0;
    if (site.liveBytes !== bytes || site.liveCount !== count) {
      throw new CorruptionError(`${who}: site ${site.id} (${site.path}) counts ${site.liveCount} blocks / ${site.liveBytes} B, the table holds ${count} / ${bytes} B.`);
    }
  }
}

/** Every label tally of every live scope against the recount from the records. */
function checkLabels(root: TraceAllocator, labelSums: Map<number, number[]>): void {
  const { reg } = internals(root);
  const who = root.path;
  let tallied = 0;
  for (let row = 0; row < reg.scopes.length; row++) {
    const scope = reg.scopes[row];
    if (scope === undefined) continue;
    for (const t of reg.labels.talliesOf(row)) {
      const [bytes, count] = labelSums.get(row * MAX_LABELS + t.label) ?? [0, 0];
      if (t.liveBytes !== bytes || t.liveCount !== count) {
        throw new CorruptionError(
          `${who}: scope ${scope.path} counts label ${JSON.stringify(reg.labels.text(t.label))} at ${t.liveCount} blocks / ${t.liveBytes} B, its blocks with that label sum to ${count} / ${bytes} B.`,
        );
      }
      if (t.peakBytes < t.liveBytes) throw new CorruptionError(`${who}: scope ${scope.path} has a peak of label ${JSON.stringify(reg.labels.text(t.label))} below its live bytes.`);
      if (count > 0) tallied++;
    }
  }
  if (tallied !== labelSums.size) throw new CorruptionError(`${who}: ${labelSums.size} (scope, label) pairs hold blocks, but only ${tallied} are counted.`);
}
