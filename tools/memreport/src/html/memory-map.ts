import { formatBytes, formatCount, hex } from "@memkit/core";
import { ownerName, summarizeMap } from "../map-summary.js";
import type { MemoryMap } from "../report-types.js";
import { counted } from "../plural.js";
import { percent } from "../text.js";
import { FREE_COLOR, NO_SCOPE_COLOR, REGION_COLOR, UNCARVED_COLOR, categoryColor } from "./colors.js";
import { escapeHtml, jsonForScript } from "./escape.js";

/*
 * The memory map: the address space from 0 to its current size as a grid of
 * cells, one page per cell (or a power-of-two run of pages when the space has
 * more than MAX_CELLS pages). The page script paints the grid on a canvas from
 * the model built here and explains the cell under the mouse.
 *
 *   0x00000000 [reserved][heap ▆][heap ▃][slots █][free   ][free   ] ...
 *   0x00040000 [large  █][large █][frame █][uncarved][uncarved] ...
 *
 * Each cell is its owner's colour. Heap and slot pages are drawn in a light
 * tint with the bytes in use filled from the bottom, so half-empty pages
 * (fragmentation) are visible at a glance; pages handed out whole (large
 * blocks) and pages the report has no figure for (frame and scratch memory)
 * are solid.
 */

/** Most cells drawn; bigger spaces draw 2, 4, 8, ... pages per cell. */
export const MAX_CELLS = 20_000;
/** Most spans embedded for hover details. */
export const MAX_SPANS = 20_000;

/** Legend index of reserved pages (null guard, bootstrap heap, page tables); owners follow the three fixed kinds. */
export const RESERVED = 0;
/** Legend index of free pages. */
export const FREE = 1;
/** Legend index of committed pages no span covers yet. */
export const UNCARVED = 2;

/** One colour of a legend. */
export interface LegendEntry {
  label: string;
  color: string;
  /** Pages (not cells) of this kind. */
  pages: number;
}

/** What the page script draws. */
export interface MapModel {
  pageSize: number;
  pagesPerCell: number;
  /** Pages drawn (from address 0). */
  pageCount: number;
  cellCount: number;
  columns: number;
  /** Side of a cell in CSS pixels. */
  cellPx: number;
  byteLength: number;
  maximumBytes: number;
  /** By-owner view: [reserved, free, uncarved, ...owners]. */
  legend: LegendEntry[];
  /** By-scope view: one entry per scope path; cells without a scope fall back to NO_SCOPE. */
  scopeLegend: LegendEntry[];
  noScopeColor: string;
  /** Per cell: the legend index covering most of its pages. */
  cellOwner: number[];
  /** Per cell: the dominant scope (index into scopeLegend), -1 when none. */
  cellScope: number[];
  /** Per cell: bytes in use (as measured; 0 when free); -1 when every page of the cell is used but has no figure (frame, scratch). */
  cellUsed: number[];
  /** [start, bytes, used 0/1, legend index] of every span, in address order (empty when there are more than MAX_SPANS). */
  spans: [number, number, number, number][];
  spansOmitted: number;
  regions: { name: string; start: number; bytes: number }[];
}

/** Builds the drawing model of a memory map. */
export function buildMapModel(map: MemoryMap): MapModel {
  const { pageSize } = map;
  const lastSpan = map.spans[map.spans.length - 1];
  const end = Math.max(map.byteLength, lastSpan === undefined ? 0 : lastSpan.start + lastSpan.bytes, (map.firstPage + map.pageUse.length) * pageSize);
  const pageCount = Math.ceil(end / pageSize);
  let pagesPerCell = 1;
  while (Math.ceil(pageCount / pagesPerCell) > MAX_CELLS) pagesPerCell *= 2;
  const cellCount = Math.ceil(pageCount / pagesPerCell);

  // Legend: fixed kinds, then owners by id.
  const legend: LegendEntry[] = [
    { label: "reserved (null guard, bootstrap, page tables)", color: REGION_COLOR, pages: 0 },
    { label: "free pages", color: FREE_COLOR, pages: 0 },
    { label: "not carved yet", color: UNCARVED_COLOR, pages: 0 },
  ];
  const ownerIds = [...new Set(map.spans.filter((s) => s.used).map((s) => s.owner))].sort((a, b) => a - b);
  const ownerLegend = new Map<number, number>();
  ownerIds.forEach((id, i) => {
    ownerLegend.set(id, legend.length);
    legend.push({ label: ownerName(map, id), color: categoryColor(i), pages: 0 });
  });

  // Per page: legend index and bytes in use. Pages below the first span are reserved, others not carved until a span covers them.
  const firstSpanPage = map.spans.length > 0 ? Math.floor(map.spans[0]!.start / pageSize) : Math.min(pageCount, map.firstPage);
  const pageKind = new Uint8Array(pageCount).fill(UNCARVED);
  const pageUsed = new Float64Array(pageCount);
  for (let p = 0; p < Math.min(firstSpanPage, pageCount); p++) {
    pageKind[p] = RESERVED;
    pageUsed[p] = pageSize;
  }
  for (const span of map.spans) {
    const first = Math.floor(span.start / pageSize);
    const last = Math.min(pageCount, Math.ceil((span.start + span.bytes) / pageSize));
    const kind = span.used ? ownerLegend.get(span.owner)! : FREE;
    for (let p = first; p < last; p++) {
      pageKind[p] = kind;
      const use = map.pageUse[p - map.firstPage];
      pageUsed[p] = !span.used ? 0 : use !== undefined && use >= 0 ? use : -1;
    }
  }
  for (let p = 0; p < pageCount; p++) legend[pageKind[p]!]!.pages++;

  const scopeLegend: LegendEntry[] = map.scopePaths.map((path, i) => ({ label: path, color: categoryColor(i), pages: 0 }));
  const cellOwner = new Array<number>(cellCount);
  const cellScope = new Array<number>(cellCount);
  const cellUsed = new Array<number>(cellCount);
  const votes = new Map<number, number>();
  for (let c = 0; c < cellCount; c++) {
    const from = c * pagesPerCell;
    const to = Math.min(pageCount, from + pagesPerCell);
    // Used pages without a figure count as full; a cell of only such pages says -1 (unknown).
    let used = 0;
    let unknown = 0;
    for (let p = from; p < to; p++) {
      const u = pageUsed[p]!;
      if (u < 0) unknown++;
      used += u < 0 ? pageSize : u;
    }
    cellUsed[c] = unknown === to - from ? -1 : used;
    cellOwner[c] = majority(votes, from, to, (p) => pageKind[p]!);
    cellScope[c] = majority(votes, from, to, (p) => {
      const s = map.pageScope[p - map.firstPage];
      return s === undefined ? -1 : s;
    });
  }
  for (let i = 0; i < map.pageScope.length; i++) {
    const s = map.pageScope[i]!;
    if (s >= 0) scopeLegend[s]!.pages++;
  }

  const columns = cellCount <= 1024 ? 64 : cellCount <= 4096 ? 128 : 256;
  const spans: MapModel["spans"] =
    map.spans.length > MAX_SPANS ? [] : map.spans.map((s) => [s.start, s.bytes, s.used ? 1 : 0, s.used ? ownerLegend.get(s.owner)! : FREE]);
  return {
    pageSize,
    pagesPerCell,
    pageCount,
    cellCount,
    columns,
    cellPx: 1024 / columns,
    byteLength: map.byteLength,
    maximumBytes: map.maximumBytes,
    legend,
    scopeLegend,
    noScopeColor: NO_SCOPE_COLOR,
    cellOwner,
    cellScope,
    cellUsed,
    spans,
    spansOmitted: map.spans.length - spans.length,
    regions: map.regions.map((r) => ({ name: r.name, start: r.start, bytes: r.bytes })),
  };
}

/** The value most pages in [from, to) have (-1 only when every page says -1). */
function majority(votes: Map<number, number>, from: number, to: number, valueOf: (page: number) => number): number {
  if (to - from === 1) return valueOf(from);
  votes.clear();
  let best = -1;
  let bestVotes = 0;
  for (let p = from; p < to; p++) {
    const v = valueOf(p);
    if (v < 0) continue;
    const n = (votes.get(v) ?? 0) + 1;
    votes.set(v, n);
    if (n > bestVotes) {
      best = v;
      bestVotes = n;
    }
  }
  return best;
}

function swatches(entries: { label: string; color: string; pages: number }[], pageSize: number): string {
  return entries
    .filter((e) => e.pages > 0)
    .map(
      (e) =>
        `<span class="swatch" title="${escapeHtml(`${e.label}: ${counted(e.pages, "page")}, ${formatBytes(e.pages * pageSize)}`)}">` +
        `<i style="background:${e.color}"></i>${escapeHtml(e.label)} <small>${formatBytes(e.pages * pageSize)}</small></span>`,
    )
    .join("");
}

/** The memory-map section: view switch, legend, canvas, hover line and per-owner table. */
export function renderMemoryMap(map: MemoryMap): string {
  const model = buildMapModel(map);
  const sum = summarizeMap(map);
  const cell = model.pagesPerCell === 1 ? "one page" : `${formatCount(model.pagesPerCell)} pages (${formatBytes(model.pagesPerCell * map.pageSize)})`;
  const rows = sum.owners.map((o) => {
    const share = o.measuredPages === 0 ? 0 : o.usedBytes / (o.measuredPages * map.pageSize);
    return (
      `<tr><td>${escapeHtml(o.name)}</td><td class="num">${formatCount(o.spans)}</td><td class="num">${formatCount(o.pages)}</td>` +
      `<td class="num">${formatBytes(o.bytes)}</td><td class="barcell">` +
      (o.measuredPages === 0
        ? ""
        : `<div class="bar" title="${escapeHtml(`${formatCount(o.usedBytes)} B in use of ${formatCount(o.measuredPages * map.pageSize)} B in ${counted(o.measuredPages, "measured page")}`)}"><div class="fill" style="width:${(100 * share).toFixed(2)}%"></div></div>` +
          `<span class="num">${formatBytes(o.usedBytes)} (${percent(o.usedBytes, o.measuredPages * map.pageSize)})</span>`) +
      `</td></tr>`
    );
  });
  rows.push(
    `<tr><td>free</td><td class="num">${formatCount(sum.free.spans)}</td><td class="num">${formatCount(sum.free.pages)}</td>` +
      `<td class="num">${formatBytes(sum.free.bytes)}</td><td>${sum.free.spans === 0 ? "" : `largest free span ${formatBytes(sum.free.largest)}`}</td></tr>`,
  );
  const regions = map.regions.map((r) => `${escapeHtml(r.name)} ${hex(r.start)} (${formatBytes(r.bytes)})`).join(", ");
  return (
    `<p class="note">${counted(model.pageCount, "page")} of ${formatBytes(map.pageSize)} from ${hex(0)} to ${hex(model.pageCount * map.pageSize)} ` +
    `(space ${formatBytes(map.byteLength)} of ${formatBytes(map.maximumBytes)} maximum); one cell = ${cell}. ` +
    `Heap and slot pages are tinted, with the bytes in use filled from the bottom: a half-filled cell is a half-empty page.` +
    (regions === "" ? "" : ` Regions: ${regions}.`) +
    (model.spansOmitted > 0 ? ` (${formatCount(model.spansOmitted)} spans: too many to list under the mouse.)` : "") +
    `</p>` +
    `<div class="controls">colour by <label><input type="radio" name="map-mode" value="owner" checked> allocator</label>` +
    `<label><input type="radio" name="map-mode" value="scope"> dominant scope</label></div>` +
    `<div class="legend" id="map-legend-owner">${swatches(model.legend, map.pageSize)}</div>` +
    `<div class="legend" id="map-legend-scope" hidden>${swatches(model.scopeLegend, map.pageSize)}` +
    `<span class="swatch"><i style="background:${NO_SCOPE_COLOR}"></i>no live block in the page</span>` +
    `<span class="muted">each page in the colour of the scope whose live blocks hold most of its bytes (a block colours every page it covers)</span></div>` +
    `<div class="map-info" id="map-info">Move the mouse over the map for a page's owner, span, use and scope.</div>` +
    `<div class="scroll"><canvas id="memory-map" role="img" aria-label="memory map"></canvas></div>` +
    `<script type="application/json" id="memory-map-data">${jsonForScript(model)}</script>` +
    `<h3>Pages per owner</h3><table class="owners"><thead><tr><th>owner</th><th class="num">spans</th><th class="num">pages</th><th class="num">bytes</th>` +
    `<th>in use (pages with a figure: heap, slots, large blocks)</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}
