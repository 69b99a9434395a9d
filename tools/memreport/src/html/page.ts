import { formatBytes, formatCount } from "@memkit/core";
import { parseFoldedStacks } from "@memkit/trace-allocator";
import { scopePaths, splitStack } from "../folded.js";
import { summarizeMap } from "../map-summary.js";
import type { MemoryReport } from "../report-types.js";
import { describeReport } from "../text.js";
import { hasCallStacks } from "../diff.js";
import { counted } from "../plural.js";
import { renderAllocators } from "./allocators.js";
import { CLIENT_SCRIPT } from "./client-script.js";
import { escapeHtml } from "./escape.js";
import { buildFlameTree, layoutFlame, renderFlameSvg } from "./flame-graph.js";
import { renderMemoryMap } from "./memory-map.js";
import { renderScopeTree } from "./scope-tree.js";
import { renderStageChart } from "./stage-chart.js";
import { renderThreads } from "./threads.js";
import { STYLES } from "./styles.js";
import { renderTimeline } from "./timeline-chart.js";
import { TIMELINE_SCRIPT } from "./timeline-script.js";

/*
 * The whole page: one HTML file with its CSS, script and data inline. A
 * Content-Security-Policy forbids every fetch, so the page works offline and
 * can be attached to a bug report as is.
 */

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

function card(value: string, label: string, title: string): string {
  return `<div class="card" title="${escapeHtml(title)}"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
}

const FLAME_METRICS = [
  { metric: "bytes", unit: "bytes", label: "live bytes", root: "all live bytes", pick: (r: MemoryReport) => r.folded.liveBytes },
  { metric: "count", unit: "count", label: "live blocks", root: "all live blocks", pick: (r: MemoryReport) => r.folded.liveCount },
  { metric: "peak", unit: "bytes", label: "bytes live at each scope's peak", root: "live at peak", pick: (r: MemoryReport) => r.folded.peakBytes },
] as const;

function renderFlames(report: MemoryReport): string {
  const paths = scopePaths(report.scopes);
  const panels = FLAME_METRICS.map((f) => ({ ...f, layout: layoutFlame(buildFlameTree(f.pick(report), paths, f.root)) })).filter(
    (f) => f.layout.total > 0,
  );
  if (panels.length === 0) return `<p class="note">Nothing is live, so there is nothing to draw.</p>`;
  const radios = panels
    .map((p, i) => `<label><input type="radio" name="flame-metric" value="${p.metric}"${i === 0 ? " checked" : ""}> ${p.label}</label>`)
    .join("");
  const body = panels
    .map((p, i) => {
      const id = `flame-${p.metric}`;
      const n = p.layout.hidden;
      const hidden = n > 0 ? ` ${counted(n, "frame")} too narrow to draw ${n === 1 ? "is" : "are"} left out.` : "";
      return (
        `<div class="flame-panel" data-metric="${p.metric}"${i === 0 ? "" : " hidden"}>` +
        `<div class="controls"><button type="button" class="flame-reset" data-target="${id}">reset zoom</button>` +
        `<span>${counted(p.layout.rects.length, "frame")}.${hidden}</span></div>` +
        renderFlameSvg(p.layout, p.unit, id) +
        `</div>`
      );
    })
    .join("");
  const labels = hasLabels(report)
    ? ` A green frame after the scope path is a block label: the container (type and name) the blocks below it belong to.`
    : "";
  const rows = hasCallStacks(report)
    ? `the first rows are the scope path (blue), then the call stack that allocated (warm colours, outermost first).${labels}`
    : `the rows are the scope path${labels === "" ? "" : " and block labels"} only: ${noStacksReason(report)}${labels}`;
  return (
    `<p class="note">Each frame is as wide as what it holds (${panels.map((p) => p.label).join(" / ")}); ${rows} ` +
    `Hover for exact figures, click a frame to zoom. ` +
    `For other viewers, <code>npm run -s memreport -- --folded bytes report.json</code> prints the same stacks.</p>` +
    `<div class="controls">show ${radios}</div>${body}`
  );
}

/** True when some live folded line carries a block label (a container's name). */
function hasLabels(report: MemoryReport): boolean {
  const paths = scopePaths(report.scopes);
  return parseFoldedStacks(report.folded.liveBytes).some((line) => splitStack(line.frames, paths).label !== undefined);
}

/** Why a report's flame graph has no call frames, and how to get them. */
function noStacksReason(report: MemoryReport): string {
  const how =
    `For call stacks, take the report with <code>tracing: "callstacks"</code> ` +
    `(<code>MemoryGlobals.init({ tracing: "callstacks" })</code>, or the sample game's <code>--tracing callstacks</code>).`;
  if (report.options.tracing !== "callstacks") return `this report was taken at tracing "${escapeHtml(report.options.tracing)}", which counts bytes per scope and records no call stacks. ${how}`;
  return `no live block has a captured call stack (with <code>sampleEvery</code> above 1 only one allocation in N gets one). ${how}`;
}

/** Renders a memory report as one self-contained HTML page (no network access; CSS, script and data inline). */
export function renderHtml(report: MemoryReport): string {
  const s = report.scopes;
  const map = summarizeMap(report.memoryMap);
  const pagesUsed = map.owners.reduce((sum, o) => sum + o.bytes, 0);
  const title = `memkit memory report: ${report.label}`;
  const cards = [
    card(formatBytes(s.totalLiveBytes), "live", `${formatCount(s.totalLiveBytes)} B live in every scope`),
    card(formatCount(s.totalLiveCount), "live blocks", counted(s.totalLiveCount, "block")),
    card(formatBytes(s.totalPeakLiveBytes), `peak (frame ${formatCount(s.totalPeakFrame)})`, `${formatCount(s.totalPeakLiveBytes)} B at frame ${s.totalPeakFrame}`),
    card(formatBytes(pagesUsed), "pages handed out", `${formatCount(pagesUsed)} B in used page spans; ${formatCount(map.free.bytes)} B in free spans`),
    card(
      `${formatBytes(report.memoryMap.byteLength)}`,
      `space of ${formatBytes(report.memoryMap.maximumBytes)}`,
      `${formatCount(report.memoryMap.byteLength)} B committed of ${formatCount(report.memoryMap.maximumBytes)} B maximum`,
    ),
  ].join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLES}</style>
</head>
<body>
<main>
<header>
<h1>Memory report <span class="label">${escapeHtml(report.label)}</span></h1>
<p class="meta">${escapeHtml(describeReport(report))}</p>
<div class="cards">${cards}</div>
<nav><a href="#scopes">Scopes</a><a href="#timeline-section">Timeline</a><a href="#flame">Flame graph</a><a href="#stages">Peak per stage</a>${report.threads === undefined ? "" : '<a href="#threads">Threads</a>'}<a href="#map">Memory map</a><a href="#allocators">Allocators</a></nav>
</header>
<section id="scopes"><h2>Scopes</h2>
<p class="note">Bars: bytes live in each scope's subtree, on one scale; the red tick is the subtree's peak. Hover a row for every figure.</p>
${renderScopeTree(report.scopes)}
</section>
<section id="timeline-section"><h2>Timeline</h2>
${renderTimeline(report)}
</section>
<section id="flame"><h2>Flame graph</h2>
${renderFlames(report)}
</section>
<section id="stages"><h2>Peak per stage</h2>
<p class="note">Peak bytes of each scope's subtree in each stage. Bars are scaled per scope; orange marks the scope's heaviest stage, the dark tick what was still live when the stage ended.</p>
${renderStageChart(report.stages)}
</section>
${renderThreads(report)}
<section id="map"><h2>Memory map</h2>
${renderMemoryMap(report.memoryMap)}
</section>
<section id="allocators"><h2>Allocators</h2>
${renderAllocators(report.allocators)}
</section>
<footer>Written by memreport from a <code>${escapeHtml(report.schema)}</code> document created ${escapeHtml(report.createdAt)}.</footer>
</main>
<script>${CLIENT_SCRIPT}${TIMELINE_SCRIPT}</script>
</body>
</html>
`;
}
