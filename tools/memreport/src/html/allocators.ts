import { formatBytes, formatCount } from "@memkit/core";
import type { AllocatorReport } from "../report-types.js";
import { escapeHtml } from "./escape.js";

/*
 * Allocator figures: stats, and from the storage report the free bytes, the
 * largest free block, the fragmentation ratio and the free-block size
 * histogram as a small bar chart (one bar per power-of-two bucket).
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
      `<g><title>${escapeHtml(`${bucketLabel(i)}: ${formatCount(n)} free block${n === 1 ? "" : "s"}`)}</title>` +
      `<rect x="${i * (bw + 1)}" y="0" width="${bw}" height="${h}" fill="transparent"></rect>` +
      `<rect x="${i * (bw + 1)}" y="${(h - bh).toFixed(2)}" width="${bw}" height="${bh.toFixed(2)}" fill="#4e79a7"></rect></g>`
    );
  });
  const w = (last + 1) * (bw + 1);
  return `<svg class="hist" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${bars.join("")}</svg>`;
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
        ? `<td></td><td></td><td></td><td></td>`
        : `<td class="num" title="${exact(s.totalFreeBytes)}">${formatBytes(s.totalFreeBytes)}</td>` +
          `<td class="num" title="${exact(s.largestFreeBlock)}">${formatBytes(s.largestFreeBlock)}</td>` +
          `<td class="frag" title="1 - largest free / total free = ${s.fragmentation.toFixed(4)}">${frag}</td>` +
          `<td>${renderHistogram(s.freeHistogram)}</td>`) +
      `</tr>`
    );
  });
  return (
    `<table class="allocators"><thead><tr><th>allocator</th><th class="num">live</th><th class="num">blocks</th><th class="num">peak</th>` +
    `<th class="num">reserved</th><th class="num">allocs</th><th class="num">frees</th><th class="num">free</th><th class="num">largest free</th>` +
    `<th>fragmentation</th><th>free blocks by size</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`
  );
}
