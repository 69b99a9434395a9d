import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import { formatBytes, formatCount } from "@memkit/core";
import { renderHtml, timelineBands } from "../src/index.js";
import { PLOT_LEFT, PLOT_WIDTH } from "../src/html/timeline-chart.js";
import { OUT, useChromium } from "./browser-suite.js";
import { timelineReport } from "./fixtures/timeline-report.js";

/*
 * The timeline chart in a real browser (src/chromium.ts picks it; nothing is
 * downloaded): the bands are painted where the data says, hovering a frame
 * moves the cursor there and lists that frame's figures, and a screenshot
 * is kept in .vitest-out/screenshots.
 */

const chromium = useChromium();

describe("the timeline in chromium", () => {
  test("hovering a frame shows its figures, and the stacked bands are painted", async () => {
    const report = timelineReport();
    const t = report.timeline!;
    const file = join(OUT, "html", "timeline.html");
    writeFileSync(file, renderHtml(report));
    const page = await chromium().newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => requests.push(r.url()));
    try {
      await page.goto(pathToFileURL(file).href);
      const bands = timelineBands(t);
      const n = t.frames.length;
      for (const i of [40, 150, 299]) {
        const x = PLOT_LEFT + (i * PLOT_WIDTH) / (n - 1);
        await page.locator("#timeline").hover({ position: { x, y: 120 } });
        const text = await page.locator("#timeline-info").innerText();
        expect(await page.locator("#timeline-info").getAttribute("data-frame")).toBe(String(t.frames[i]));
        expect(text).toContain(`frame ${formatCount(t.frames[i]!)}: ${formatBytes(bands.reduce((s, b) => s + b.liveBytes[i]!, 0))} live`);
        for (const b of bands) {
          if (b.liveBytes[i] === 0) continue;
          expect(text).toContain(`${b.path}: ${formatBytes(b.liveBytes[i]!)} in ${formatCount(b.liveCount[i]!)} blocks, +${b.allocs[i]} / -${b.frees[i]} this frame`);
        }
        expect(text).toContain(`budget ${((100 * bands.find((b) => b.path === "root/physics")!.totalBytes[i]!) / (64 << 10)).toFixed(1)}% of 64.0 KiB`);
        expect(text).toContain("root/ai");
        expect(Number(await page.locator("#timeline-cursor").getAttribute("x1"))).toBeCloseTo(x, 0);
      }
      const shot = await page.locator("#timeline").screenshot({ path: join(OUT, "screenshots", "timeline.png") });
      expect(shot.byteLength).toBeGreaterThan(1000);
      // Paint the chart's bands alone on a canvas and read pixels: the bottom band at the last frame is the
      // largest scope's colour, and high above the stack's top nothing is painted.
      const top = Math.max(...t.frames.map((_, i) => bands.reduce((sum, b) => sum + b.liveBytes[i]!, 0)));
      const lastStack = bands.reduce((sum, b) => sum + b.liveBytes[n - 1]!, 0);
      const px = [PLOT_LEFT + PLOT_WIDTH - 3, 26 + 240 - 2, PLOT_LEFT + PLOT_WIDTH - 3, 26 + 240 - (lastStack / top) * 240 - 12];
      const pixels = await page.evaluate(async (at) => {
        const svg = document.getElementById("timeline")!.cloneNode(true) as SVGSVGElement;
        svg.querySelectorAll(".hit, .cursor, .stage, .stage-mark, .grid, text").forEach((e) => e.remove());
        svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
        const img = new Image();
        img.src = "data:image/svg+xml;base64," + btoa(new XMLSerializer().serializeToString(svg));
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext("2d")!;
        ctx.drawImage(img, 0, 0);
        return [[...ctx.getImageData(at[0]!, at[1]!, 1, 1).data], [...ctx.getImageData(at[2]!, at[3]!, 1, 1).data]];
      }, px.map(Math.round));
      const hex = bands[0]!.color;
      expect(pixels[0]!.slice(0, 3)).toEqual([1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));
      expect(pixels[1]![3]).toBe(0);
      const painted = await page.evaluate(() => [...document.querySelectorAll("#timeline polygon.band")].map((p) => (p as SVGPolygonElement).getBBox().height));
      expect(painted.every((h) => h > 0)).toBe(true);
      expect(await page.locator(".swatch.suspect").innerText()).toContain("root/ai");
      expect(errors).toEqual([]);
      expect(requests.every((u) => u.startsWith("file:"))).toBe(true);
    } finally {
      await page.close();
    }
  }, 60_000);
});
