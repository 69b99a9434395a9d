import type { MemoryMap } from "@memkit/memory-globals";
import { FRAME_COLOR, FREE_COLOR, OTHER_COLOR, SCOPE_COLORS, SCRATCH_COLOR, UNCARVED_COLOR, subsystemOf } from "./palette.js";

/*
 * The overlay's memory map: the whole address space, one cell per page, in
 * address order, left to right and top to bottom. A page's colour is the
 * scope whose live blocks hold most of it (memoryMap.pageScope), else what
 * the page is for (frame arena, scratch stack, other allocator pages); its
 * brightness is how much of it is in use (memoryMap.pageUse). Free pages are
 * dark; pages past the page allocator's top, never carved, darker still.
 */

/** The map's grid. */
export interface MapLayout {
  columns: number;
  rows: number;
  cellPx: number;
  pages: number;
}

/** Columns of cells across the map. */
export const MAP_COLUMNS = 64;

/** The grid for `map` at most `maxHeight` pixels high. */
export function layoutMap(map: MemoryMap, maxHeight: number): MapLayout {
  const pages = Math.ceil(map.byteLength / map.pageSize);
  const rows = Math.ceil(pages / MAP_COLUMNS);
  const cellPx = Math.max(1, Math.min(4, Math.floor(maxHeight / rows)));
  return { columns: MAP_COLUMNS, rows, cellPx, pages };
}

/** Colour of every page (CSS colour strings) and its fill (0..1). */
export function pageColors(map: MemoryMap): { colors: string[]; fill: number[] } {
  const pages = Math.ceil(map.byteLength / map.pageSize);
  const colors = new Array<string>(pages).fill(UNCARVED_COLOR);
  const fill = new Array<number>(pages).fill(1);
  // Before the first page: the null guard and the bootstrap heap.
  for (let p = 0; p < map.firstPage && p < pages; p++) colors[p] = OTHER_COLOR;
  for (const span of map.spans) {
    const first = Math.floor(span.start / map.pageSize);
    const count = Math.ceil(span.bytes / map.pageSize);
    const owner = map.owners[String(span.owner)] ?? "";
    const color = !span.used ? FREE_COLOR : owner === "frame" ? FRAME_COLOR : owner === "scratch" ? SCRATCH_COLOR : OTHER_COLOR;
    for (let p = first; p < first + count && p < pages; p++) colors[p] = color;
  }
  for (let i = 0; i < map.pageUse.length; i++) {
    const p = map.firstPage + i;
    if (p >= pages) break;
    const use = map.pageUse[i]!;
    if (use >= 0) fill[p] = Math.min(1, use / map.pageSize);
    const scope = map.pageScope[i]!;
    if (scope >= 0) colors[p] = SCOPE_COLORS[subsystemOf(map.scopePaths[scope] ?? "")] ?? OTHER_COLOR;
  }
  return { colors, fill };
}

/** Draws `map` onto `canvas`, resizing it to the grid. */
export function drawMemoryMap(canvas: HTMLCanvasElement, map: MemoryMap, maxHeight: number): MapLayout {
  const layout = layoutMap(map, maxHeight);
  const width = layout.columns * layout.cellPx;
  const height = layout.rows * layout.cellPx;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (ctx === null) return layout;
  const { colors, fill } = pageColors(map);
  ctx.fillStyle = UNCARVED_COLOR;
  ctx.fillRect(0, 0, width, height);
  const c = layout.cellPx;
  for (let p = 0; p < layout.pages; p++) {
    ctx.globalAlpha = 0.35 + 0.65 * fill[p]!;
    ctx.fillStyle = colors[p]!;
    ctx.fillRect((p % layout.columns) * c, Math.floor(p / layout.columns) * c, c, c);
  }
  ctx.globalAlpha = 1;
  return layout;
}
