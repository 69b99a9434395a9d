/*
 * Colours: a categorical palette for owners and scopes (Tableau 10, easy to
 * tell apart and readable under white text or on white), then golden-angle
 * hues when there are more names than palette entries.
 */

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac"];

/** Colour of the `index`th category. */
export function categoryColor(index: number): string {
  if (index < PALETTE.length) return PALETTE[index]!;
  const hue = Math.round((index * 137.508) % 360);
  return `hsl(${hue}, 55%, 55%)`;
}

/** Free pages. */
export const FREE_COLOR = "#e2e5ea";
/** Named regions before the first page (null guard, bootstrap heap). */
export const REGION_COLOR = "#3f4652";
/** Committed memory no span covers yet (above the page allocator's top). */
export const UNCARVED_COLOR = "#f6f7f9";
/** Used pages whose dominant scope is unknown, in the by-scope view. */
export const NO_SCOPE_COLOR = "#9aa3ae";

/** A small stable hash of a string (FNV-1a), for colours that stay put between reports. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** What a flame-graph frame is: a scope, a block label (a container's name) or a call frame. */
export type FlameFrameKind = "scope" | "label" | "call";

/** Flame-graph colour: scope frames in blues, labels in greens, call frames in warm tones (as flamegraph.pl), varied by name. */
export function flameColor(name: string, kind: FlameFrameKind): string {
  const h = hashString(name);
  const jitter = (h & 0xff) / 255;
  const jitter2 = ((h >>> 8) & 0xff) / 255;
  if (kind === "scope") return `hsl(${Math.round(200 + 25 * jitter)}, ${Math.round(45 + 20 * jitter2)}%, ${Math.round(62 + 12 * jitter)}%)`;
  if (kind === "label") return `hsl(${Math.round(110 + 35 * jitter)}, ${Math.round(35 + 20 * jitter2)}%, ${Math.round(60 + 10 * jitter)}%)`;
  return `hsl(${Math.round(15 + 35 * jitter)}, ${Math.round(75 + 15 * jitter2)}%, ${Math.round(58 + 10 * jitter2)}%)`;
}
