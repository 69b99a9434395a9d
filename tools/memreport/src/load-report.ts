import { readFileSync } from "node:fs";
import { InvalidArgumentError, describe } from "@memkit/core";
import { parseFoldedStacks } from "@memkit/trace-allocator";
import { MEMORY_REPORT_SCHEMA, type MemoryReport } from "./report-types.js";

/*
 * Reading a report: parse the JSON, then check every field the renderers use,
 * so a hand-edited or truncated file fails here with one line naming the
 * field, instead of as a TypeError deep inside the HTML template.
 */

/** Reads and validates a memory report file. Throws InvalidArgumentError (one line, naming the file) when it cannot. */
export function loadReport(path: string): MemoryReport {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
    throw new InvalidArgumentError(`${path}: cannot read the report: ${why}.`, { cause: err });
  }
  return parseReport(text, path);
}

/** Parses and validates the text of a memory report; `source` names it in error messages. */
export function parseReport(text: string, source = "report"): MemoryReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${source}: not a memkit memory report: the file is not valid JSON (${(err as Error).message}).`, { cause: err });
  }
  return validateReport(value, source);
}

/** Checks that `value` is a {@link MemoryReport} (schema and every field's type); returns it typed. */
export function validateReport(value: unknown, source = "report"): MemoryReport {
  const c = new Checker(source);
  if (!isObject(value)) throw c.fail(`not a memkit memory report: expected a JSON object with "schema": "${MEMORY_REPORT_SCHEMA}", found ${kind(value)}`);
  const schema = value.schema;
  if (schema === undefined) throw c.fail(`not a memkit memory report: no "schema" field (expected "${MEMORY_REPORT_SCHEMA}")`);
  if (schema !== MEMORY_REPORT_SCHEMA) {
    const hint =
      typeof schema === "string" && schema.startsWith("memkit.memory-report/")
        ? `; this memreport reads "${MEMORY_REPORT_SCHEMA}" (use the memreport of the memkit that wrote it)`
        : ` (expected "${MEMORY_REPORT_SCHEMA}")`;
    throw c.fail(`not a memkit memory report: "schema" is ${describe(schema)}${hint}`);
  }
  c.str(value.label, "label");
  c.str(value.createdAt, "createdAt");
  c.count(value.frame, "frame");
  const options = c.obj(value.options, "options");
  c.str(options.tracing, "options.tracing");
  c.bool(options.debug, "options.debug");
  for (const f of ["pageSize", "initialBytes", "maximumBytes"] as const) c.count(options[f], `options.${f}`);
  checkScope(c, value.scopes, "scopes");
  checkStages(c, value.stages);
  const folded = c.obj(value.folded, "folded");
  for (const f of ["liveBytes", "liveCount", "peakBytes"] as const) c.folded(folded[f], `folded.${f}`);
  checkAllocators(c, value.allocators);
  checkMemoryMap(c, value.memoryMap);
  if (value.threads !== undefined) checkThreads(c, value.threads);
  if (value.timeline !== undefined) checkTimeline(c, value.timeline);
  return value as unknown as MemoryReport;
}

const SCOPE_NUMBERS = [
  "liveBytes",
  "liveCount",
  "peakLiveBytes",
  "peakFrame",
  "allocCount",
  "freeCount",
  "reallocCount",
  "allocatedBytes",
  "reservedBytes",
  "retainedBytes",
  "retainedCount",
  "totalLiveBytes",
  "totalLiveCount",
  "totalPeakLiveBytes",
  "totalPeakFrame",
] as const;

function checkScope(c: Checker, value: unknown, where: string): void {
  const s = c.obj(value, where);
  c.str(s.name, `${where}.name`);
  const path = c.str(s.path, `${where}.path`);
  const at = `${where} (${path})`;
  if (s.tracing !== "off" && s.tracing !== "counts" && s.tracing !== "callstacks") {
    throw c.fail(`${at}.tracing must be "off", "counts" or "callstacks", found ${describe(s.tracing)}`);
  }
  for (const f of SCOPE_NUMBERS) c.count(s[f], `${at}.${f}`);
  // Temporary allocations: counted since issue #17 (reports written before have none).
  for (const f of ["tempFreeCount", "tempFreeBytes"] as const) if (s[f] !== undefined) c.count(s[f], `${at}.${f}`);
  if (s.budgetBytes !== undefined) c.count(s.budgetBytes, `${at}.budgetBytes`);
  if (s.budgetAction !== undefined && s.budgetAction !== "throw" && s.budgetAction !== "warn") {
    throw c.fail(`${at}.budgetAction must be "throw" or "warn", found ${describe(s.budgetAction)}`);
  }
  if (s.stage !== undefined) c.str(s.stage, `${at}.stage`);
  if (s.frame !== undefined) c.count(s.frame, `${at}.frame`);
  if (s.labels !== undefined) {
    c.arr(s.labels, `${at}.labels`).forEach((lv, i) => {
      const l = c.obj(lv, `${at}.labels[${i}]`);
      c.str(l.label, `${at}.labels[${i}].label`);
      for (const f of ["liveBytes", "liveCount", "peakLiveBytes", "peakFrame"] as const) c.count(l[f], `${at}.labels[${i}].${f}`);
    });
  }
  c.arr(s.children, `${at}.children`).forEach((child, i) => checkScope(c, child, `${where}.children[${i}]`));
}

function checkThreads(c: Checker, value: unknown): void {
  c.arr(value, "threads").forEach((v, i) => {
    const t = c.obj(v, `threads[${i}]`);
    c.str(t.name, `threads[${i}].name`);
    c.str(t.state, `threads[${i}].state`);
    // liveBytes may be negative in a memory from before per-block attribution: a number, not a count.
    for (const f of ["peakLiveBytes", "allocCount", "freeCount"] as const) c.count(t[f], `threads[${i}].${f}`);
    c.arr(t.scopes, `threads[${i}].scopes`).forEach((sv, j) => {
      const share = c.obj(sv, `threads[${i}].scopes[${j}]`);
      c.str(share.path, `threads[${i}].scopes[${j}].path`);
      c.count(share.liveBytes, `threads[${i}].scopes[${j}].liveBytes`);
      c.count(share.liveCount, `threads[${i}].scopes[${j}].liveCount`);
    });
  });
}

/** The optional per-frame timeline: every series as long as `frames`, frames going forward. */
function checkTimeline(c: Checker, value: unknown): void {
  const t = c.obj(value, "timeline");
  c.count(t.capacity, "timeline.capacity");
  c.count(t.scopesLeftOut, "timeline.scopesLeftOut");
  c.count(t.leakWindow, "timeline.leakWindow");
  const frames = c.arr(t.frames, "timeline.frames");
  frames.forEach((f, i) => {
    c.count(f, `timeline.frames[${i}]`);
    if (i > 0 && (f as number) <= (frames[i - 1] as number)) throw c.fail(`timeline.frames[${i}] (${f as number}) does not come after the frame before it (${frames[i - 1] as number})`);
  });
  const times = c.arr(t.timeMs, "timeline.timeMs");
  if (times.length !== frames.length) throw c.fail(`timeline.timeMs has ${times.length} entries but timeline.frames has ${frames.length}; one time per frame`);
  times.forEach((ms, i) => c.num(ms, `timeline.timeMs[${i}]`));
  const series = (v: unknown, where: string): void => {
    const a = c.arr(v, where);
    if (a.length !== frames.length) throw c.fail(`${where} has ${a.length} entries but timeline.frames has ${frames.length}; a series has one per frame`);
    a.forEach((n, i) => c.count(n, `${where}[${i}]`));
  };
  c.arr(t.scopes, "timeline.scopes").forEach((v, i) => {
    const s = c.obj(v, `timeline.scopes[${i}]`);
    const where = `timeline.scopes[${i}] (${c.str(s.path, `timeline.scopes[${i}].path`)})`;
    for (const f of ["liveBytes", "liveCount", "totalBytes", "allocs", "frees", "budgetBytes"] as const) series(s[f], `${where}.${f}`);
  });
  const a = c.obj(t.allocators, "timeline.allocators");
  for (const f of ["pagesBytes", "genericReservedBytes", "frameLiveBytes", "frameReservedBytes", "scratchPeakBytes", "scratchReservedBytes"] as const) series(a[f], `timeline.allocators.${f}`);
  c.arr(t.churn, "timeline.churn").forEach((v, i) => {
    const ch = c.obj(v, `timeline.churn[${i}]`);
    c.str(ch.path, `timeline.churn[${i}].path`);
    c.count(ch.blocks, `timeline.churn[${i}].blocks`);
    c.count(ch.frames, `timeline.churn[${i}].frames`);
    c.num(ch.perFrame, `timeline.churn[${i}].perFrame`);
  });
  c.arr(t.leakSuspects, "timeline.leakSuspects").forEach((v, i) => {
    const l = c.obj(v, `timeline.leakSuspects[${i}]`);
    c.str(l.path, `timeline.leakSuspects[${i}].path`);
    for (const f of ["fromFrame", "toFrame", "fromBytes", "toBytes", "fromCount", "toCount"] as const) c.count(l[f], `timeline.leakSuspects[${i}].${f}`);
    c.num(l.bytesPerFrame, `timeline.leakSuspects[${i}].bytesPerFrame`);
  });
}

function checkStages(c: Checker, value: unknown): void {
  c.arr(value, "stages").forEach((v, i) => {
    const stage = c.obj(v, `stages[${i}]`);
    c.str(stage.name, `stages[${i}].name`);
    c.count(stage.startFrame, `stages[${i}].startFrame`);
    c.count(stage.endFrame, `stages[${i}].endFrame`);
    c.arr(stage.scopes, `stages[${i}].scopes`).forEach((sv, j) => {
      const where = `stages[${i}].scopes[${j}]`;
      const s = c.obj(sv, where);
      c.str(s.path, `${where}.path`);
      c.count(s.peakLiveBytes, `${where}.peakLiveBytes`);
      c.count(s.liveBytes, `${where}.liveBytes`);
      // Calls during the stage: a scope re-created under the same path can make these negative.
      c.int(s.allocCount, `${where}.allocCount`);
      c.int(s.freeCount, `${where}.freeCount`);
    });
  });
}

function checkAllocators(c: Checker, value: unknown): void {
  c.arr(value, "allocators").forEach((v, i) => {
    const a = c.obj(v, `allocators[${i}]`);
    const where = `allocators[${i}] (${c.str(a.name, `allocators[${i}].name`)})`;
    for (const f of ["liveBytes", "liveCount", "peakLiveBytes", "allocCount", "freeCount", "reservedBytes"] as const) c.count(a[f], `${where}.${f}`);
    if (a.slabs !== undefined) checkSlabs(c, a.slabs, `${where}.slabs`);
    if (a.storage === undefined) return;
    const s = c.obj(a.storage, `${where}.storage`);
    for (const f of ["reservedBytes", "usedBytes", "totalFreeBytes", "largestFreeBlock"] as const) c.count(s[f], `${where}.storage.${f}`);
    c.num(s.fragmentation, `${where}.storage.fragmentation`);
    c.arr(s.freeHistogram, `${where}.storage.freeHistogram`).forEach((n, j) => c.count(n, `${where}.storage.freeHistogram[${j}]`));
  });
}

/** The optional slab report of a slab allocator (memory-globals' SlabReport). */
function checkSlabs(c: Checker, value: unknown, where: string): void {
  const s = c.obj(value, where);
  c.count(s.slabBytes, `${where}.slabBytes`);
  const slabs = c.count(s.slabs, `${where}.slabs`);
  const empty = c.count(s.emptySlabs, `${where}.emptySlabs`);
  if (empty > slabs) throw c.fail(`${where}.emptySlabs (${empty}) exceeds its slabs (${slabs})`);
  c.arr(s.classes, `${where}.classes`).forEach((v, i) => {
    const k = c.obj(v, `${where}.classes[${i}]`);
    for (const f of ["slotSize", "slabs", "slots", "usedSlots"] as const) c.count(k[f], `${where}.classes[${i}].${f}`);
    if ((k.usedSlots as number) > (k.slots as number)) {
      throw c.fail(`${where}.classes[${i}].usedSlots (${k.usedSlots as number}) exceeds its slots (${k.slots as number})`);
    }
  });
}

function checkMemoryMap(c: Checker, value: unknown): void {
  const m = c.obj(value, "memoryMap");
  const pageSize = c.count(m.pageSize, "memoryMap.pageSize");
  if (pageSize === 0 || (pageSize & (pageSize - 1)) !== 0) throw c.fail(`memoryMap.pageSize must be a power of two, found ${pageSize}`);
  c.count(m.byteLength, "memoryMap.byteLength");
  c.count(m.maximumBytes, "memoryMap.maximumBytes");
  c.arr(m.regions, "memoryMap.regions").forEach((v, i) => {
    const r = c.obj(v, `memoryMap.regions[${i}]`);
    c.str(r.name, `memoryMap.regions[${i}].name`);
    c.count(r.start, `memoryMap.regions[${i}].start`);
    c.count(r.bytes, `memoryMap.regions[${i}].bytes`);
  });
  const owners = c.obj(m.owners, "memoryMap.owners");
  for (const [id, name] of Object.entries(owners)) {
    if (!/^\d+$/.test(id)) throw c.fail(`memoryMap.owners keys must be owner ids (0..255), found ${JSON.stringify(id)}`);
    c.str(name, `memoryMap.owners["${id}"]`);
  }
  let end = 0;
  c.arr(m.spans, "memoryMap.spans").forEach((v, i) => {
    const where = `memoryMap.spans[${i}]`;
    const s = c.obj(v, where);
    const start = c.count(s.start, `${where}.start`);
    c.count(s.bytes, `${where}.bytes`);
    c.bool(s.used, `${where}.used`);
    c.count(s.owner, `${where}.owner`);
    if (start < end) throw c.fail(`${where}.start (${start}) overlaps the span before it (which ends at ${end}); spans must be in address order`);
    end = start + (s.bytes as number);
  });
  c.count(m.firstPage, "memoryMap.firstPage");
  const use = c.arr(m.pageUse, "memoryMap.pageUse");
  use.forEach((n, i) => {
    if (typeof n !== "number" || !Number.isInteger(n) || n < -1 || n > pageSize) {
      throw c.fail(`memoryMap.pageUse[${i}] must be -1 or a byte count 0..${pageSize}, found ${describe(n)}`);
    }
  });
  const scopePaths = c.arr(m.scopePaths, "memoryMap.scopePaths");
  scopePaths.forEach((p, i) => c.str(p, `memoryMap.scopePaths[${i}]`));
  const pageScope = c.arr(m.pageScope, "memoryMap.pageScope");
  if (pageScope.length !== use.length) {
    throw c.fail(`memoryMap.pageScope has ${pageScope.length} entries but pageUse has ${use.length}; they describe the same pages`);
  }
  pageScope.forEach((n, i) => {
    if (typeof n !== "number" || !Number.isInteger(n) || n < -1 || n >= scopePaths.length) {
      throw c.fail(`memoryMap.pageScope[${i}] must be -1 or an index into scopePaths (0..${scopePaths.length - 1}), found ${describe(n)}`);
    }
  });
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  return Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : `${typeof v} ${describe(v)}`;
}

/** Field checks that throw one-line InvalidArgumentErrors naming the source and the field. */
class Checker {
  constructor(private readonly source: string) {}

  fail(message: string): InvalidArgumentError {
    return new InvalidArgumentError(`${this.source}: ${message}.`);
  }

  obj(v: unknown, where: string): Json {
    if (!isObject(v)) throw this.fail(`${where} must be an object, found ${kind(v)}`);
    return v;
  }

  arr(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) throw this.fail(`${where} must be an array, found ${kind(v)}`);
    return v;
  }

  str(v: unknown, where: string): string {
    if (typeof v !== "string") throw this.fail(`${where} must be a string, found ${kind(v)}`);
    return v;
  }

  bool(v: unknown, where: string): boolean {
    if (typeof v !== "boolean") throw this.fail(`${where} must be true or false, found ${kind(v)}`);
    return v;
  }

  num(v: unknown, where: string): number {
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.fail(`${where} must be a finite number, found ${kind(v)}`);
    return v;
  }

  int(v: unknown, where: string): number {
    if (typeof v !== "number" || !Number.isInteger(v)) throw this.fail(`${where} must be an integer, found ${kind(v)}`);
    return v;
  }

  /** A non-negative integer (bytes, counts, frames). */
  count(v: unknown, where: string): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw this.fail(`${where} must be an integer >= 0, found ${kind(v)}`);
    return v;
  }

  folded(v: unknown, where: string): void {
    const text = this.str(v, where);
    try {
      parseFoldedStacks(text);
    } catch (err) {
      throw this.fail(`${where}: ${(err as Error).message.replace(/\.$/, "")}`);
    }
  }
}
