/*
 * The page: the sample game drawn on a canvas, one game frame per animation
 * frame, with the memory overlay beside it. Settings come from the controls
 * (tracing level, debug, job workers) and the URL (?entities=N&seed=N&
 * tracing=…&debug=1&workers=N&leak=1; pauseAt=N pauses after N play frames);
 * changing one stops the game (unload, teardown, memory.shutdown()) and starts
 * a new one in a new memory. window.__memkit is for tests and the console.
 */
import type { MemoryReport, TracingLevel } from "@memkit/memory-globals";
import type { ScopeReport } from "@memkit/trace-allocator";
import type { SimSummary } from "@memkit/game-loop/browser";
import { ArenaView } from "./draw-arena.js";
import { Overlay } from "./overlay.js";
import { PauseWatch } from "./pause-watch.js";
import { webWorkerSpawner } from "./web-jobs.js";
import { WebGame, type WebGameSettings } from "./web-game.js";

const TRACING_LEVELS: readonly TracingLevel[] = ["off", "counts", "callstacks"];

/** What tests (and a curious person in the console) can ask the page. */
export interface MemkitPageApi {
  /** True when the page is cross-origin isolated (SharedArrayBuffer allowed). */
  isolated: boolean;
  settings(): WebGameSettings;
  /** Play frames of the current game. */
  playFrames(): number;
  /** Overlay redraws since the page loaded. */
  redraws(): number;
  /** The JSON report the download button saves (memory.snapshot()). */
  report(): MemoryReport;
  /** The scope tree now (memory.report()). */
  scopes(): ScopeReport;
  /** The game's counters and checksum. */
  summary(): SimSummary;
  /** True when the memory's buffer is a SharedArrayBuffer. */
  sharedMemory(): boolean;
  pause(): void;
  resume(): void;
  /** Stops the game and starts a new one with these settings changed (resolves once the new one runs). */
  restart(changes: Partial<WebGameSettings>): Promise<void>;
  /** Job workers attached now (0 until they have all started). */
  jobWorkers(): number;
  /** Play frames of the current game that ran through the job workers. */
  jobFrames(): number;
  /** The error that stopped the game, if one did (also shown in the overlay). */
  error(): string | undefined;
  /** What the last restart's teardown found: "clean", or the leak or failure it reported. */
  teardown(): string | undefined;
}

declare global {
  interface Window {
    __memkit: MemkitPageApi;
  }
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`web-game: index.html has no #${id}`);
  return found as T;
}

function settingsFromUrl(): WebGameSettings {
  const params = new URLSearchParams(location.search);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const value = Number(params.get(name) ?? fallback);
    return Number.isInteger(value) && value >= min && value <= max ? value : fallback;
  };
  const tracing = params.get("tracing");
  return {
    tracing: TRACING_LEVELS.includes(tracing as TracingLevel) ? (tracing as TracingLevel) : "counts",
    debug: params.get("debug") === "1",
    entities: int("entities", 2000, 1, 20_000),
    seed: int("seed", 1, 0, 0xffffffff),
    shared: false,
    workers: int("workers", 0, 0, 8),
    leak: params.get("leak") === "1",
  };
}

/**
 * Shared memory needs SharedArrayBuffer, which only a cross-origin isolated
 * page has; and the debug allocators run on a private memory only
 * (MemoryGlobals.init refuses debug with shared). Job workers need the
 * shared memory: without it the game runs on the main thread alone.
 */
function withMemoryKind(settings: WebGameSettings): WebGameSettings {
  const shared = window.crossOriginIsolated && !settings.debug;
  return { ...settings, shared, workers: shared ? settings.workers : 0 };
}

/** Starts the game's job workers, if it asks for any: module Web Workers running dist/job-worker.js. */
function startWorkers(game: WebGame): void {
  if (game.settings.workers === 0) return;
  game.startJobs(webWorkerSpawner(new URL("./job-worker.js", import.meta.url))).catch((err: unknown) => {
    if (game === web) fail("the job workers did not start", err);
  });
}

const arenaCanvas = element<HTMLCanvasElement>("arena");
const errorLine = element("error");
const teardownLine = element("teardown");
const leakBox = element<HTMLInputElement>("leak");
const tracingSelect = element<HTMLSelectElement>("tracing");
const debugBox = element<HTMLInputElement>("debug");
const workersSelect = element<HTMLSelectElement>("workers");
const isolation = element("isolation");
const pauseButton = element<HTMLButtonElement>("pause");

/** ?pauseAt=N: every game pauses itself after N play frames (a test compares its checksum with the headless run's). */
const pauseAt = Number(new URLSearchParams(location.search).get("pauseAt") ?? 0);
const pauses = new PauseWatch();
const overlay = new Overlay();
const fromUrl = settingsFromUrl();
/** The job workers asked for, kept while debug (or a page without isolation) runs the game without them. */
let requestedWorkers = fromUrl.workers;
let web = new WebGame(withMemoryKind(fromUrl));
startWorkers(web);
let arena = new ArenaView(arenaCanvas, web.game);
let paused = false;
let failure: string | undefined;
let restarting: Promise<void> | undefined;
let gameMs = 0;
let drawMs = 0;
let overlayMs = 0;
let fps = 0;
let fpsFrames = 0;
let fpsStart = performance.now();

function setPaused(value: boolean): void {
  paused = value;
  pauseButton.textContent = paused ? "Resume" : "Pause";
  // The time spent paused is not a pause of the game.
  pauses.skipGap();
}

function showTeardown(message: string, clean: boolean): void {
  teardownLine.textContent = message;
  teardownLine.className = clean ? "ok" : "warn";
  teardownLine.dataset.clean = String(clean);
  teardownLine.hidden = false;
}

function showError(message: string): void {
  failure = message;
  errorLine.textContent = message;
  errorLine.hidden = false;
}

function fail(what: string, err: unknown): void {
  const message = `${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  showError(message);
  console.error(message, err);
}

function syncControls(): void {
  tracingSelect.value = web.settings.tracing;
  debugBox.checked = web.settings.debug;
  leakBox.checked = web.settings.leak;
  workersSelect.value = String(requestedWorkers);
  workersSelect.disabled = !web.settings.shared;
  workersSelect.title = web.settings.shared ? "job workers sharing physics and AI" : "job workers need a shared memory: a cross-origin isolated page, debug off";
  const s = web.settings;
  isolation.dataset.isolated = String(window.crossOriginIsolated);
  isolation.className = window.crossOriginIsolated ? "ok" : "warn";
  isolation.textContent = window.crossOriginIsolated
    ? s.shared
      ? `Cross-origin isolated: the memory is shared (a SharedArrayBuffer that workers can attach to). ${s.entities} units, seed ${s.seed}.`
      : `Cross-origin isolated, but the memory is private: the debug allocators run on a private memory only. ${s.entities} units, seed ${s.seed}.`
    : `Not cross-origin isolated (served without the COOP/COEP headers): no SharedArrayBuffer, so the memory is private and workers cannot share it. The game runs on the main thread. ${s.entities} units, seed ${s.seed}.`;
}

function restart(changes: Partial<WebGameSettings>): Promise<void> {
  // One restart at a time: the controls are ignored until the new game runs.
  restarting ??= replaceGame(changes).finally(() => (restarting = undefined));
  return restarting;
}

async function replaceGame(changes: Partial<WebGameSettings>): Promise<void> {
  if (changes.workers !== undefined) requestedWorkers = changes.workers;
  const settings = withMemoryKind({ ...web.settings, workers: requestedWorkers, ...changes });
  // The old game's teardown is the leak check: its outcome stays on the page while the new game runs.
  try {
    const leak = await web.stop();
    if (leak === undefined) showTeardown("The last game shut down clean: every scope returned its memory.", true);
    else {
      showTeardown(`The last game left memory behind at teardown:\n${String(leak)}`, false);
      console.error(leak);
    }
  } catch (err) {
    showTeardown(`Stopping the last game failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, false);
    console.error(err);
  }
  try {
    web = new WebGame(settings);
    arena = new ArenaView(arenaCanvas, web.game);
    failure = undefined;
    errorLine.hidden = true;
    startWorkers(web);
  } catch (err) {
    fail("starting the game failed", err);
  }
  pauses.reset();
  overlay.reset();
  syncControls();
}

function downloadReport(): void {
  const report = web.report();
  const blob = new Blob([JSON.stringify(report, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `memkit-web-report-frame-${report.frame}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function frame(now: number): void {
  requestAnimationFrame(frame);
  pauses.frame(now);
  if (!paused && failure === undefined && !web.stopped) {
    const t0 = performance.now();
    try {
      web.step();
    } catch (err) {
      fail(`frame ${web.memory.frameNumber} failed`, err);
    }
    gameMs = performance.now() - t0;
    if (pauseAt > 0 && web.playFrames >= pauseAt) setPaused(true);
  }
  fpsFrames++;
  if (now - fpsStart >= 1000) {
    fps = (fpsFrames * 1000) / (now - fpsStart);
    fpsFrames = 0;
    fpsStart = now;
  }
  if (web.stopped) return;
  const t1 = performance.now();
  arena.draw();
  const t2 = performance.now();
  overlay.update(web, { fps, gameMs, drawMs, overlayMs, paused, pauses: pauses.counts });
  drawMs = t2 - t1;
  overlayMs = performance.now() - t2;
}

tracingSelect.addEventListener("change", () => void restart({ tracing: tracingSelect.value as TracingLevel }));
debugBox.addEventListener("change", () => void restart({ debug: debugBox.checked }));
leakBox.addEventListener("change", () => void restart({ leak: leakBox.checked }));
workersSelect.addEventListener("change", () => void restart({ workers: Number(workersSelect.value) }));
element("download").addEventListener("click", downloadReport);
pauseButton.addEventListener("click", () => setPaused(!paused));

window.__memkit = {
  isolated: window.crossOriginIsolated,
  settings: () => ({ ...web.settings }),
  playFrames: () => web.playFrames,
  redraws: () => overlay.redraws,
  report: () => web.report(),
  scopes: () => web.memory.report(),
  summary: () => web.game.summary(),
  sharedMemory: () => typeof SharedArrayBuffer === "function" && web.memory.space.memory.buffer instanceof SharedArrayBuffer,
  pause: () => setPaused(true),
  resume: () => setPaused(false),
  restart,
  jobWorkers: () => web.jobs?.workers ?? 0,
  jobFrames: () => web.jobFrames,
  error: () => failure,
  teardown: () => (teardownLine.hidden ? undefined : teardownLine.dataset.clean === "true" ? "clean" : teardownLine.textContent),
};

syncControls();
requestAnimationFrame(frame);
