import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { formatBytes } from "@memkit/core";
import { launchChromium } from "@memkit/memreport/chromium";
import { parseReport, renderHtml } from "@memkit/memreport";
import type { ScopeReport } from "@memkit/trace-allocator";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildPage } from "../scripts/build.mjs";
import { startServer, type RunningServer } from "../scripts/serve.mjs";
import { SCOPE_COLORS, TEAM_COLORS } from "../src/palette.js";
import type { MemkitPageApi } from "../src/main.js";
import { WebGame } from "../src/web-game.js";

/*
 * Builds the page, serves it (with and without the cross-origin isolation
 * headers) and drives it in Chromium (memreport's launchChromium: Debian's
 * chromium, else the one inside @sparticuz/chromium; nothing is downloaded):
 * the game plays, the overlay's figures are the game's own report, the
 * download is a report memreport reads, debug and tracing switches restart it
 * cleanly, and a page that is not isolated says so. Screenshots go to
 * .vitest-out/screenshots/ for a person to look at.
 */

const OUT = join(import.meta.dirname, "..", ".vitest-out");
const SCREENSHOTS = join(OUT, "screenshots");
const SUBSYSTEMS = ["level", "physics", "ai", "gameplay", "render", "audio"];
/** A smaller army than the default 2,000 keeps the test quick on a loaded machine; the page is the same. */
const QUERY = "?entities=600";

declare global {
  interface Window {
    __memkit: MemkitPageApi;
  }
}

let browser: Browser | undefined;
let launchError: unknown;
let isolated: RunningServer;
let plain: RunningServer;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const { dir } = await buildPage({ outDir: join(OUT, "dist") });
  isolated = await startServer({ root: dir });
  plain = await startServer({ root: dir, isolated: false });
  try {
    browser = (await launchChromium()).browser;
  } catch (err) {
    launchError = err;
  }
});

afterAll(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
});

interface Opened {
  page: Page;
  /** Console errors and uncaught exceptions. */
  errors: string[];
}

async function open(server: RunningServer, query = QUERY): Promise<Opened> {
  if (browser === undefined) throw new Error("chromium did not start", { cause: launchError });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1080 }, deviceScaleFactor: 1, acceptDownloads: true });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(server.url + query);
  return { page, errors };
}

/** The game WebGame plays in this process (no page, no workers) after `frames` play frames, with the test's settings. */
async function nodeSummary(frames: number) {
  const web = new WebGame({ tracing: "counts", debug: false, entities: 300, seed: 7, shared: false, workers: 0, leak: false });
  while (web.playFrames < frames) web.step();
  const summary = web.game.summary();
  expect(await web.stop()).toBeUndefined();
  return summary;
}

async function waitForPlayFrames(page: Page, frames: number): Promise<void> {
  await page.waitForFunction((n) => window.__memkit.error() !== undefined || window.__memkit.playFrames() >= n, frames, { timeout: 90_000, polling: 100 });
  expect(await page.evaluate(() => window.__memkit.error())).toBeUndefined();
}

/** Two animation frames: the overlay has been redrawn since. */
async function nextFrames(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

interface OverlayRow {
  scope: string;
  liveBytes: number;
  peakBytes: number;
  budgetBytes: number | undefined;
  text: { live: string; peak: string; budget: string };
}

/** The overlay's scope rows and the game's own report, read in one task (the game steps only in animation frames). */
async function overlayAndReport(page: Page) {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll<HTMLTableRowElement>("#scopes tbody tr")].map((row) => ({
      scope: row.dataset.scope!,
      liveBytes: Number(row.dataset.liveBytes),
      peakBytes: Number(row.dataset.peakBytes),
      budgetBytes: row.dataset.budgetBytes === "" ? undefined : Number(row.dataset.budgetBytes),
      text: {
        live: row.querySelector(".live:not(div)")!.textContent,
        peak: row.querySelector("td.peak")!.textContent,
        budget: row.querySelector("td.budget")!.textContent,
      },
    }));
    const temp = document.getElementById("temp")!.dataset;
    return {
      rows,
      status: { frame: Number(document.getElementById("status")!.dataset.frame), text: document.getElementById("status")!.textContent },
      frame: { live: Number(temp.frameLiveBytes), reserved: Number(temp.frameReservedBytes), text: document.getElementById("frame-text")!.textContent },
      report: window.__memkit.report(),
    };
  });
}

/** Pixels of `canvas` within a few steps of each colour. */
async function colourCounts(page: Page, canvasId: string, colors: string[]): Promise<number[]> {
  return page.evaluate(
    ([id, hexes]) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement;
      const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      const targets = (hexes).map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
      const counts = targets.map(() => 0);
      for (let p = 0; p < data.length; p += 4) {
        targets.forEach((t, i) => {
          if (Math.abs(data[p]! - t[0]!) <= 6 && Math.abs(data[p + 1]! - t[1]!) <= 6 && Math.abs(data[p + 2]! - t[2]!) <= 6) counts[i]!++;
        });
      }
      return counts;
    },
    [canvasId, colors] as const,
  );
}

function findScope(report: ScopeReport, name: string): ScopeReport {
  const found = report.children.find((c) => c.name === name);
  if (found === undefined) throw new Error(`the report has no scope ${name}`);
  return found;
}

function checkOverlayAgainstReport(rows: OverlayRow[], root: ScopeReport): void {
  expect(rows.map((r) => r.scope)).toEqual([...SUBSYSTEMS, "root"]);
  for (const row of rows) {
    const scope = row.scope === "root" ? root : findScope(root, row.scope);
    expect({ scope: row.scope, live: row.liveBytes, peak: row.peakBytes, budget: row.budgetBytes }).toEqual({
      scope: row.scope,
      live: scope.totalLiveBytes,
      peak: scope.totalPeakLiveBytes,
      budget: scope.budgetBytes,
    });
    expect(row.text.live).toBe(formatBytes(scope.totalLiveBytes));
    expect(row.text.peak).toBe(formatBytes(scope.totalPeakLiveBytes));
    if (scope.budgetBytes !== undefined) expect(row.text.budget.startsWith(formatBytes(scope.budgetBytes))).toBe(true);
  }
}

describe("the sample game in a page", () => {
  test("plays in a cross-origin isolated page on shared memory, and the overlay shows the game's own figures", async () => {
    const { page, errors } = await open(isolated);
    await waitForPlayFrames(page, 90);
    expect(await page.evaluate(() => [window.crossOriginIsolated, window.__memkit.sharedMemory()])).toEqual([true, true]);
    expect(await page.textContent("#isolation")).toContain("Cross-origin isolated");

    const first = await overlayAndReport(page);
    checkOverlayAgainstReport(first.rows, first.report.scopes);
    expect(first.status.frame).toBe(first.report.frame);
    const frameAllocator = first.report.allocators.find((a) => a.name === "frame")!;
    expect([first.frame.live, first.frame.reserved]).toEqual([frameAllocator.liveBytes, frameAllocator.reservedBytes]);
    expect(first.frame.text.startsWith(`${formatBytes(frameAllocator.liveBytes)} of ${formatBytes(frameAllocator.reservedBytes)}`)).toBe(true);
    // A real game: every subsystem holds memory, the frame ring is in use, and play goes on.
    for (const row of first.rows) expect(row.liveBytes, row.scope).toBeGreaterThan(0);
    expect(first.frame.live).toBeGreaterThan(0);

    // Paused, the figures hold still and still match; resumed, frames go on.
    await page.evaluate(() => window.__memkit.pause());
    await nextFrames(page);
    const paused = await overlayAndReport(page);
    checkOverlayAgainstReport(paused.rows, paused.report.scopes);
    await nextFrames(page);
    const still = await overlayAndReport(page);
    expect(still.rows).toEqual(paused.rows);
    expect(still.status.text).toContain("paused");

    // The arena shows both armies; the memory map is painted in the scopes' colours.
    const teams = await colourCounts(page, "arena", [...TEAM_COLORS]);
    expect(teams.every((n) => n > 0), `team pixels ${teams.join(", ")}`).toBe(true);
    const scopePixels = await colourCounts(page, "memory-map", [SCOPE_COLORS.level!, SCOPE_COLORS.physics!]);
    expect(scopePixels.every((n) => n > 0), `map pixels ${scopePixels.join(", ")}`).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, "web-game.png") });

    await page.evaluate(() => window.__memkit.resume());
    const before = await page.evaluate(() => window.__memkit.playFrames());
    await waitForPlayFrames(page, before + 10);
    expect(errors).toEqual([]);
    await page.close();
  });

  test("plays the same game as Node: ?pauseAt=45 stops at the checksum WebGame reaches in this process", async () => {
    const expected = await nodeSummary(45);
    const { page, errors } = await open(isolated, "?entities=300&seed=7&pauseAt=45");
    await waitForPlayFrames(page, 45);
    await nextFrames(page);
    const played = await page.evaluate(() => [window.__memkit.playFrames(), window.__memkit.summary()] as const);
    expect(played[0]).toBe(45);
    expect(played[1]).toEqual(expected);
    expect(await page.textContent("#pause")).toBe("Resume");
    expect(errors).toEqual([]);
    await page.close();
  });

  test("with two job workers (Web Workers on the shared memory) it plays the same game, and they detach at the restart", async () => {
    const expected = await nodeSummary(45);
    const { page, errors } = await open(isolated, "?entities=300&seed=7&pauseAt=45&workers=2");
    await page.waitForFunction(() => window.__memkit.jobWorkers() === 2 || window.__memkit.error() !== undefined, null, { timeout: 60_000 });
    await waitForPlayFrames(page, 45);
    expect(await page.evaluate(() => [window.__memkit.playFrames(), window.__memkit.summary()] as const)).toEqual([45, expected]);
    // Play waited for the workers: every play frame ran through them.
    expect(await page.evaluate(() => window.__memkit.jobFrames())).toBe(45);
    // The threads line (from the map's snapshot) lists the workers attached to the memory.
    await page.waitForFunction(() => document.getElementById("threads")!.dataset.threads?.includes("jobs-2:live"), null, { timeout: 30_000 });
    expect((await page.getAttribute("#threads", "data-threads"))!.split(" ").sort()).toEqual(["jobs-1:live", "jobs-2:live", "main:live"]);
    expect(await page.textContent("#threads")).toContain("2 job workers share physics and AI");
    const report = await page.evaluate(() => window.__memkit.report());
    expect(report.label).toContain("--workers 2 (shared memory)");
    await page.screenshot({ path: join(SCREENSHOTS, "web-game-workers.png") });
    // Back to one thread: the workers detach before the memory shuts down (shutdown refuses while one is attached).
    await page.evaluate(() => window.__memkit.restart({ workers: 0 }));
    expect(await page.evaluate(() => [window.__memkit.jobWorkers(), window.__memkit.error()])).toEqual([0, undefined]);
    await page.evaluate(() => window.__memkit.resume());
    expect(await page.isDisabled("#workers")).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  test("job workers whose script is missing: the page names the failure, and the next game starts clean", async () => {
    const { dir } = await buildPage({ outDir: join(OUT, "dist-no-worker") });
    rmSync(join(dir, "job-worker.js"));
    const broken = await startServer({ root: dir });
    try {
      const { page, errors } = await open(broken, "?entities=300&workers=2");
      await page.waitForFunction(() => window.__memkit.error() !== undefined, null, { timeout: 60_000 });
      expect(await page.evaluate(() => window.__memkit.error())).toMatch(/^the job workers did not start: JobError: job worker jobs-\d failed to start/);
      expect(await page.isVisible("#error")).toBe(true);
      expect(errors.some((e) => e.includes("the job workers did not start"))).toBe(true);
      // Without workers the same page plays on, and the failed game's teardown was clean.
      await page.evaluate(() => window.__memkit.restart({ workers: 0 }));
      expect(await page.evaluate(() => window.__memkit.error())).toBeUndefined();
      await waitForPlayFrames(page, 10);
      await page.close();
    } finally {
      await broken.close();
    }
  });

  test("a game that leaks on purpose: the restart's teardown shows the LeakError with the scope and the function", async () => {
    const { page, errors } = await open(isolated, "?entities=300&leak=1&tracing=callstacks");
    await waitForPlayFrames(page, 10);
    expect(await page.isChecked("#leak")).toBe(true);
    await page.uncheck("#leak");
    await page.waitForFunction(() => window.__memkit.teardown() !== undefined);
    const teardown = (await page.evaluate(() => window.__memkit.teardown()))!;
    expect(teardown).toContain("LeakError [ERR_LEAK]");
    expect(teardown).toContain("root/audio");
    expect(teardown).toContain("Audio.loadVoiceBank");
    expect(await page.getAttribute("#teardown", "data-clean")).toBe("false");
    // The leak is reported (and logged), and the new game plays on.
    expect(errors.some((e) => e.includes("ERR_LEAK") || e.includes("LeakError"))).toBe(true);
    expect(await page.evaluate(() => [window.__memkit.settings().leak, window.__memkit.error()])).toEqual([false, undefined]);
    await waitForPlayFrames(page, 10);
    await page.screenshot({ path: join(SCREENSHOTS, "web-game-leak.png") });
    await page.close();
  });

  test("the download button saves the JSON report that memreport reads and renders", async () => {
    const { page, errors } = await open(isolated);
    await waitForPlayFrames(page, 30);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    expect(download.suggestedFilename()).toMatch(/^memkit-web-report-frame-\d+\.json$/);
    const text = readFileSync((await download.path()), "utf8");
    const report = parseReport(text, download.suggestedFilename());
    expect(report.label).toContain("web-game --entities 600 --seed 1 --tracing counts");
    expect(report.scopes.children.map((c) => c.name).sort()).toEqual([...SUBSYSTEMS].sort());
    expect(report.stages.map((s) => s.name)).toEqual(["load"]);
    expect(report.memoryMap.spans.length).toBeGreaterThan(0);
    expect(report.threads?.length).toBeGreaterThan(0); // a shared memory reports its threads
    expect(renderHtml(report)).toContain("root/physics");
    expect(errors).toEqual([]);
    await page.close();
  });

  test("the debug and tracing switches restart the game in a new memory, and the old one shuts down clean", async () => {
    const { page, errors } = await open(isolated);
    await waitForPlayFrames(page, 20);
    await page.check("#debug");
    await page.waitForFunction(() => window.__memkit.settings().debug);
    await waitForPlayFrames(page, 20);
    let state = await overlayAndReport(page);
    expect(state.report.options.debug).toBe(true);
    checkOverlayAgainstReport(state.rows, state.report.scopes);
    expect(await page.isChecked("#debug")).toBe(true);
    // The debug allocators run on a private memory only; the page says so.
    expect(await page.evaluate(() => [window.crossOriginIsolated, window.__memkit.sharedMemory()])).toEqual([true, false]);
    expect(await page.textContent("#isolation")).toContain("the memory is private");
    expect(await page.isDisabled("#workers")).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, "web-game-debug.png") });

    await page.selectOption("#tracing", "callstacks");
    await page.waitForFunction(() => window.__memkit.settings().tracing === "callstacks");
    await waitForPlayFrames(page, 20);
    state = await overlayAndReport(page);
    expect(state.report.options).toMatchObject({ tracing: "callstacks", debug: true });
    checkOverlayAgainstReport(state.rows, state.report.scopes);
    // Call stacks from the bundled page name the game's own functions.
    expect(state.report.folded.liveBytes).toMatch(/Level\.|Physics|Gameplay|MemkitGame/);

    await page.uncheck("#debug");
    await page.selectOption("#tracing", "off");
    await page.waitForFunction(() => !window.__memkit.settings().debug && window.__memkit.settings().tracing === "off");
    await waitForPlayFrames(page, 20);
    state = await overlayAndReport(page);
    expect(state.report.options).toMatchObject({ tracing: "off", debug: false });
    expect(await page.evaluate(() => window.__memkit.sharedMemory())).toBe(true);
    checkOverlayAgainstReport(state.rows, state.report.scopes);
    // Each restart ran the old game's teardown (the leak check); the page says how it went.
    expect(await page.evaluate(() => window.__memkit.teardown())).toBe("clean");
    expect(await page.textContent("#teardown")).toContain("shut down clean");
    expect(await page.isHidden("#error")).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  test("served without the isolation headers, the overlay says so and the game runs on private memory", async () => {
    const { page, errors } = await open(plain);
    await waitForPlayFrames(page, 30);
    expect(await page.evaluate(() => [window.crossOriginIsolated, window.__memkit.sharedMemory(), window.__memkit.settings().shared])).toEqual([false, false, false]);
    expect(await page.getAttribute("#isolation", "data-isolated")).toBe("false");
    expect(await page.textContent("#isolation")).toContain("Not cross-origin isolated");
    const state = await overlayAndReport(page);
    checkOverlayAgainstReport(state.rows, state.report.scopes);
    await page.screenshot({ path: join(SCREENSHOTS, "web-game-not-isolated.png") });
    expect(errors).toEqual([]);
    await page.close();
  });
});
