import { InvalidArgumentError, describe, type LeakReport, type LeakedBlock } from "@memkit/core";
import { ROW_MASK, R_SITE, R_SIZE, R_WORD } from "./block-records.js";
import { shortFrame } from "./call-stacks.js";
import { subtreeOf } from "./leaks.js";
import { C_ALLOC_BYTES, C_ALLOC_COUNT, C_EPOCH, C_REALLOC_COUNT, ROW_SHIFT, type Registry } from "./registry.js";
import type { Site } from "./sites.js";
import { internals, type TraceAllocator } from "./trace-allocator.js";
import type { FoldedSelection, FoldedStacksOptions } from "./types.js";

/*
 * Folded stacks: one line per distinct stack, `frame;frame;frame value`, the
 * format of Brendan Gregg's stackcollapse scripts that flamegraph.pl, inferno
 * and speedscope read. Our stacks start with the scope path (root;physics;...)
 * and continue with the call frames, outermost first, shortened to
 * `fn (dir/file.ts:line)`. A labelled block (a container's) has its label as
 * one frame between the two: `root;physics;[HashMap<u32, u32> "grid"];main (...)`.
 * Blocks with no captured stack end at their scope (or label).
 */

/** One parsed line of folded stacks. */
export interface FoldedLine {
  frames: string[];
  value: number;
}

/** Frames of a scope path: `root/level` -> `root;level`. */
function scopeFrames(path: string): string {
  return path.split("/").join(";");
}

/** The frame of a block label: `[HashMap<u32, u32> "grid"]`, made safe for the format. */
function labelFrame(label: string): string {
  return `[${label.replace(/;/g, ",").replace(/\s+/g, " ")}]`;
}

/** The scope path's frames, then the label's frame when there is one. */
function headFrames(path: string, label: string | undefined): string {
  return label === undefined ? scopeFrames(path) : `${scopeFrames(path)};${labelFrame(label)}`;
}

/** Call frames of an interned stack, outermost first, made safe for the format (no `;`, no line breaks). */
function callFrames(reg: Registry, stack: number, cache: Map<number, string>): string {
  let folded = cache.get(stack);
  if (folded === undefined) {
    const text = reg.stacks.get(stack);
    folded = text === undefined ? "" : text.split("\n").reverse().map(foldedFrame).join(";");
    cache.set(stack, folded);
  }
  return folded;
}

function foldedFrame(frame: string): string {
  return shortFrame(frame).replace(/;/g, ",").replace(/\s+/g, " ");
}

function resolveSelection(scope: TraceAllocator, options: FoldedStacksOptions): { which: FoldedSelection; metric: "bytes" | "count" } {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError(`${scope.path}: foldedStacks options must be an object, received ${describe(options)}.`);
  }
  const metric = options.metric ?? "bytes";
  if (metric !== "bytes" && metric !== "count") {
    throw new InvalidArgumentError(`${scope.path}: foldedStacks metric must be "bytes" or "count", received ${describe(metric)}.`);
  }
  const which = options.which ?? (options.live === false ? "allocated" : "live");
  if (which !== "live" && which !== "peak" && which !== "allocated") {
    throw new InvalidArgumentError(`${scope.path}: foldedStacks which must be "live", "peak" or "allocated", received ${describe(which)}.`);
  }
  if (options.live !== undefined && options.which !== undefined && (options.live ? "live" : "allocated") !== options.which) {
    throw new InvalidArgumentError(`${scope.path}: foldedStacks got live: ${String(options.live)} and which: ${JSON.stringify(options.which)}; pass one of them.`);
  }
  return { which, metric };
}

/** Folds `scope`'s subtree: live blocks, the blocks live at its peak, or every allocation. */
export function foldStacks(scope: TraceAllocator, options: FoldedStacksOptions): string {
  const { which, metric } = resolveSelection(scope, options);
  const s = internals(scope);
  const reg = s.reg;
  const sums = new Map<string, number>();
  const add = (key: string, value: number): void => {
    if (value !== 0) sums.set(key, (sums.get(key) ?? 0) + value);
  };
  const cache = new Map<number, string>();
  const siteKey = (site: Site): string => {
    const head = headFrames(site.path, reg.labels.text(site.label));
    const calls = site.stack === 0 ? "" : callFrames(reg, site.stack, cache);
    return calls === "" ? head : `${head};${calls}`;
  };
  if (s.row < 0) return "";

  if (which === "live") {
    // Every live block of the subtree, from the records: exact at any tracing level.
    const { data, count } = reg.records;
    for (let i = 0; i < count; i++) {
      const r = i << 2;
      const row = data[r + R_WORD]! & ROW_MASK;
      if (!reg.isWithin(row, s.row)) continue;
      const id = data[r + R_SITE]!;
      const site = id === 0 ? undefined : reg.sites[id];
      const key = site !== undefined ? siteKey(site) : scopeFrames(reg.scopes[row]!.path);
      add(key, metric === "bytes" ? data[r + R_SIZE]! : 1);
    }
  } else if (which === "peak") {
    if (s.level !== "callstacks") {
      throw new InvalidArgumentError(
        `${scope.path}: foldedStacks({ which: "peak" }) needs tracing "callstacks" (this scope is ${JSON.stringify(s.level)}): ` +
          `only then is each allocation's site recorded.\n  Create the tree with tracing: "callstacks" or call setTracing("callstacks") before the stage you measure.`,
      );
    }
    const epoch = reg.counters[(s.row << ROW_SHIFT) + C_EPOCH]!;
    for (const site of reg.sites) {
      if (site === undefined) continue;
      const k = site.indexOf(s.row, s.gen);
      if (k >= 0) add(siteKey(site), site.atPeak(k, epoch, metric));
    }
  } else {
    // Every allocate/reallocate: sites of live scopes, plus what each scope counted without a site.
    for (const member of subtreeOf(scope)) {
      const m = internals(member);
      if (m.row < 0) continue;
      const o = m.row << ROW_SHIFT;
      const c = reg.counters;
      let rest = metric === "bytes" ? c[o + C_ALLOC_BYTES]! : c[o + C_ALLOC_COUNT]! + c[o + C_REALLOC_COUNT]!;
      for (const id of m.sites.all()) {
        const site = reg.sites[id];
        if (site === undefined) continue;
        const value = metric === "bytes" ? site.eventBytes : site.eventCount;
        add(siteKey(site), value);
        rest -= value;
      }
      add(scopeFrames(member.path), rest);
    }
  }
  return formatFolded(sums);
}

/** Sorted `frames value` lines, newline-terminated ("" when empty). */
function formatFolded(sums: Map<string, number>): string {
  const keys = [...sums.keys()].sort();
  return keys.map((k) => `${k} ${sums.get(k)!}\n`).join("");
}

/**
 * Parses folded-stack text (`a;b;c 123` per line). Throws InvalidArgumentError
 * naming the first malformed line.
 */
export function parseFoldedStacks(text: string): FoldedLine[] {
  const out: FoldedLine[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "") return;
    const m = /^(.+) (-?\d+(?:\.\d+)?)$/.exec(line);
    if (m === null || m[1]!.split(";").some((f) => f === "")) {
      throw new InvalidArgumentError(`parseFoldedStacks: line ${i + 1} is not "frame;frame value": ${JSON.stringify(line)}.`);
    }
    out.push({ frames: m[1]!.split(";"), value: Number(m[2]) });
  });
  return out;
}

/**
 * The differential form flamegraph.pl reads (`frames before after` per line,
 * as difffolded.pl writes): `flamegraph.pl diff.folded > diff.svg` colours
 * what grew red and what shrank blue.
 */
export function diffFoldedStacks(before: string, after: string): string {
  const a = new Map(parseFoldedStacks(before).map((l) => [l.frames.join(";"), l.value]));
  const b = new Map(parseFoldedStacks(after).map((l) => [l.frames.join(";"), l.value]));
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.map((k) => `${k} ${a.get(k) ?? 0} ${b.get(k) ?? 0}\n`).join("");
}

/** Folds a LeakReport's blocks ("what was left at the end") by scope path, label (a TracedBlock's) and call stack. */
export function foldLeakReport(report: LeakReport, metric: "bytes" | "count" = "bytes"): string {
  const sums = new Map<string, number>();
  for (const block of report.blocks as readonly (LeakedBlock & { label?: unknown })[]) {
    const calls = block.stack === undefined || block.stack === "" ? "" : block.stack.split("\n").reverse().map(foldedFrame).join(";");
    const head = headFrames(block.scope, typeof block.label === "string" && block.label !== "" ? block.label : undefined);
    const key = calls === "" ? head : `${head};${calls}`;
    const value = metric === "bytes" ? block.size : 1;
    if (value !== 0) sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return formatFolded(sums);
}
