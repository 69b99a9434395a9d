import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "@memkit/core";
import { formatText, renderHtml, timelineBands, validateReport } from "../src/index.js";
import { timelineReport } from "./fixtures/timeline-report.js";
import { gameReport } from "./fixtures/reports.js";

const report = timelineReport();

describe("the timeline in memreport", () => {
  it("text: every scope's first, last, least and most live bytes, and the leak suspect", () => {
    const text = formatText(validateReport(JSON.parse(JSON.stringify(report))));
    expect(text).toContain("Timeline: 320 frames sampled (0-319, ring of 400)");
    expect(text).toMatch(/root\/level +8.00 KiB +160.0 KiB +8.00 KiB +160.0 KiB +0\.1 +0\.0/);
    expect(text).toContain("Leak suspects: own live bytes kept rising over the last 200 frames");
    expect(text).toMatch(/root\/ai +120-319 +/);
    expect(text.split("Leak suspects")[1]!.split("Churn")[0]).not.toMatch(/root\/(physics|audio|level)/);
    // physics drops and remakes its contact list every frame: the most churn, first.
    expect(text).toMatch(/Churn: blocks allocated and freed in the same frame[^\n]*\nscope +blocks +per frame +frames\nroot\/physics +[\d,]+ +\d+\.\d +\d+ of 320\nroot\/audio /);
  });

  it("html: one band per scope that held bytes, stages marked, the suspect outlined, the data for the hover", () => {
    const html = renderHtml(report);
    const bands = timelineBands(report.timeline!);
    expect(bands.map((b) => b.path).sort()).toEqual(["root/ai", "root/audio", "root/level", "root/physics"]);
    expect(html.match(/<polygon class="band/g)).toHaveLength(4);
    expect(html).toContain('<polygon class="band suspect" data-path="root/ai"');
    expect(html).toMatch(/<text class="stage-label"[^>]*>load<\/text>/);
    expect(html).toMatch(/<text class="stage-label"[^>]*>play<\/text>/);
    expect(html).toContain('id="timeline-data"');
    expect(html).toContain("root/ai <b>leak suspect</b>");
    expect(html).toContain('<pre class="suspects churn">Churn: blocks allocated and freed in the same frame');
  });

  it("more scopes than bands: the smallest are summed into one band whose bytes add up", () => {
    const t = structuredClone(report.timeline!);
    for (let i = 0; i < 20; i++) t.scopes.push({ ...structuredClone(t.scopes[1]!), path: `root/extra-${i}`, liveBytes: t.frames.map(() => i + 1) });
    const bands = timelineBands(t);
    expect(bands).toHaveLength(12);
    const other = bands.at(-1)!;
    expect(other.path).toMatch(/^other scopes \(\d+\)$/);
    const drawn = new Set(bands.map((b) => b.path));
    const rest = t.scopes.filter((s) => !drawn.has(s.path) && s.liveBytes.some((b) => b > 0));
    expect(other.liveBytes[7]).toBe(rest.reduce((n, s) => n + s.liveBytes[7]!, 0));
  });

  it("one frame or none: drawn without NaN, or a note", () => {
    const one = structuredClone(report);
    const t = one.timeline!;
    const keep = <T>(a: T[]): T[] => a.slice(-1);
    t.frames = keep(t.frames);
    t.timeMs = keep(t.timeMs);
    for (const s of t.scopes) for (const f of ["liveBytes", "liveCount", "totalBytes", "allocs", "frees", "budgetBytes"] as const) s[f] = keep(s[f]);
    for (const f of Object.keys(t.allocators) as (keyof typeof t.allocators)[]) t.allocators[f] = keep(t.allocators[f]);
    t.leakSuspects = [];
    const html = renderHtml(validateReport(JSON.parse(JSON.stringify(one))));
    expect(html).toContain('<polygon class="band');
    expect(html).not.toContain("NaN");
    expect(formatText(one)).toContain("Leak suspects: too few frames sampled to tell (8 needed)");
    t.frames = [];
    t.timeMs = [];
    for (const s of t.scopes) for (const f of ["liveBytes", "liveCount", "totalBytes", "allocs", "frees", "budgetBytes"] as const) s[f] = [];
    for (const f of Object.keys(t.allocators) as (keyof typeof t.allocators)[]) t.allocators[f] = [];
    t.churn = [];
    expect(renderHtml(one)).toContain("The timeline holds no sample yet");
    expect(formatText(one)).toContain("Timeline: no frame sampled yet");
  });

  it("a report without a timeline says how to get one", () => {
    expect(renderHtml(gameReport()).includes("MemoryGlobals.init({ timeline: true })")).toBe(true);
    expect(formatText(gameReport())).not.toContain("Timeline:");
  });

  it("a damaged timeline is refused naming the field", () => {
    const broken = JSON.parse(JSON.stringify(report)) as { timeline: { scopes: { liveBytes: number[] }[]; frames: number[] } };
    broken.timeline.scopes[1]!.liveBytes.pop();
    expect(() => validateReport(broken, "r.json")).toThrow(InvalidArgumentError);
    expect(() => validateReport(broken, "r.json")).toThrow(/timeline\.scopes\[1\] \(root\/physics\)\.liveBytes has 319 entries but timeline\.frames has 320/);
    const backwards = JSON.parse(JSON.stringify(report)) as { timeline: { frames: number[] } };
    backwards.timeline.frames[5] = 2;
    expect(() => validateReport(backwards, "r.json")).toThrow(/timeline\.frames\[5\] \(2\) does not come after/);
  });
});
