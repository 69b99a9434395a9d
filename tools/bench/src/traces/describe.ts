// Prints what each committed trace is: `npm run traces:describe` (the README's table comes from it).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatBytes, formatCount } from "@memkit/core";
import { TRACE_IDS, loadTrace } from "./catalog.js";
import { TraceKind } from "./format.js";
import type { Trace } from "./format.js";

/** Facts about a trace: event counts by kind, the live peak, and the request sizes. */
export interface TraceSummary {
  events: number;
  byKind: Record<keyof typeof TraceKind, number>;
  /** Most blocks live at once, and the highest sum of requested bytes live at once. */
  peakLiveBlocks: number;
  peakLiveBytes: number;
  /** Blocks still live after the last event (the bench frees them after timing). */
  liveAtEnd: number;
  /** Share of requests (allocations and reallocations) per size bucket, upper bound inclusive. */
  sizeShares: { upTo: number; share: number }[];
  medianSize: number;
  maxSize: number;
}

const BUCKETS = [16, 32, 64, 128, 256, 512, 1024, 4096, 65536, Infinity];

export function summarizeTrace({ events }: Trace): TraceSummary {
  const byKind = { ALLOC: 0, CALLOC: 0, REALLOC: 0, FREE: 0, ALIGNED: 0 };
  const names = Object.keys(TraceKind) as (keyof typeof TraceKind)[];
  const size = new Float64Array(events.idCount);
  const requests: number[] = [];
  let live = 0;
  let liveBytes = 0;
  let peakLiveBlocks = 0;
  let peakLiveBytes = 0;
  for (let i = 0; i < events.count; i++) {
    const kind = events.kinds[i]!;
    const id = events.ids[i]!;
    const n = events.sizes[i]!;
    byKind[names[kind]!]++;
    if (kind === TraceKind.FREE) {
      live--;
      liveBytes -= size[id]!;
      size[id] = 0;
      continue;
    }
    if (kind !== TraceKind.REALLOC) live++;
    liveBytes += n - size[id]!;
    size[id] = n;
    requests.push(n);
    peakLiveBlocks = Math.max(peakLiveBlocks, live);
    peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
  }
  requests.sort((a, b) => a - b);
  let from = 0;
  const sizeShares = BUCKETS.map((upTo) => {
    let to = from;
    while (to < requests.length && requests[to]! <= upTo) to++;
    const share = (to - from) / Math.max(1, requests.length);
    from = to;
    return { upTo, share };
  });
  return {
    events: events.count,
    byKind,
    peakLiveBlocks,
    peakLiveBytes,
    liveAtEnd: live,
    sizeShares,
    medianSize: requests[requests.length >> 1] ?? 0,
    maxSize: requests[requests.length - 1] ?? 0,
  };
}

function main(): void {
  for (const id of TRACE_IDS) {
    const trace = loadTrace(id);
    const s = summarizeTrace(trace);
    const h = trace.header;
    const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
    console.log(`${id} ${h.name}: ${h.program}`);
    console.log(
      `  ${formatCount(s.events)} events${h.capped ? ` (first of ${formatCount(h.recordedEvents ?? 0)} recorded)` : ""}: ` +
        names(s.byKind) +
        `; dropped ${JSON.stringify(h.dropped ?? {})}`,
    );
    console.log(`  peak live: ${formatCount(s.peakLiveBlocks)} blocks, ${formatBytes(s.peakLiveBytes)}; live at the end: ${formatCount(s.liveAtEnd)} blocks`);
    console.log(`  sizes: median ${s.medianSize} B, max ${formatBytes(s.maxSize)}; ` + s.sizeShares.map((b) => `<=${b.upTo === Infinity ? "more" : b.upTo} ${pct(b.share)}`).join(", "));
  }
}

function names(byKind: Record<string, number>): string {
  return Object.entries(byKind)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.toLowerCase()} ${formatCount(n)}`)
    .join(", ");
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
