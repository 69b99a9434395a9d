import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { formatBytes, formatCount } from "@memkit/core";
import type { Page } from "playwright-core";
import { describe, expect, test } from "vitest";
import { buildMapModel, heaviestStages, renderHtml, type MapModel } from "../src/index.js";
import type { MemoryReport } from "../src/report-types.js";
import { findChromium, launchChromium } from "../src/chromium.js";
import { OUT, useChromium } from "./browser-suite.js";
import { MemoryGlobals } from "@memkit/memory-globals";
import { bigMapReport, countsGameReport, gameReport } from "./fixtures/reports.js";

/*
 * Opens the generated page in a real browser (Debian's chromium when it is
 * installed, else the Chromium inside the npm package @sparticuz/chromium;
 * see chromium.ts) through playwright-core: the figures are on the page, the
 * map canvas is painted with the right colours, hover and zoom work, nothing
 * is fetched, and a screenshot is kept in .vitest-out/screenshots for a person
 * to look at.
 */

const GUTTER = 92; // the page script's address column, in CSS pixels
const chromium = useChromium();

interface Opened {
  page: Page;
  requests: string[];
  errors: string[];
}

async function open(report: MemoryReport, name: string): Promise<Opened> {
  const file = join(OUT, "html", `${name}.html`);
  writeFileSync(file, renderHtml(report));
  const page = await chromium().newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(pathToFileURL(file).href);
  return { page, requests, errors };
}

function rgb(color: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (m === null) throw new Error(`test expects #rrggbb colours, got ${color}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** The pixel in the middle of map cell `cell`, as drawn. */
async function cellPixel(page: Page, model: MapModel, cell: number): Promise<number[]> {
  const x = GUTTER + (cell % model.columns) * model.cellPx + model.cellPx / 2;
  const y = Math.floor(cell / model.columns) * model.cellPx + model.cellPx / 2;
  return page.evaluate(
    ([px, py]) => {
      const canvas = document.getElementById("memory-map") as HTMLCanvasElement;
      return [...canvas.getContext("2d")!.getImageData(px!, py!, 1, 1).data].slice(0, 3);
    },
    [Math.floor(x), Math.floor(y)],
  );
}

async function hoverCell(page: Page, model: MapModel, cell: number): Promise<string> {
  const x = GUTTER + (cell % model.columns) * model.cellPx + model.cellPx / 2;
  const y = Math.floor(cell / model.columns) * model.cellPx + model.cellPx / 2;
  await page.locator("#memory-map").hover({ position: { x, y } });
  return page.locator("#map-info").innerText();
}

describe("the browser the tests use", () => {
  test("is the Chromium from @sparticuz/chromium when the system chromium is absent, and it renders", async () => {
    const choice = await findChromium("/nonexistent/chromium");
    expect(choice.source).toBe("npm");
    expect(existsSync(choice.executablePath)).toBe(true);
    const { browser: fallback, choice: launched } = await launchChromium("/nonexistent/chromium");
    try {
      expect(launched.executablePath).toBe(choice.executablePath);
      // Two pages one after the other, as the tests below open them (a page's context closes in between).
      for (let i = 0; i < 2; i++) {
        const page = await fallback.newPage();
        await page.setContent("<canvas id=c width=4 height=4></canvas><script>document.getElementById('c').getContext('2d').fillRect(0, 0, 4, 4)</script>");
        const pixel = await page.evaluate(() => [...(document.getElementById("c") as HTMLCanvasElement).getContext("2d")!.getImageData(1, 1, 1, 1).data]);
        expect(pixel).toEqual([0, 0, 0, 255]);
        await page.close();
      }
    } finally {
      await fallback.close();
    }
  });

  test("is the system chromium when it exists", async () => {
    // Any existing file stands in for it: the choice is made before anything is launched.
    const choice = await findChromium(process.execPath);
    expect(choice).toMatchObject({ source: "system", executablePath: process.execPath });
  });
});

describe("the HTML report in chromium", () => {
  test("shows the scopes, flame graph, stages and a painted memory map, and fetches nothing", async () => {
    const report = gameReport();
    const model = buildMapModel(report.memoryMap);
    const { page, requests, errors } = await open(report, "game");

    // Scope tree: every scope, with its figures.
    const text = await page.locator("body").innerText();
    for (const name of ["renderer", "textures", "meshes", "physics", "audio", "level", "streaming", "ai"]) expect(text).toContain(name);
    expect(text).toContain(formatBytes(report.scopes.totalLiveBytes));
    expect(text).toContain(report.label);
    const physicsRow = page.locator('table.scopes tr[data-path="root/physics"]');
    expect(await physicsRow.innerText()).toContain("146.8 KiB / 160.0 KiB (91.7%)");
    expect(await physicsRow.getAttribute("title")).toContain(`subtree live: 146.8 KiB (${formatCount(150_272)} B) in 201 blocks`);
    expect(await page.locator("table.scopes tbody tr").count()).toBe(9);

    // Flame graph: frames with exact hover titles; a click zooms into a frame.
    const frames = page.locator("#flame-bytes g.fr");
    expect(await frames.count()).toBeGreaterThan(20);
    const chunk = page.locator('#flame-bytes g.fr[data-n="loadChunk (level/streaming.ts:88)"]');
    expect(await chunk.locator("title").textContent()).toContain(`512.0 KiB (${formatCount(524_288)} B)`);
    await page.locator('#flame-bytes g.fr[data-n="level"] rect').click();
    const levelWidth = Number(await page.locator('#flame-bytes g.fr[data-n="level"] rect').getAttribute("width"));
    expect(levelWidth).toBeGreaterThan(1190);
    expect(await page.locator('#flame-bytes g.fr[data-n="textures"]').isHidden()).toBe(true);
    expect(await page.locator('#flame-bytes g.fr[data-n="streaming"] text').textContent()).toBe("streaming");
    await page.locator("#flame-bytes").screenshot({ path: join(OUT, "screenshots", "flame-zoomed.png") });
    await page.locator('button[data-target="flame-bytes"]').click();
    expect(await page.locator('#flame-bytes g.fr[data-n="textures"]').isVisible()).toBe(true);
    // The metric switch shows the block-count flame graph.
    await page.locator('input[name=flame-metric][value="count"]').check();
    expect(await page.locator("#flame-count").isVisible()).toBe(true);
    expect(await page.locator("#flame-bytes").isVisible()).toBe(false);

    // Stage chart: a cell per scope and stage, the heaviest stage of each scope marked.
    const cells = report.stages.reduce((n, s) => n + s.scopes.length, 0);
    expect(await page.locator("svg.stages g.cell").count()).toBe(cells);
    expect(await page.locator("svg.stages g.cell.top").count()).toBe(heaviestStages(report.stages).size);
    expect(await page.locator("svg.stages g.cell.top title").first().textContent()).toContain("heaviest stage");

    // Memory map: every cell painted, in its owner's colour.
    const map = page.locator("#memory-map");
    expect(await map.getAttribute("data-cells-drawn")).toBe(String(model.cellCount));
    const largeIndex = model.legend.findIndex((e) => e.label === "default.large");
    const largeCell = model.cellOwner.indexOf(largeIndex);
    expect(await cellPixel(page, model, largeCell)).toEqual(rgb(model.legend[largeIndex]!.color));
    const painted = await page.evaluate(() => {
      const canvas = document.getElementById("memory-map") as HTMLCanvasElement;
      const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] !== 255 || data[i + 1] !== 255 || data[i + 2] !== 255) n++;
      return n / (data.length / 4);
    });
    expect(painted).toBeGreaterThan(0.3);
    // Heap pages show their use: a page with 1,500 of 4,096 bytes in use is tinted at the top, solid at the bottom.
    const heapIndex = model.legend.findIndex((e) => e.label === "default.heap");
    const halfCell = model.cellUsed.findIndex((used, c) => model.cellOwner[c] === heapIndex && used === 1500);
    const top = await page.evaluate(
      ([px, py]) => [...(document.getElementById("memory-map") as HTMLCanvasElement).getContext("2d")!.getImageData(px!, py!, 1, 1).data].slice(0, 3),
      [GUTTER + (halfCell % model.columns) * model.cellPx + 2, Math.floor(halfCell / model.columns) * model.cellPx + 2],
    );
    expect(top).not.toEqual(rgb(model.legend[heapIndex]!.color));
    const info = await hoverCell(page, model, halfCell);
    expect(info).toContain("default.heap");
    expect(info).toContain(`in use: 1.46 KiB of 4.00 KiB (1,500 of 4,096 B, 36.6%)`);
    expect(await hoverCell(page, model, largeCell)).toContain("dominant scope: root/renderer/textures");
    const frameCell = model.cellOwner.indexOf(model.legend.findIndex((e) => e.label === "frame"));
    expect(await hoverCell(page, model, frameCell)).toContain("in use: whole pages handed out (the report has no finer figure)");
    // Legend names every owner that holds pages.
    const legend = await page.locator("#map-legend-owner").innerText();
    for (const owner of ["default.slots", "default.heap", "default.large", "frame", "scratch", "free pages"]) expect(legend).toContain(owner);

    await page.locator('input[name=flame-metric][value="bytes"]').check();
    await page.screenshot({ path: join(OUT, "screenshots", "report.png"), fullPage: true });

    // By-scope view repaints the large pages in their scope's colour.
    await page.locator('input[name=map-mode][value="scope"]').check();
    expect(await map.getAttribute("data-mode")).toBe("scope");
    const texturesScope = model.scopeLegend.findIndex((e) => e.label === "root/renderer/textures");
    expect(await cellPixel(page, model, largeCell)).toEqual(rgb(model.scopeLegend[texturesScope]!.color));
    await map.screenshot({ path: join(OUT, "screenshots", "map-by-scope.png") });

    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith("file:") && !url.startsWith("data:"))).toEqual([]);
    await page.close();
  });

  test("explains what it shows: stacks at tracing counts, [stage] labels, slabs per class", async () => {
    const counts = await open(countsGameReport(), "counts");
    const flame = await counts.page.locator("#flame").innerText();
    expect(flame).toContain('taken at tracing "counts"');
    expect(flame).toContain('MemoryGlobals.init({ tracing: "callstacks" })');
    expect(flame).toContain("--tracing callstacks");
    expect(flame).not.toContain("then the call stack that allocated");
    await counts.page.close();

    const { page, errors } = await open(gameReport(), "explained");
    const scopes = page.locator("#scopes");
    expect(await scopes.locator("p.stage-legend").innerText()).toContain('[play] after a name: peak figures since stage "play" began');
    expect(await page.locator('table.scopes tr[data-path="root/renderer/textures"]').getAttribute("title")).toContain("peak since stage play began");
    const slots = page.locator("#allocators tr", { hasText: "default.slots" });
    expect(await slots.innerText()).toContain("1 of 8 slabs empty (4.00 KiB)");
    expect(await slots.locator(".fill.warn").count()).toBe(0);
    const classes = slots.locator("svg.slab-classes g");
    expect(await classes.count()).toBe(5);
    expect(await classes.nth(1).locator("title").textContent()).toBe("48 B slots: 2 slabs, 168 slots, 138 in use, 30 free (1.41 KiB)");
    await page.locator("#allocators").screenshot({ path: join(OUT, "screenshots", "allocators.png") });
    expect(errors).toEqual([]);
    await page.close();
  });

  test("a real snapshot: every page of a block is its scope's colour, the legend agrees with the scope table", async () => {
    const memory = MemoryGlobals.init({ initialBytes: 8 << 20, maximumBytes: 16 << 20 });
    const textures = memory.scope("textures");
    const physics = memory.scope("physics");
    const big = textures.allocate(1 << 20);
    const small = Array.from({ length: 200 }, () => physics.allocate(96));
    try {
      const report = memory.snapshot("real snapshot");
      const model = buildMapModel(report.memoryMap);
      const { page, errors } = await open(report, "real-snapshot");
      await page.locator('input[name=map-mode][value="scope"]').check();
      const texturesScope = model.scopeLegend.findIndex((e) => e.label === "root/textures");
      // The block's last page (before: only its first page had a scope).
      const lastCell = Math.floor((big + (1 << 20) - 1) / model.pageSize / model.pagesPerCell);
      expect(await cellPixel(page, model, lastCell)).toEqual(rgb(model.scopeLegend[texturesScope]!.color));
      // The legend's bytes for the scope are its live bytes, to the page.
      const legend = (await page.locator("#map-legend-scope").innerText()).replace(/\s+/g, " ");
      const pages = Math.ceil((1 << 20) / model.pageSize);
      expect([pages, pages + 1].map((n) => formatBytes(n * model.pageSize)).some((b) => legend.includes(`root/textures ${b}`)), legend).toBe(true);
      // A slab of the slot tier is a one-page span: "(1 page)".
      const slotsOwner = model.legend.findIndex((e) => e.label.endsWith(".slots"));
      const slabCell = model.cellOwner.indexOf(slotsOwner);
      expect(await hoverCell(page, model, slabCell)).toMatch(/\(1 page\)/);
      await page.locator("#map").screenshot({ path: join(OUT, "screenshots", "real-map-by-scope.png") });
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      textures.deallocate(big);
      for (const p of small) physics.deallocate(p);
      textures.dispose();
      physics.dispose();
      memory.shutdown();
    }
  });

  test("draws a 32,768-page map as 16,384 cells of two pages and keeps the page small", async () => {
    const report = bigMapReport();
    const model = buildMapModel(report.memoryMap);
    expect(model.pagesPerCell).toBe(2);
    const html = renderHtml(report);
    expect(html.length).toBeLessThan(1_000_000);
    const { page, requests, errors } = await open(report, "big-map");
    expect(await page.locator("#memory-map").getAttribute("data-cells-drawn")).toBe(String(model.cellCount));
    expect(model.cellCount).toBe(16_384);
    const info = await hoverCell(page, model, 100);
    expect(info).toContain("2 pages from page 200");
    await page.locator("#map").screenshot({ path: join(OUT, "screenshots", "big-map.png") });
    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith("file:") && !url.startsWith("data:"))).toEqual([]);
    await page.close();
  });
});
