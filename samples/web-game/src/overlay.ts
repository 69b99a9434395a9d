import { formatBytes, formatCount } from "@memkit/core";
import type { MemoryMap, ThreadReport } from "@memkit/memory-globals";
import type { ScopeReport } from "@memkit/trace-allocator";
import { SUBSYSTEMS } from "@memkit/game-loop/browser";
import { drawMemoryMap } from "./memory-map.js";
import { FRAME_COLOR, FREE_COLOR, OTHER_COLOR, SCOPE_COLORS, SCRATCH_COLOR } from "./palette.js";
import type { PauseCounts } from "./pause-watch.js";
import type { WebGame } from "./web-game.js";

/** Height the memory map may take, in CSS pixels. */
const MAP_MAX_HEIGHT = 160;

/** One scope's row: its figures (also in data-* attributes, exact, for tests and tools) and its bar. */
interface ScopeRow {
  row: HTMLTableRowElement;
  live: HTMLElement;
  peak: HTMLElement;
  budget: HTMLElement;
  liveBar: HTMLElement;
  peakMark: HTMLElement;
}

/** What the overlay is told each frame besides the game itself. */
export interface OverlayFrame {
  /** Frames per second over the last second (animation frames). */
  fps: number;
  /** Time the last game frame took (step only, not drawing), ms. */
  gameMs: number;
  /** Time the previous frame's arena drawing and overlay update took, ms. */
  drawMs: number;
  overlayMs: number;
  paused: boolean;
  pauses: PauseCounts;
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`overlay: index.html has no #${id}`);
  return found as T;
}

function cell(row: HTMLTableRowElement, className: string): HTMLTableCellElement {
  const td = row.insertCell();
  td.className = className;
  return td;
}

/**
 * The live memory overlay beside the arena, redrawn every animation frame
 * from the game's memory: the scope tree's figures (memory.report()), the
 * frame ring and scratch stack (their stats()), the pauses the page can see,
 * and, every MAP_EVERY frames, the memory map from memory.snapshot().
 */
export class Overlay {
  /** Frames between two memory-map redraws: a snapshot walks every page and block (a cold path). */
  static readonly MAP_EVERY = 30;
  readonly #rows = new Map<string, ScopeRow>();
  readonly #status = element("status");
  readonly #temp = element("temp");
  readonly #pauses = element("pauses");
  readonly #map = element<HTMLCanvasElement>("memory-map");
  readonly #mapNote = element("map-note");
  readonly #threads = element("threads");
  readonly #frameFill = element("frame-fill");
  readonly #frameText = element("frame-text");
  readonly #scratchText = element("scratch-text");
  readonly #pauseLongTasks = element("pause-longtasks");
  readonly #pauseGaps = element("pause-gaps");
  readonly #pauseHeap = element("pause-heap");
  #mapAge = Overlay.MAP_EVERY;
  /** Animation frames drawn (a test waits on it). */
  redraws = 0;

  constructor() {
    const body = element<HTMLTableElement>("scopes").tBodies[0]!;
    for (const name of [...SUBSYSTEMS, "all scopes"]) {
      const row = body.insertRow();
      row.dataset.scope = name === "all scopes" ? "root" : name;
      const label = cell(row, "name");
      const swatch = document.createElement("i");
      swatch.className = "swatch";
      swatch.style.background = SCOPE_COLORS[name] ?? OTHER_COLOR;
      label.append(swatch, name);
      const bar = document.createElement("div");
      bar.className = "bar";
      const liveBar = document.createElement("div");
      liveBar.className = "live";
      liveBar.style.background = SCOPE_COLORS[name] ?? OTHER_COLOR;
      const peakMark = document.createElement("div");
      peakMark.className = "peak";
      bar.append(liveBar, peakMark);
      cell(row, "bar-cell").append(bar);
      this.#rows.set(row.dataset.scope, { row, live: cell(row, "live"), peak: cell(row, "peak"), budget: cell(row, "budget"), liveBar, peakMark });
    }
    const legend = element("map-legend");
    const entries: [string, string][] = [...SUBSYSTEMS.map((s): [string, string] => [s, SCOPE_COLORS[s]!]), ["frame", FRAME_COLOR], ["scratch", SCRATCH_COLOR], ["other", OTHER_COLOR], ["free", FREE_COLOR]];
    for (const [name, color] of entries) {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.className = "swatch";
      swatch.style.background = color;
      item.append(swatch, name);
      legend.append(item);
    }
  }

  /** A new game: the map is drawn at its next frame. */
  reset(): void {
    this.#mapAge = Overlay.MAP_EVERY;
  }

  update(web: WebGame, frame: OverlayFrame): void {
    this.redraws++;
    const memory = web.memory;
    if (!memory.alive) return;
    const stage = web.waitingForJobs ? "play: waiting for the job workers" : web.loaded ? "play" : "load";
    this.#status.dataset.frame = String(memory.frameNumber);
    this.#status.dataset.playFrames = String(web.playFrames);
    this.#status.textContent =
      `frame ${formatCount(memory.frameNumber)} (${stage}${frame.paused ? ", paused" : ""}) · ${frame.fps.toFixed(0)} fps · ` +
      `game ${frame.gameMs.toFixed(2)} ms, arena ${frame.drawMs.toFixed(2)} ms, overlay ${frame.overlayMs.toFixed(2)} ms per frame · ` +
      `address space ${formatBytes(memory.space.byteLength)}`;

    const root = memory.report();
    this.#scopeRow("root", root);
    for (const child of root.children) {
      if (this.#rows.has(child.name)) this.#scopeRow(child.name, child);
    }

    const f = memory.frame.stats();
    const s = memory.scratch.stats();
    const fill = f.reservedBytes > 0 ? f.liveBytes / f.reservedBytes : 0;
    this.#temp.dataset.frameLiveBytes = String(f.liveBytes);
    this.#temp.dataset.frameReservedBytes = String(f.reservedBytes);
    this.#temp.dataset.framePeakBytes = String(f.peakLiveBytes);
    this.#frameFill.style.width = `${(fill * 100).toFixed(1)}%`;
    this.#frameText.textContent =
      `${formatBytes(f.liveBytes)} of ${formatBytes(f.reservedBytes)} (${(fill * 100).toFixed(0)}%), peak ${formatBytes(f.peakLiveBytes)} · ` +
      `${formatCount(f.allocCount)} allocations so far`;
    this.#scratchText.textContent = `scratch stack: ${formatBytes(s.liveBytes)} live now, peak ${formatBytes(s.peakLiveBytes)} of ${formatBytes(s.reservedBytes)}`;

    this.#drawPauses(frame.pauses);
    if (++this.#mapAge >= Overlay.MAP_EVERY) {
      this.#mapAge = 0;
      const snapshot = memory.snapshot("overlay");
      this.#drawMap(snapshot.memoryMap);
      this.#drawThreads(snapshot.threads, web.jobs?.workers ?? 0);
    }
  }

  #scopeRow(key: string, scope: ScopeReport): void {
    const r = this.#rows.get(key);
    if (r === undefined) return;
    const live = scope.totalLiveBytes;
    const peak = scope.totalPeakLiveBytes;
    const budget = scope.budgetBytes;
    r.row.dataset.liveBytes = String(live);
    r.row.dataset.peakBytes = String(peak);
    r.row.dataset.budgetBytes = budget === undefined ? "" : String(budget);
    r.live.textContent = formatBytes(live);
    r.peak.textContent = formatBytes(peak);
    r.budget.textContent = budget === undefined ? "—" : `${formatBytes(budget)} (${((live / budget) * 100).toFixed(0)}%)`;
    // Bars are scaled to the budget; the root, which has none, to its peak.
    const scale = budget ?? Math.max(peak, 1);
    r.liveBar.style.width = `${Math.min(100, (live / scale) * 100).toFixed(1)}%`;
    r.peakMark.style.left = `${Math.min(100, (peak / scale) * 100).toFixed(1)}%`;
    r.row.classList.toggle("over", budget !== undefined && peak > budget);
  }

  #drawPauses(p: PauseCounts): void {
    const el = this.#pauses;
    el.dataset.longTasks = String(p.longTasks);
    el.dataset.frameGaps = String(p.frameGaps);
    el.dataset.heapDrops = String(p.heapDrops);
    this.#pauseLongTasks.textContent = p.longTasksObserved ? `${p.longTasks} (${p.longTaskMs.toFixed(0)} ms)` : "not observable in this browser";
    this.#pauseGaps.textContent = `${p.frameGaps} (longest ${p.worstGapMs.toFixed(1)} ms between frames)`;
    this.#pauseHeap.textContent =
      p.heapUsedBytes === undefined ? "not observable in this browser" : `${p.heapDrops} (${formatBytes(p.heapDroppedBytes)} freed; JS heap ${formatBytes(p.heapUsedBytes)} now)`;
  }

  /** A shared memory's threads: what each allocated that is still live (whoever frees it), from the same snapshot as the map. */
  #drawThreads(threads: ThreadReport[] | undefined, workers: number): void {
    const el = this.#threads;
    el.hidden = threads === undefined;
    if (threads === undefined) return;
    el.dataset.threads = threads.map((t) => `${t.name}:${t.state}`).join(" ");
    const list = threads.map((t) => `${t.name} ${formatBytes(t.liveBytes)} (peak ${formatBytes(t.peakLiveBytes)})`).join(" · ");
    el.textContent = `Threads (${workers === 0 ? "no job workers: the main thread plays alone" : `${workers} job workers share physics and AI`}): ${list}`;
  }

  #drawMap(map: MemoryMap): void {
    const layout = drawMemoryMap(this.#map, map, MAP_MAX_HEIGHT);
    this.#mapNote.textContent = `${formatCount(layout.pages)} pages of ${formatBytes(map.pageSize)} (${formatBytes(map.byteLength)} of at most ${formatBytes(map.maximumBytes)}); redrawn every ${Overlay.MAP_EVERY} frames from memory.snapshot()`;
  }
}
