import { InvalidArgumentError, describe, type LeakReport, type LeakedBlock } from "@memkit/core";
import { STACK_NOT_HERE, shortFrame } from "./call-stacks.js";
import { labelText } from "./labels.js";
import { CALLSTACKS, CHAIN_GEN, CHAIN_ROW, D_ALLOC_BYTES, D_ALLOC_COUNT, D_EPOCH, D_REALLOC_COUNT, ROW_MASK, R_SIZE, R_WORD, TW_USED, T_CHAINS, T_SITES, tableWord } from "./layout.js";
import { LEVELS } from "./options.js";
import { recordAt, recordCount } from "./records.js";
import { siteOfRecord } from "./retained.js";
import { chainEntries, isSite, siteAtPeak, siteInfo, sitesOf, type SiteInfo } from "./sites.js";
import { readString } from "./strings.js";
import { entryWord } from "./tables.js";
import { isScope, isWithin, levelOf, pathOf, rowF64, subtreeRows, type TreeView } from "./tree-view.js";
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
function callFrames(view: TreeView, stack: number, cache: Map<number, string>): string {
  let folded = cache.get(stack);
  if (folded === undefined) {
    const text = view.stackText(stack) ?? STACK_NOT_HERE;
    folded = text.split("\n").reverse().map(foldedFrame).join(";");
    cache.set(stack, folded);
  }
  return folded;
}

function foldedFrame(frame: string): string {
  return shortFrame(frame).replace(/;/g, ",").replace(/\s+/g, " ");
}

function resolveSelection(scope: { path: string }, options: FoldedStacksOptions): { which: FoldedSelection; metric: "bytes" | "count" } {
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

/** The scope a fold starts at: its row and generation, and its path (for messages). */
export interface FoldScope {
  row: number;
  gen: number;
  path: string;
}

/** Folds a scope's subtree: live blocks, the blocks live at its peak, or every allocation. */
export function foldStacks(view: TreeView, scope: FoldScope, options: FoldedStacksOptions): string {
  const { which, metric } = resolveSelection(scope, options);
  const sums = new Map<string, number>();
  const add = (key: string, value: number): void => {
    if (value !== 0) sums.set(key, (sums.get(key) ?? 0) + value);
  };
  const cache = new Map<number, string>();
  const siteKey = (site: SiteInfo): string => {
    const head = headFrames(readString(view, site.path), labelText(view, site.label));
    const calls = site.stack === 0 ? "" : callFrames(view, site.stack, cache);
    return calls === "" ? head : `${head};${calls}`;
  };
  if (!isScope(view, scope.row, scope.gen)) return "";
  const top = scope.row;

  if (which === "live") {
    // Every live block of the subtree, from the records: exact at any tracing level.
    const count = recordCount(view);
    for (let i = 0; i < count; i++) {
      const r = recordAt(view, i);
      const row = view.i32[r + R_WORD]! & ROW_MASK;
      if (!isWithin(view, row, top)) continue;
      const id = siteOfRecord(view, i);
      const key = isSite(view, id) ? siteKey(siteInfo(view, id)) : scopeFrames(pathOf(view, row));
      add(key, metric === "bytes" ? view.i32[r + R_SIZE]! : 1);
    }
  } else if (which === "peak") {
    const level = levelOf(view, top);
    if (level !== CALLSTACKS) {
      throw new InvalidArgumentError(
        `${scope.path}: foldedStacks({ which: "peak" }) needs tracing "callstacks" (this scope is ${JSON.stringify(LEVELS[level])}): ` +
          `only then is each allocation's site recorded.\n  Create the tree with tracing: "callstacks" or call setTracing("callstacks") before the stage you measure.`,
      );
    }
    const epoch = view.f64[rowF64(view, top) + D_EPOCH]!;
    const used = view.u32[view.cw + tableWord(T_SITES, TW_USED)]!;
    for (let id = 1; id < used; id++) {
      if (!isSite(view, id)) continue;
      for (const c of chainEntries(view, id)) {
        const cw = entryWord(view, T_CHAINS, c);
        if (view.u32[cw + CHAIN_ROW] === top && view.u32[cw + CHAIN_GEN] === scope.gen) add(siteKey(siteInfo(view, id)), siteAtPeak(view, id, c, epoch, metric));
      }
    }
  } else {
    // Every allocate/reallocate: sites of live scopes, plus what each scope counted without a site.
    for (const member of subtreeRows(view, top)) {
      const o = rowF64(view, member);
      const f64 = view.f64;
      let rest = metric === "bytes" ? f64[o + D_ALLOC_BYTES]! : f64[o + D_ALLOC_COUNT]! + f64[o + D_REALLOC_COUNT]!;
      for (const id of sitesOf(view, member)) {
        const site = siteInfo(view, id);
        const value = metric === "bytes" ? site.eventBytes : site.eventCount;
        add(siteKey(site), value);
        rest -= value;
      }
      add(scopeFrames(pathOf(view, member)), rest);
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
