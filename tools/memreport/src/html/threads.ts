import { formatBytes, formatCount } from "@memkit/core";
import type { MemoryReport } from "../report-types.js";
import { escapeHtml } from "./escape.js";

/**
 * The threads of a shared memory: one row per thread (state, live bytes and
 * high-water mark of what it allocated, allocations, frees), its live blocks
 * per scope beneath. "" for a private memory (the report has no threads).
 */
export function renderThreads(report: MemoryReport): string {
  const threads = report.threads;
  if (threads === undefined) return "";
  const rows = threads
    .map((t) => {
      const scopes = t.scopes.map((s) => `${escapeHtml(s.path)} ${formatBytes(s.liveBytes)} (${formatCount(s.liveCount)})`).join("<br>");
      return (
        `<tr><td>${escapeHtml(t.name)}</td><td>${escapeHtml(t.state)}</td><td class="num">${formatBytes(t.liveBytes)}</td>` +
        `<td class="num">${formatBytes(t.peakLiveBytes)}</td><td class="num">${formatCount(t.allocCount)}</td><td class="num">${formatCount(t.freeCount)}</td><td>${scopes}</td></tr>`
      );
    })
    .join("\n");
  return (
    `<section id="threads"><h2>Threads</h2>\n` +
    `<p class="note">Live blocks each thread allocated, whichever thread frees them, and their high-water mark; "ended" threads detached and left their heap to the next thread, "dead" ones were declared terminated.</p>\n` +
    `<table class="threads"><thead><tr><th>thread</th><th>state</th><th>live</th><th>peak</th><th>allocations</th><th>freed</th><th>live by scope</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>\n</section>`
  );
}
