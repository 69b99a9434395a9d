import { formatBytes } from "@memkit/core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MAX_CELLS, MAX_SPANS, buildFlameTree, buildMapModel, layoutFlame, renderHtml, validateReport, type FlameNode } from "../src/index.js";
import { FREE, RESERVED, UNCARVED } from "../src/html/memory-map.js";
import { fitLabel } from "../src/html/flame-graph.js";
import { renderStageChart } from "../src/html/stage-chart.js";
import type { MemoryMap, MemoryReport } from "../src/report-types.js";
import { bigMapReport, countsGameReport, gameReport } from "./fixtures/reports.js";

/* The HTML page's parts without a browser: self-containment, escaping, flame layout, map model. */

describe("renderHtml", () => {
  test("is one self-contained document: a CSP that forbids fetching, no URL, no external resource", () => {
    const html = renderHtml(gameReport());
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  test("shows every section with the report's figures", () => {
    const report = gameReport();
    const html = renderHtml(report);
    for (const id of ["scopes", "flame", "stages", "map", "allocators"]) expect(html).toContain(`<section id="${id}">`);
    expect(html).toContain(`<b>${formatBytes(report.scopes.totalLiveBytes)}</b><span>live</span>`);
    expect(html.match(/<tr title=/g)).toHaveLength(9);
    expect(html).toContain('id="flame-bytes"');
    expect(html).toContain('id="flame-count"');
    expect(html).toContain('id="flame-peak"');
    expect(html).toContain('<div class="budget near">'); // physics: 91.7% of its budget
    expect(html).toContain('<div class="budget ok">'); // renderer: 15.7%
  });

  test("without peak stacks or stages it says so instead of drawing empty charts", () => {
    const report = countsGameReport();
    report.stages = [];
    const html = renderHtml(report);
    expect(html).not.toContain('id="flame-peak"');
    expect(html).toContain("No stages recorded.");
    const empty = structuredClone(report);
    empty.folded = { liveBytes: "", liveCount: "", peakBytes: "" };
    expect(renderHtml(empty)).toContain("Nothing is live, so there is nothing to draw.");
  });

  test("an empty report (nothing live, no spans, no allocators) still renders every section", () => {
    const report = gameReport();
    report.scopes = { ...report.scopes, liveBytes: 0, liveCount: 0, totalLiveBytes: 0, totalLiveCount: 0, children: [] };
    report.folded = { liveBytes: "", liveCount: "", peakBytes: "" };
    report.stages = [];
    report.allocators = [];
    report.memoryMap = { ...report.memoryMap, spans: [], pageUse: [], pageScope: [], scopePaths: [], byteLength: 0 };
    const html = renderHtml(validateReport(JSON.parse(JSON.stringify(report)), "empty"));
    expect(html).toContain("Nothing is live, so there is nothing to draw.");
    expect(html).toContain("The report lists no allocators.");
    // Only the reserved pages before the page allocator's first page are left to draw.
    const model = buildMapModel(report.memoryMap);
    expect(model.cellOwner).toEqual(new Array(report.memoryMap.firstPage).fill(RESERVED));
  });

  test("escapes names from the report everywhere, including inside the embedded JSON", () => {
    const report: MemoryReport = gameReport();
    const evil = `</script><img src=x onerror="alert(1)">&`;
    report.label = evil;
    report.scopes.children[0]!.name = evil;
    report.memoryMap.scopePaths[0] = `root/${evil}`;
    report.memoryMap.owners["1"] = evil;
    report.folded.liveBytes = `root;${evil.replace(/;/g, ",")} 10\n`;
    const html = renderHtml(report);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("</script><img");
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the JSON data element and the page script
    expect(html).toContain("&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;");
    expect(html).toContain("\\u003c/script>\\u003cimg src=x onerror=\\\"alert(1)\\\">&");
  });

  test("stays small: the 32,768-page map is drawn from at most MAX_CELLS cells", () => {
    const html = renderHtml(bigMapReport());
    expect(html.length).toBeLessThan(1_000_000);
  });
});

describe("stage chart", () => {
  test("one cell per scope and stage; the heaviest stage of each scope is marked", () => {
    const report = gameReport();
    const svg = renderStageChart(report.stages);
    expect(svg.match(/<g class="cell/g)).toHaveLength(report.stages.reduce((n, s) => n + s.scopes.length, 0));
    // root/audio peaks in "menu" (320,000 B), root/ai in "play".
    expect(svg).toMatch(/<g class="cell top"><title>root\/audio in stage menu \(frames 480–600\)\npeak: 312\.5 KiB \(320,000 B\) - this scope&#39;s heaviest stage/);
    expect(svg).toMatch(/<g class="cell top"><title>root\/ai in stage play/);
    expect(svg).toMatch(/<g class="cell"><title>root\/audio in stage load/);
  });
});

describe("flame graph", () => {
  const paths = new Set(["root", "root/level", "root/level/streaming", "root/ai"]);
  const folded = "root 7\nroot;ai;main (m.ts:1);think (ai.ts:3) 30\nroot;level;main (m.ts:1);load (l.ts:9) 60\nroot;level;streaming;main (m.ts:1);chunk (s.ts:2) 100\n";

  test("merges lines into a tree: values are sums, scope frames are told from call frames", () => {
    const tree = buildFlameTree(folded, paths);
    expect(tree.value).toBe(197);
    const root = tree.children[0]!;
    expect(root).toMatchObject({ name: "root", value: 197, self: 7, isScope: true });
    expect(root.children.map((c) => [c.name, c.value, c.isScope])).toEqual([
      ["level", 160, true],
      ["ai", 30, true],
    ]);
    const level = root.children[0]!;
    expect(level.children.map((c) => [c.name, c.value, c.isScope])).toEqual([
      ["streaming", 100, true],
      ["main (m.ts:1)", 60, false],
    ]);
  });

  test("lays frames out nested, widths proportional to value, siblings side by side", () => {
    const layout = layoutFlame(buildFlameTree(folded, paths));
    expect(layout.total).toBe(197);
    expect(layout.hidden).toBe(0);
    expect(layout.rows).toBe(6);
    const streaming = layout.rects.find((r) => r.name === "streaming")!;
    expect(streaming.x1 - streaming.x0).toBeCloseTo(100 / 197, 12);
    expect(streaming.stack).toEqual(["all", "root", "level", "streaming"]);
  });

  const foldedArb = fc
    .array(fc.tuple(fc.array(fc.constantFrom("a", "b", "c", "d (x.ts:1)", "e (y.ts:2)"), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 1_000_000 })), {
      minLength: 1,
      maxLength: 60,
    })
    .map((lines) => lines.map(([frames, v]) => `root;${frames.join(";")} ${v}\n`).join(""));

  test("property: children lie inside their parent, siblings do not overlap, widths add up", () => {
    fc.assert(
      fc.property(foldedArb, (text) => {
        const tree = buildFlameTree(text, new Set(["root"]));
        const layout = layoutFlame(tree, { minFraction: 0 });
        const total = text.split("\n").reduce((s, l) => s + (l === "" ? 0 : Number(l.split(" ").pop())), 0);
        expect(layout.total).toBe(total);
        const count = (n: FlameNode): number => 1 + n.children.reduce((s, c) => s + count(c), 0);
        expect(layout.rects.length).toBe(count(tree));
        const byStack = new Map(layout.rects.map((r) => [r.stack.join(";"), r]));
        for (const r of layout.rects) {
          expect(r.x1).toBeGreaterThanOrEqual(r.x0);
          expect(r.x1).toBeLessThanOrEqual(1 + 1e-9);
          if (r.depth === 0) continue;
          const parent = byStack.get(r.stack.slice(0, -1).join(";"))!;
          expect(r.x0).toBeGreaterThanOrEqual(parent.x0 - 1e-9);
          expect(r.x1).toBeLessThanOrEqual(parent.x1 + 1e-9);
          expect(r.depth).toBe(parent.depth + 1);
        }
        const rows = new Map<number, typeof layout.rects>();
        for (const r of layout.rects) rows.set(r.depth, [...(rows.get(r.depth) ?? []), r]);
        for (const row of rows.values()) {
          const sorted = [...row].sort((a, b) => a.x0 - b.x0);
          for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.x0).toBeGreaterThanOrEqual(sorted[i - 1]!.x1 - 1e-9);
        }
      }),
      { numRuns: 150 },
    );
  });

  test("frames narrower than minFraction or past maxRects are left out and counted", () => {
    const text = "root;big 10000\nroot;tiny 1\nroot;tiny;deeper 1\n";
    const layout = layoutFlame(buildFlameTree(text, new Set(["root"])), { minFraction: 0.001 });
    expect(layout.rects.map((r) => r.name)).toEqual(["all", "root", "big"]);
    expect(layout.hidden).toBe(2);
    const capped = layoutFlame(buildFlameTree(text, new Set(["root"])), { minFraction: 0, maxRects: 2 });
    expect(capped.rects).toHaveLength(2);
    expect(capped.hidden).toBe(3);
  });

  test("labels fit their frame or are cut with '..'", () => {
    expect(fitLabel("streaming", 200)).toBe("streaming");
    expect(fitLabel("loadChunk (level/streaming.ts:88)", 80)).toBe("loadChunk..");
    expect(fitLabel("streaming", 20)).toBe("");
  });
});

describe("memory map model", () => {
  test("pages before the first span are reserved, free spans free, pages past the last span not carved", () => {
    const report = gameReport();
    const map = report.memoryMap;
    const model = buildMapModel(map);
    expect(model.pagesPerCell).toBe(1);
    expect(model.pageCount).toBe(map.byteLength / map.pageSize);
    expect(model.cellOwner.slice(0, map.firstPage)).toEqual(new Array(map.firstPage).fill(RESERVED));
    const freeSpan = map.spans.find((s) => !s.used)!;
    expect(model.cellOwner[freeSpan.start / map.pageSize]).toBe(FREE);
    const last = map.spans[map.spans.length - 1]!;
    expect(model.cellOwner.slice((last.start + last.bytes) / map.pageSize).every((k) => k === UNCARVED)).toBe(true);
    // Heap pages carry their measured use, large pages count whole.
    const heap = model.legend.findIndex((e) => e.label === "default.heap");
    const heapCells = model.cellOwner.map((k, c) => (k === heap ? c : -1)).filter((c) => c >= 0);
    expect(heapCells.map((c) => model.cellUsed[c])).toEqual(heapCells.map((c) => map.pageUse[c - map.firstPage]));
    expect(model.legend.reduce((n, e) => n + e.pages, 0)).toBe(model.pageCount);
    // Frame pages have no figure in the report: -1, drawn solid; large pages are full.
    const frame = model.legend.findIndex((e) => e.label === "frame");
    const large = model.legend.findIndex((e) => e.label === "default.large");
    expect(model.cellUsed.filter((_, c) => model.cellOwner[c] === frame)).toEqual(new Array(32).fill(-1));
    expect(model.cellUsed.filter((_, c) => model.cellOwner[c] === large).every((u) => u === map.pageSize)).toBe(true);
  });

  test("a big space is drawn in power-of-two runs of pages, keeping every byte of use", () => {
    const map = bigMapReport().memoryMap;
    const model = buildMapModel(map);
    expect(model.pagesPerCell).toBe(2);
    expect(model.cellCount).toBeLessThanOrEqual(MAX_CELLS);
    const usedPages = buildMapModel({ ...map }).cellUsed.reduce((a, b) => a + b, 0);
    const expected = map.spans.reduce((sum, s) => {
      if (!s.used) return sum;
      let n = 0;
      for (let p = s.start / map.pageSize; p < (s.start + s.bytes) / map.pageSize; p++) n += map.pageUse[p - map.firstPage]!;
      return sum + n;
    }, map.firstPage * map.pageSize); // reserved pages count as used
    expect(usedPages).toBe(expected);
  });

  test("property: random maps keep page counts and use through aggregation", () => {
    const spanArb = fc.array(fc.record({ pages: fc.integer({ min: 1, max: 1500 }), used: fc.boolean(), owner: fc.integer({ min: 1, max: 4 }), fill: fc.integer({ min: 0, max: 4096 }) }), {
      minLength: 1,
      maxLength: 40,
    });
    fc.assert(
      fc.property(spanArb, fc.integer({ min: 0, max: 5000 }), (specs, slack) => {
        const pageSize = 4096;
        const firstPage = 3;
        let page = firstPage;
        const map: MemoryMap = {
          pageSize,
          byteLength: 0,
          maximumBytes: 1 << 30,
          regions: [{ name: "null guard", start: 0, bytes: 4096 }],
          owners: { "1": "heap", "2": "slots", "3": "large", "4": "frame" },
          spans: [],
          firstPage,
          pageUse: [],
          pageScope: [],
          scopePaths: ["root"],
        };
        for (const s of specs) {
          map.spans.push({ start: page * pageSize, bytes: s.pages * pageSize, used: s.used, owner: s.used ? s.owner : 0 });
          for (let i = 0; i < s.pages; i++) {
            map.pageUse.push(!s.used ? -1 : s.owner <= 2 ? s.fill : pageSize);
            map.pageScope.push(s.used && i % 2 === 0 ? 0 : -1);
          }
          page += s.pages;
        }
        map.byteLength = (page + slack) * pageSize;
        const model = buildMapModel(map);
        expect(model.pageCount).toBe(page + slack);
        expect(model.cellCount).toBeLessThanOrEqual(MAX_CELLS);
        expect(model.pagesPerCell & (model.pagesPerCell - 1)).toBe(0);
        expect(model.cellCount).toBe(Math.ceil(model.pageCount / model.pagesPerCell));
        expect(model.legend.reduce((n, e) => n + e.pages, 0)).toBe(model.pageCount);
        const used = map.pageUse.reduce((n, u) => n + Math.max(0, u), firstPage * pageSize);
        expect(model.cellUsed.reduce((a, b) => a + b, 0)).toBe(used);
        expect(model.cellOwner.every((k) => k >= 0 && k < model.legend.length)).toBe(true);
        expect(model.cellScope.every((s) => s === -1 || s === 0)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test(`more than MAX_SPANS (${MAX_SPANS}) spans: hover details leave them out and say how many`, () => {
    const pageSize = 4096;
    const n = MAX_SPANS + 10;
    const map: MemoryMap = {
      pageSize,
      byteLength: (n + 1) * pageSize,
      maximumBytes: 1 << 30,
      regions: [],
      owners: { "1": "large" },
      spans: Array.from({ length: n }, (_, i) => ({ start: (i + 1) * pageSize, bytes: pageSize, used: i % 2 === 0, owner: i % 2 === 0 ? 1 : 0 })),
      firstPage: 1,
      pageUse: Array.from({ length: n }, (_, i) => (i % 2 === 0 ? pageSize : -1)),
      pageScope: new Array<number>(n).fill(-1),
      scopePaths: [],
    };
    const model = buildMapModel(map);
    expect(model.spans).toEqual([]);
    expect(model.spansOmitted).toBe(n);
    expect(model.pagesPerCell).toBe(2);
  });
});

describe("what the page says", () => {
  test("at tracing counts the flame graph says how to get call stacks instead of promising them", () => {
    const counts = renderHtml(countsGameReport());
    const flame = /<section id="flame">[^]*?<\/section>/.exec(counts)![0];
    expect(flame).not.toContain("then the call stack that allocated");
    expect(flame).toContain('tracing "counts"');
    expect(flame).toContain('tracing: "callstacks"');
    expect(flame).toContain("--tracing callstacks");
    // With stacks, the caption describes them and gives no such advice.
    const stacks = /<section id="flame">[^]*?<\/section>/.exec(renderHtml(gameReport()))![0];
    expect(stacks).toContain("then the call stack that allocated");
    expect(stacks).not.toContain("--tracing callstacks");
  });

  test("explains [stage] after scope names: the stage the peak figures cover", () => {
    const report = gameReport();
    const html = renderHtml(report);
    expect(html).toContain("textures [play]");
    const scopes = /<section id="scopes">[^]*?<\/section>/.exec(html)![0];
    expect(scopes).toMatch(/\[play\][^<]*: peak figures since stage "play" began/);
    expect(/<tr title="([^"]*)" data-path="root\/renderer\/textures"/.exec(html)![1]).toContain("peak since stage play began");
    // No stage, no legend.
    const none = structuredClone(report);
    const strip = (r: MemoryReport["scopes"]): void => {
      delete r.stage;
      r.children.forEach(strip);
    };
    strip(none.scopes);
    expect(renderHtml(none)).not.toContain("peak figures since stage");
  });

  test("the slot tier shows free slots per size class and empty slabs, not a fragmentation gauge", () => {
    const report = gameReport();
    const html = renderHtml(report);
    const allocators = /<section id="allocators">[^]*?<\/section>/.exec(html)![0];
    const row = /<tr><td>default\.slots<\/td>.*?<\/tr>/.exec(allocators)![0];
    expect(row).not.toContain('class="fill warn"');
    expect(row).not.toContain("97.9%");
    expect(row).toContain("1 of 8 slabs empty");
    expect(row).toContain("48 B slots: 2 slabs, 168 slots, 138 in use, 30 free (1.41 KiB)");
    expect(row).toContain("16 B slots: 1 slab, 252 slots, 240 in use, 12 free (192 B)");
    // The heap keeps its gauge: fragmentation is the right measure there.
    expect(/<tr><td>default\.heap<\/td>.*?<\/tr>/.exec(allocators)![0]).toContain('class="fill warn"');
  });

  test("says 1 frame, 1 block, 1 page (no '1 frames')", () => {
    const report = countsGameReport();
    // One wide frame and one too narrow to draw.
    report.folded = { liveBytes: "root;renderer 100000000\nroot;ai 1\n", liveCount: "root;renderer 1\n", peakBytes: "" };
    report.scopes.children[0]!.totalLiveCount = 1;
    report.scopes.children[0]!.liveCount = 1;
    report.scopes.children[0]!.allocCount = 1;
    report.scopes.children[0]!.freeCount = 1;
    const html = renderHtml(report);
    expect(html).toContain("1 frame too narrow to draw is left out.");
    expect(html).not.toMatch(/\b1 (frames|blocks|pages|allocs|frees|spans)\b/);
    expect(/<tr title="([^"]*)" data-path="root\/renderer"/.exec(html)![1]).toContain("in 1 block");
  });
});
