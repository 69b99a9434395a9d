import { formatBytes, formatCount } from "@memkit/core";
import type { LabelReport, ScopeReport } from "@memkit/trace-allocator";
import { counted } from "../plural.js";
import { escapeHtml } from "./escape.js";

/*
 * The scope tree as a table: one row per scope, indented with tree guides,
 * a bar of the subtree's live bytes with a tick at its peak (bars share one
 * scale: the root's peak), and the budget use where a budget is set. Under a
 * scope, a row per block label (a container's name, ScopeReport.labels) with
 * that label's own live bytes, blocks and peak.
 */

function exact(bytes: number): string {
  return `${formatBytes(bytes)} (${formatCount(bytes)} B)`;
}

/** Hover text of a scope row: every figure, exact. */
export function scopeTitle(r: ScopeReport): string {
  const since = r.stage !== undefined ? ` (peak since stage ${r.stage} began)` : "";
  const lines = [
    r.path + (r.stage !== undefined ? ` [stage ${r.stage}]` : "") + ` (tracing ${r.tracing})`,
    `subtree live: ${exact(r.totalLiveBytes)} in ${counted(r.totalLiveCount, "block")}`,
    `subtree peak: ${exact(r.totalPeakLiveBytes)} at frame ${formatCount(r.totalPeakFrame)}${since}`,
    `own live: ${exact(r.liveBytes)} in ${counted(r.liveCount, "block")} (reserved ${exact(r.reservedBytes)})`,
    `own peak: ${exact(r.peakLiveBytes)} at frame ${formatCount(r.peakFrame)}${since}`,
    `calls: ${counted(r.allocCount, "alloc")}, ${counted(r.freeCount, "free")}, ${counted(r.reallocCount, "realloc")}; ${exact(r.allocatedBytes)} asked for in all`,
  ];
  if (r.retainedCount > 0) lines.push(`retained on purpose: ${exact(r.retainedBytes)} in ${counted(r.retainedCount, "block")}`);
  if (r.labels !== undefined && r.labels.length > 0) {
    lines.push(`own blocks by label (container):`);
    for (const l of r.labels) lines.push(`  ${l.label}: ${exact(l.liveBytes)} in ${counted(l.liveCount, "block")}, peak ${exact(l.peakLiveBytes)}`);
  }
  if (r.budgetBytes !== undefined) {
    lines.push(`budget: ${exact(r.budgetBytes)} (${r.budgetAction ?? "throw"} when exceeded), ${budgetShare(r)} used`);
  }
  return lines.join("\n");
}

function budgetShare(r: ScopeReport): string {
  if (r.budgetBytes === undefined) return "";
  return r.budgetBytes === 0 ? (r.totalLiveBytes === 0 ? "0%" : "over") : `${((100 * r.totalLiveBytes) / r.budgetBytes).toFixed(1)}%`;
}

/** The stages named after scope names (`textures [play]`), explained once above the table; "" when none is. */
function stageLegend(root: ScopeReport): string {
  const stages = new Set<string>();
  const visit = (r: ScopeReport): void => {
    if (r.stage !== undefined) stages.add(r.stage);
    r.children.forEach(visit);
  };
  visit(root);
  if (stages.size === 0) return "";
  const names = [...stages].map((s) => `[${s}]`).join(", ");
  const example = [...stages][0]!;
  return (
    `<p class="note stage-legend">${escapeHtml(names)} after a name: peak figures since stage "${escapeHtml(example)}" began` +
    `${stages.size > 1 ? " (or the stage named)" : ""}. A stage (<code>memory.beginStage(name)</code>, or a scope's <code>resetPeak(name)</code>) ` +
    `restarts the peaks, so a scope's peak is the heaviest moment of its current stage.</p>`
  );
}

/** Hover text of a label row. */
export function labelTitle(scope: ScopeReport, l: LabelReport): string {
  const since = scope.stage !== undefined ? ` (since stage ${scope.stage} began)` : "";
  return [
    `${l.label} in ${scope.path}`,
    `blocks allocated under this label (containers label their block with their type and name)`,
    `live: ${exact(l.liveBytes)} in ${counted(l.liveCount, "block")}`,
    `peak: ${exact(l.peakLiveBytes)} at frame ${formatCount(l.peakFrame)}${since}`,
  ].join("\n");
}

/** The scope tree table. */
export function renderScopeTree(root: ScopeReport): string {
  const scale = Math.max(1, root.totalPeakLiveBytes, root.totalLiveBytes);
  const rows: string[] = [];
  const walk = (r: ScopeReport, guide: string, childGuide: string): void => {
    const live = (100 * r.totalLiveBytes) / scale;
    const peak = (100 * r.totalPeakLiveBytes) / scale;
    let budget = "";
    if (r.budgetBytes !== undefined) {
      const use = r.budgetBytes === 0 ? (r.totalLiveBytes > 0 ? 100 : 0) : Math.min(100, (100 * r.totalLiveBytes) / r.budgetBytes);
      const level = use >= 100 ? "over" : use >= 80 ? "near" : "ok";
      budget =
        `<div class="budget ${level}"><div class="fill" style="width:${use.toFixed(2)}%"></div></div>` +
        `<span class="num">${escapeHtml(`${formatBytes(r.totalLiveBytes)} / ${formatBytes(r.budgetBytes)} (${budgetShare(r)})`)}</span>`;
    }
    const name = `${r.name}${r.stage !== undefined ? ` [${r.stage}]` : ""}${r.tracing === "off" ? " (off)" : ""}`;
    rows.push(
      `<tr title="${escapeHtml(scopeTitle(r))}" data-path="${escapeHtml(r.path)}">` +
        `<td class="scope"><span class="guide">${escapeHtml(guide)}</span>${escapeHtml(name)}</td>` +
        `<td class="barcell"><div class="bar"><div class="fill" style="width:${live.toFixed(2)}%"></div>` +
        `<div class="peak" style="left:${peak.toFixed(2)}%"></div></div></td>` +
        `<td class="num">${formatBytes(r.totalLiveBytes)}</td>` +
        `<td class="num">${formatBytes(r.liveBytes)}</td>` +
        `<td class="num">${formatCount(r.totalLiveCount)}</td>` +
        `<td class="num">${formatBytes(r.totalPeakLiveBytes)}</td>` +
        `<td class="num">${formatCount(r.allocCount)}</td>` +
        `<td class="num">${formatCount(r.freeCount)}</td>` +
        `<td class="budgetcell">${budget}</td></tr>`,
    );
    const labelGuide = `${childGuide}${r.children.length > 0 ? "│ " : "  "}· `;
    for (const l of r.labels ?? []) {
      rows.push(
        `<tr class="label-row" title="${escapeHtml(labelTitle(r, l))}" data-path="${escapeHtml(r.path)}" data-label="${escapeHtml(l.label)}">` +
          `<td class="scope"><span class="guide">${escapeHtml(labelGuide)}</span>${escapeHtml(l.label)}</td>` +
          `<td class="barcell"><div class="bar"><div class="fill label" style="width:${((100 * l.liveBytes) / scale).toFixed(2)}%"></div>` +
          `<div class="peak" style="left:${((100 * l.peakLiveBytes) / scale).toFixed(2)}%"></div></div></td>` +
          `<td class="num">${formatBytes(l.liveBytes)}</td><td></td>` +
          `<td class="num">${formatCount(l.liveCount)}</td>` +
          `<td class="num">${formatBytes(l.peakLiveBytes)}</td><td></td><td></td><td></td></tr>`,
      );
    }
    r.children.forEach((child, i) => {
      const last = i === r.children.length - 1;
      walk(child, `${childGuide}${last ? "└─ " : "├─ "}`, `${childGuide}${last ? "   " : "│  "}`);
    });
  };
  walk(root, "", "");
  return (
    stageLegend(root) +
    `<table class="scopes"><thead><tr><th>scope</th><th>live (subtree; tick = peak)</th><th class="num">live</th><th class="num">self</th>` +
    `<th class="num">blocks</th><th class="num">peak</th><th class="num">allocs</th><th class="num">frees</th><th>budget</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}
