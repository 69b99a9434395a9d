import { formatBytes, formatCount } from "@memkit/core";
import type { MemoryReport, StageReport, TimelineReport, TimelineScope } from "../report-types.js";
import { formatChurn, formatLeakSuspects } from "../timeline-text.js";
import { categoryColor } from "./colors.js";
import { escapeHtml, jsonForScript } from "./escape.js";

/*
 * The timeline as stacked areas: each scope's own live bytes per frame, one
 * band per scope (the largest at the bottom; past SHOWN scopes the rest are
 * one "other scopes" band), stages as shaded spans with their names, leak
 * suspects outlined in red. Hovering a frame draws a cursor and lists that
 * frame's figures (timeline-script.ts); the data rides along as JSON.
 */

/** Scopes drawn as their own band. */
export const SHOWN = 11;
export const PLOT_LEFT = 76;
export const PLOT_WIDTH = 980;
const PLOT_TOP = 26;
const PLOT_HEIGHT = 240;
const OTHER = "other scopes";

/** One band of the chart (a scope, or the rest summed): its figures per frame, a colour, and whether it is a leak suspect. */
export interface TimelineBand extends TimelineScope {
  color: string;
  suspect: boolean;
}

/** The bands, bottom first: scopes that held bytes, largest peak first; the rest summed into one. */
export function timelineBands(t: TimelineReport): TimelineBand[] {
  const suspects = new Set(t.leakSuspects.map((s) => s.path));
  const held = t.scopes.filter((s) => s.liveBytes.some((b) => b > 0)).sort((a, b) => Math.max(...b.liveBytes) - Math.max(...a.liveBytes));
  const shown = held.length <= SHOWN + 1 ? held : held.slice(0, SHOWN);
  const bands: TimelineBand[] = shown.map((s, i) => ({ ...s, color: categoryColor(i), suspect: suspects.has(s.path) }));
  const rest = held.slice(shown.length);
  if (rest.length > 0) {
    const sum = (pick: (s: (typeof rest)[number]) => number[]): number[] => t.frames.map((_, i) => rest.reduce((n, s) => n + pick(s)[i]!, 0));
    bands.push({
      path: `${OTHER} (${rest.length})`,
      color: "#9aa3ae",
      suspect: rest.some((s) => suspects.has(s.path)),
      liveBytes: sum((s) => s.liveBytes),
      liveCount: sum((s) => s.liveCount),
      totalBytes: sum((s) => s.liveBytes),
      allocs: sum((s) => s.allocs),
      frees: sum((s) => s.frees),
      budgetBytes: t.frames.map(() => 0),
    });
  }
  return bands;
}

/** The timeline section's body. */
export function renderTimeline(report: MemoryReport): string {
  const t = report.timeline;
  if (t === undefined) {
    return `<p class="note">No timeline in this report. Take it from a memory made with <code>MemoryGlobals.init({ timeline: true })</code> to see each scope's bytes frame by frame.</p>`;
  }
  if (t.frames.length === 0) return `<p class="note">The timeline holds no sample yet: samples are taken at each <code>memory.beginFrame()</code>.</p>`;
  const bands = timelineBands(t);
  const n = t.frames.length;
  const stack = t.frames.map((_, i) => bands.reduce((sum, b) => sum + b.liveBytes[i]!, 0));
  const top = Math.max(1, ...stack);
  const x = (i: number): number => PLOT_LEFT + (n === 1 ? PLOT_WIDTH / 2 : (i * PLOT_WIDTH) / (n - 1));
  const y = (v: number): number => PLOT_TOP + PLOT_HEIGHT - (v / top) * PLOT_HEIGHT;
  const out: string[] = [];
  out.push(...stageSpans(report.stages, t.frames, x));
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    out.push(`<line class="grid" x1="${PLOT_LEFT}" x2="${PLOT_LEFT + PLOT_WIDTH}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"></line>`);
    out.push(`<text class="axis" x="${PLOT_LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(formatBytes(Math.round(v)))}</text>`);
  }
  const base = t.frames.map(() => 0);
  for (const band of bands) {
    const upper = base.map((b, i) => b + band.liveBytes[i]!);
    const points = [...upper.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`), ...base.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).reverse()];
    out.push(
      `<polygon class="band${band.suspect ? " suspect" : ""}" data-path="${escapeHtml(band.path)}" fill="${band.color}" points="${points.join(" ")}"><title>${escapeHtml(band.path)}</title></polygon>`,
    );
    upper.forEach((v, i) => (base[i] = v));
  }
  for (const at of [0, n - 1]) {
    out.push(`<text class="axis" x="${x(at).toFixed(1)}" y="${PLOT_TOP + PLOT_HEIGHT + 16}" text-anchor="${at === 0 ? "start" : "end"}">frame ${formatCount(t.frames[at]!)}</text>`);
  }
  out.push(`<line id="timeline-cursor" class="cursor" x1="0" x2="0" y1="${PLOT_TOP}" y2="${PLOT_TOP + PLOT_HEIGHT}" visibility="hidden"></line>`);
  out.push(`<rect id="timeline-hit" class="hit" x="${PLOT_LEFT}" y="${PLOT_TOP}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}"></rect>`);
  const width = PLOT_LEFT + PLOT_WIDTH + 10;
  const height = PLOT_TOP + PLOT_HEIGHT + 24;
  const legend = bands
    .slice()
    .reverse()
    .map((b) => `<span class="swatch${b.suspect ? " suspect" : ""}"><i style="background:${b.color}"></i>${escapeHtml(b.path)}${b.suspect ? " <b>leak suspect</b>" : ""}</span>`)
    .join("");
  const data = { frames: t.frames, left: PLOT_LEFT, width: PLOT_WIDTH, bands, allocators: t.allocators };
  const suspects = formatLeakSuspects(t);
  const churn = formatChurn(t);
  return (
    `<p class="note">Each scope's own live bytes at the end of each frame, stacked (${formatCount(n)} frames, ${formatCount(t.frames[0]!)}–${formatCount(t.frames[n - 1]!)}; ` +
    `the ring keeps ${formatCount(t.capacity)}). Shaded spans are stages. Hover the chart for a frame's figures.</p>` +
    `<div class="legend">${legend}</div>` +
    `<div class="scroll"><svg class="timeline" id="timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="live bytes per scope per frame">${out.join("")}</svg></div>` +
    `<div class="map-info" id="timeline-info">Move the mouse over the chart for a frame's figures.</div>` +
    `<pre class="suspects${t.leakSuspects.length > 0 ? " found" : ""}">${escapeHtml(suspects.join("\n"))}</pre>` +
    `<pre class="suspects churn">${escapeHtml(churn.join("\n"))}</pre>` +
    `<script type="application/json" id="timeline-data">${jsonForScript(data)}</script>`
  );
}

/** Shaded spans and names of the stages that overlap the sampled frames. */
function stageSpans(stages: readonly StageReport[], frames: readonly number[], x: (i: number) => number): string[] {
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  const index = (frame: number): number => {
    let i = frames.findIndex((f) => f >= frame);
    if (i < 0) i = frames.length - 1;
    return i;
  };
  return stages
    .filter((s) => s.endFrame >= first && s.startFrame <= last)
    .map((s, k) => {
      const a = x(index(Math.max(s.startFrame, first)));
      const b = x(index(Math.min(s.endFrame, last)));
      return (
        `<rect class="stage${k % 2 === 1 ? " odd" : ""}" x="${a.toFixed(1)}" y="${PLOT_TOP}" width="${Math.max(1, b - a).toFixed(1)}" height="${PLOT_HEIGHT}"></rect>` +
        `<line class="stage-mark" x1="${a.toFixed(1)}" x2="${a.toFixed(1)}" y1="${PLOT_TOP - 14}" y2="${PLOT_TOP + PLOT_HEIGHT}"></line>` +
        `<text class="stage-label" x="${(a + 3).toFixed(1)}" y="${PLOT_TOP - 4}">${escapeHtml(s.name)}</text>`
      );
    });
}
