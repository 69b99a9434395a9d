import { formatBytes, formatCount } from "@memkit/core";
import { counted } from "../plural.js";
import type { AllocatorReport, SlabReport } from "../report-types.js";
import { escapeHtml } from "./escape.js";

/*
 * Allocator figures: stats, and from the storage report the free bytes, the
 * largest free block, the fragmentation ratio and the free-block size
 * histogram as a small bar chart (one bar per power-of-two bucket).
 *
 * A slab allocator (the slot tier) gets its slabs instead: its free slots are
 * spread over size classes, so "1 - largest free / free" is near 1 whatever
 * happens and says nothing. What tells whether memory sits idle is the free
 * slots of each class and the slabs with nothing in use.
 */

function bucketLabel(i: number): string {
  return i === 0 ? "0-1 B" : `${formatBytes(2 ** i)}-${formatBytes(2 ** (i + 1) - 1)}`;
}

/** The free-size histogram as a small SVG bar chart with a hover title per bucket. */
export function renderHistogram(counts: readonly number[]): string {
  const last = counts.reduce((at, n, i) => (n > 0 ? i : at), -1);
  if (last < 0) return `<span class="muted">no free blocks</span>`;
  const max = Math.max(...counts);
  const bw = 5;
  const h = 22;
  const bars = counts.slice(0, last + 1).map((n, i) => {
    const bh = n === 0 ? 0 : Math.max(1.5, (h * n) / max);
    return (
      `<g><title>${escapeHtml(`${bucketLabel(i)}: ${counted(n, "free block")}`)}</title>` +
      `<rect x="${i * (bw + 1)}" y="0" width="${bw}" height="${h}" fill="transparent"></rect>` +
      `<rect x="${i * (bw + 1)}" y="${(h - bh).toFixed(2)}" width="${bw}" height="${bh.toFixed(2)}" fill="#4e79a7"></rect></g>`
    );
  });
  const w = (last + 1) * (bw + 1);
  return `<svg class="hist" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${bars.join("")}</svg>`;
}

/** One bar per size class: its slots, the part in use filled from the bottom; the hover title gives the figures. */
export function renderSlabClasses(slabs: SlabReport): string {
  if (slabs.classes.length === 0) return `<span class="muted">no slab in a size class</span>`;
  const bw = 7;
  const h = 22;
  const bars = slabs.classes.map((c, i) => {
    const free = c.slots - c.usedSlots;
    const fh = c.slots === 0 ? 0 : (h * c.usedSlots) / c.slots;
    const title =
      `${formatCount(c.slotSize)} B slots: ${counted(c.slabs, "slab")}, ${counted(c.slots, "slot")}, ` +
      `${formatCount(c.usedSlots)} in use, ${formatCount(free)} free (${formatBytes(free * c.slotSize)})`;
    return (
      `<g><title>${escapeHtml(title)}</title>` +
      `<rect x="${i * (bw + 1)}" y="0" width="${bw}" height="${h}" fill="#d6e2ef"></rect>` +
      `<rect x="${i * (bw + 1)}" y="${(h - fh).toFixed(2)}" width="${bw}" height="${fh.toFixed(2)}" fill="#4e79a7"></rect></g>`
    );
  });
  const w = slabs.classes.length * (bw + 1);
  return `<svg class="hist slab-classes" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${bars.join("")}</svg>`;
}

/** The empty-slab figure shown where other allocators show fragmentation. */
function slabSummary(slabs: SlabReport): string {
  const title =
    `Slabs with no slot in use (spares included): ${formatCount(slabs.emptySlabs * slabs.slabBytes)} B the slot allocator holds idle. ` +
    `Fragmentation (1 - largest free / free) does not apply to slabs: free slots are per size class (the bars).`;
  return (
    `<td class="slab-summary" title="${escapeHtml(title)}">` +
    `${formatCount(slabs.emptySlabs)} of ${counted(slabs.slabs, "slab")} empty (${formatBytes(slabs.emptySlabs * slabs.slabBytes)})</td>`
  );
}

/** The allocator table. */
export function renderAllocators(allocators: readonly AllocatorReport[]): string {
  if (allocators.length === 0) return `<p class="note">The report lists no allocators.</p>`;
  const rows = allocators.map((a) => {
    const s = a.storage;
    const exact = (n: number): string => `${formatCount(n)} B`;
    const frag = s === undefined ? "" : `<div class="bar small"><div class="fill warn" style="width:${(100 * s.fragmentation).toFixed(2)}%"></div></div>${(100 * s.fragmentation).toFixed(1)}%`;
    return (
      `<tr><td>${escapeHtml(a.name)}</td>` +
      `<td class="num" title="${exact(a.liveBytes)}">${formatBytes(a.liveBytes)}</td>` +
      `<td class="num">${formatCount(a.liveCount)}</td>` +
      `<td class="num" title="${exact(a.peakLiveBytes)}">${formatBytes(a.peakLiveBytes)}</td>` +
      `<td class="num" title="${exact(a.reservedBytes)}">${formatBytes(a.reservedBytes)}</td>` +
      `<td class="num">${formatCount(a.allocCount)}</td><td class="num">${formatCount(a.freeCount)}</td>` +
      (s === undefined
        ? `<td></td><td></td>`
        : `<td class="num" title="${exact(s.totalFreeBytes)}">${formatBytes(s.totalFreeBytes)}</td>` +
          `<td class="num" title="${exact(s.largestFreeBlock)}">${formatBytes(s.largestFreeBlock)}</td>`) +
      (a.slabs !== undefined
        ? `${slabSummary(a.slabs)}<td>${renderSlabClasses(a.slabs)}</td>`
        : s === undefined
          ? `<td></td><td></td>`
          : `<td class="frag" title="1 - largest free / total free = ${s.fragmentation.toFixed(4)}">${frag}</td>` + `<td>${renderHistogram(s.freeHistogram)}</td>`) +
      `</tr>`
    );
  });
  return (
    `<table class="allocators"><thead><tr><th>allocator</th><th class="num">live</th><th class="num">blocks</th><th class="num">peak</th>` +
    `<th class="num">reserved</th><th class="num">allocs</th><th class="num">frees</th><th class="num">free</th><th class="num">largest free</th>` +
    `<th>fragmentation / empty slabs</th><th>free blocks by size / slots per class</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>` +
    (allocators.some((a) => a.slabs !== undefined)
      ? `<p class="note">Slab allocators (the slot tier) show their empty slabs and one bar per size class (its slots, the part in use filled): ` +
        `their free slots are spread over the classes, so a fragmentation ratio would read near 100% whatever happens.</p>`
      : "")
  );
}
