import { formatBytes, formatCount } from "@memkit/core";
import { parseFoldedStacks } from "@memkit/trace-allocator";
import { splitStack } from "../folded.js";
import { flameColor } from "./colors.js";
import { escapeHtml } from "./escape.js";

/*
 * A flame graph (drawn top-down, root first, like speedscope's "left heavy"
 * view) from folded stacks: the first frames are the scope path, then the
 * block label (a container's name) when there is one, the rest the call stack. Each frame is as wide as the bytes (or blocks) live under it;
 * siblings are sorted by value, largest first. Frames narrower than a pixel
 * at full width are dropped and counted.
 */

/** A node of the merged stack tree. */
export interface FlameNode {
  name: string;
  /** Sum of every line through this node. */
  value: number;
  /** Lines ending exactly here. */
  self: number;
  /** A scope frame (true) or a call or label frame (false). */
  isScope: boolean;
  /** A block label's frame (a container's name, `[HashMap<u32, u32> "grid"]`). */
  isLabel: boolean;
  children: FlameNode[];
}

/** Merges folded-stack lines into a tree under a root named `rootName`. */
export function buildFlameTree(folded: string, scopePaths: ReadonlySet<string>, rootName = "all"): FlameNode {
  const root: FlameNode = { name: rootName, value: 0, self: 0, isScope: true, isLabel: false, children: [] };
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  for (const line of parseFoldedStacks(folded)) {
    if (line.value <= 0) continue;
    const split = splitStack(line.frames, scopePaths);
    const labelDepth = split.label === undefined ? -1 : line.frames.length - split.calls.length - 1;
    const scopeDepth = split.label === undefined ? line.frames.length - split.calls.length : labelDepth;
    root.value += line.value;
    let node = root;
    line.frames.forEach((name, i) => {
      let kids = index.get(node);
      if (kids === undefined) {
        kids = new Map();
        index.set(node, kids);
      }
      let child = kids.get(name);
      if (child === undefined) {
        child = { name, value: 0, self: 0, isScope: i < scopeDepth, isLabel: i === labelDepth, children: [] };
        kids.set(name, child);
        node.children.push(child);
      }
      child.value += line.value;
      node = child;
    });
    node.self += line.value;
  }
  const sort = (n: FlameNode): void => {
    n.children.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}

/** One drawn frame: x0/x1 are fractions of the root's width. */
export interface FlameRect {
  name: string;
  depth: number;
  x0: number;
  x1: number;
  value: number;
  self: number;
  isScope: boolean;
  isLabel: boolean;
  /** Frames from the root to this one. */
  stack: string[];
}

/** What {@link layoutFlame} returns. */
export interface FlameLayout {
  rects: FlameRect[];
  /** Deepest drawn depth + 1. */
  rows: number;
  total: number;
  /** Frames left out because they were narrower than `minFraction` or past `maxRects`. */
  hidden: number;
}

/** Lays the tree out as rectangles, root first (depth 0), depth-first. */
export function layoutFlame(root: FlameNode, options: { minFraction?: number; maxRects?: number } = {}): FlameLayout {
  const minFraction = options.minFraction ?? 1 / 2400;
  const maxRects = options.maxRects ?? 4000;
  const rects: FlameRect[] = [];
  let hidden = 0;
  let rows = 0;
  const total = root.value;
  const count = (n: FlameNode): number => 1 + n.children.reduce((s, c) => s + count(c), 0);
  const visit = (n: FlameNode, depth: number, x0: number, stack: string[]): void => {
    const width = total === 0 ? 0 : n.value / total;
    if ((depth > 0 && width < minFraction) || rects.length >= maxRects) {
      hidden += count(n);
      return;
    }
    const path = [...stack, n.name];
    rects.push({ name: n.name, depth, x0, x1: x0 + width, value: n.value, self: n.self, isScope: n.isScope, isLabel: n.isLabel, stack: path });
    rows = Math.max(rows, depth + 1);
    let x = x0;
    for (const child of n.children) {
      visit(child, depth + 1, x, path);
      x += total === 0 ? 0 : child.value / total;
    }
  };
  if (total > 0) visit(root, 0, 0, []);
  return { rects, rows, total, hidden };
}

/** Width of the flame graph's coordinate system (the SVG scales to the page). */
export const FLAME_WIDTH = 1200;
/** Height of one row of frames. */
export const FLAME_ROW = 18;
/** Average glyph width of the 11px label font, for truncating labels to their frame (the page script zooms with it too). */
export const FLAME_CHAR_WIDTH = 6.4;

/** The label that fits `width` units: the whole name, a truncated one with "..", or nothing. */
export function fitLabel(name: string, width: number): string {
  const chars = Math.floor((width - 6) / FLAME_CHAR_WIDTH);
  if (chars >= name.length) return name;
  return chars < 4 ? "" : name.slice(0, chars - 2) + "..";
}

/** Formats a flame value: bytes or blocks. */
export function flameFigure(value: number, unit: "bytes" | "count"): string {
  return unit === "bytes" ? `${formatBytes(value)} (${formatCount(value)} B)` : `${formatCount(value)} block${value === 1 ? "" : "s"}`;
}

/** The layout as an SVG element; hover titles give exact figures, clicks zoom (page script). */
export function renderFlameSvg(layout: FlameLayout, unit: "bytes" | "count", id: string): string {
  const height = Math.max(1, layout.rows) * FLAME_ROW;
  const parts = layout.rects.map((r) => {
    const x = r.x0 * FLAME_WIDTH;
    const w = (r.x1 - r.x0) * FLAME_WIDTH;
    const y = r.depth * FLAME_ROW;
    const share = layout.total === 0 ? 0 : (100 * r.value) / layout.total;
    const kind = r.depth === 0 ? "everything live" : r.isScope ? "scope" : r.isLabel ? "block label: the container or name the blocks were allocated under" : "call frame";
    const title =
      `${r.name} (${kind})\n${flameFigure(r.value, unit)}, ${share.toFixed(2)}% of all` +
      (r.self > 0 && r.self !== r.value ? `\nself: ${flameFigure(r.self, unit)}` : "") +
      (r.depth > 0 ? `\n${r.stack.slice(1).join(" > ")}` : "");
    const fill = r.depth === 0 ? "#d4d8de" : flameColor(r.name, r.isScope ? "scope" : r.isLabel ? "label" : "call");
    const label = fitLabel(r.name, w);
    return (
      `<g class="fr" data-x0="${r.x0}" data-x1="${r.x1}" data-d="${r.depth}" data-n="${escapeHtml(r.name)}">` +
      `<title>${escapeHtml(title)}</title>` +
      `<rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(0.5, w - 0.5).toFixed(2)}" height="${FLAME_ROW - 1}" fill="${fill}" rx="2"></rect>` +
      `<text x="${(x + 3).toFixed(2)}" y="${y + 12.5}">${escapeHtml(label)}</text></g>`
    );
  });
  return (
    `<svg class="flame" id="${id}" viewBox="0 0 ${FLAME_WIDTH} ${height}" width="100%" role="img" ` +
    `aria-label="flame graph" preserveAspectRatio="xMinYMin meet">${parts.join("")}</svg>`
  );
}
