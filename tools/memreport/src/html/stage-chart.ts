import { formatBytes, formatCount } from "@memkit/core";
import type { StageReport } from "../report-types.js";
import { heaviestStages, stageMatrix } from "../stages.js";
import { counted } from "../plural.js";
import { escapeHtml } from "./escape.js";

/*
 * Peaks per stage as a scope x stage grid of bars. Each scope's bars share
 * the scope's own scale (its highest peak = a full bar), so the heaviest
 * stage of every subsystem stands out (in orange) whatever its size; the
 * printed figures give the absolute sizes. A thin dark tick marks what was
 * still live when the stage ended.
 */

const LABEL_W = 250;
const COL_W = 190;
const BAR_W = 110;
const ROW_H = 22;
const HEAD_H = 40;

/** The stage chart, or a note when no stage was recorded. */
export function renderStageChart(stages: readonly StageReport[]): string {
  if (stages.length === 0) {
    return `<p class="note">No stages recorded. Wrap loading, playing and unloading in <code>memory.beginStage(name)</code> / <code>memory.endStage()</code> to see each subsystem's heaviest stage.</p>`;
  }
  const { paths, cell } = stageMatrix(stages);
  const heaviest = heaviestStages(stages);
  const width = LABEL_W + stages.length * COL_W;
  const height = HEAD_H + paths.length * ROW_H + 4;
  const out: string[] = [];
  stages.forEach((s, i) => {
    const x = LABEL_W + i * COL_W;
    out.push(
      `<text class="stage-name" x="${x}" y="16">${escapeHtml(s.name)}</text>` +
        `<text class="stage-frames" x="${x}" y="32">frames ${formatCount(s.startFrame)}–${formatCount(s.endFrame)}</text>`,
    );
  });
  paths.forEach((path, row) => {
    const y = HEAD_H + row * ROW_H;
    const depth = path.split("/").length - 1;
    const name = path.split("/").pop()!;
    if (row % 2 === 1) out.push(`<rect class="stripe" x="0" y="${y}" width="${width}" height="${ROW_H}"></rect>`);
    out.push(`<text class="scope-label" x="${6 + depth * 14}" y="${y + 15}"><title>${escapeHtml(path)}</title>${escapeHtml(name)}</text>`);
    const rowMax = Math.max(1, ...stages.map((_, i) => cell(path, i)?.peakLiveBytes ?? 0));
    stages.forEach((stage, i) => {
      const c = cell(path, i);
      if (c === undefined) return;
      const x = LABEL_W + i * COL_W;
      const w = (BAR_W * c.peakLiveBytes) / rowMax;
      const endX = x + (BAR_W * c.liveBytes) / rowMax;
      const top = heaviest.get(path) === i;
      const title =
        `${path} in stage ${stage.name} (frames ${formatCount(stage.startFrame)}–${formatCount(stage.endFrame)})` +
        `\npeak: ${formatBytes(c.peakLiveBytes)} (${formatCount(c.peakLiveBytes)} B)${top ? " - this scope's heaviest stage" : ""}` +
        `\nlive when the stage ended: ${formatBytes(c.liveBytes)} (${formatCount(c.liveBytes)} B)` +
        `\n${counted(c.allocCount, "alloc")}, ${counted(c.freeCount, "free")} during the stage`;
      out.push(
        `<g class="cell${top ? " top" : ""}"><title>${escapeHtml(title)}</title>` +
          `<rect class="slot" x="${x}" y="${y + 4}" width="${BAR_W}" height="${ROW_H - 8}"></rect>` +
          `<rect class="peakbar" x="${x}" y="${y + 4}" width="${w.toFixed(2)}" height="${ROW_H - 8}"></rect>` +
          `<rect class="endtick" x="${Math.min(x + BAR_W - 2, endX).toFixed(2)}" y="${y + 2}" width="2" height="${ROW_H - 4}"></rect>` +
          `<text class="figure" x="${x + BAR_W + 6}" y="${y + 15}">${formatBytes(c.peakLiveBytes)}</text></g>`,
      );
    });
  });
  return (
    `<div class="scroll"><svg class="stages" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="peak per stage">` +
    `${out.join("")}</svg></div>`
  );
}
