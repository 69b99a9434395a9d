import { entryPointsByName, type EntryPoint } from "@memkit/core";

/*
 * How a recorded stack comes to start at the user's code, in every build:
 *
 * 1. The capture starts below `above`, the scope method the caller called
 *    (TraceAllocator.allocate/reallocate): V8 skips that frame and every one
 *    above it (the scope's internals, this file) by function identity.
 * 2. Frames of memkit's marked entry points (`markEntryPoints` in
 *    @memkit/core: containers, allocators wrapping a scope, allocateZeroed)
 *    are found by identity too, and the stack is cut below the outermost.
 * 3. What is left is matched against the `internal` pattern (file paths of
 *    memkit's packages), which catches unmarked memkit code in unbundled runs.
 *
 * Steps 1 and 2 survive bundling and minification (names and paths are not
 * read); they need V8's stack API (Node, Chrome, Edge, Deno). Elsewhere
 * (Firefox, Safari) only step 3 applies.
 */

/**
 * Frames of memkit's own packages (source `packages/<name>/src/` or installed
 * `@memkit/<name>/`). Only the leading run of matching frames is stripped, so
 * the first frame kept is the code that called into memkit.
 */
export const MEMKIT_FRAME_PATTERN =
  /[\\/](?:@memkit[\\/][\w.-]+[\\/]|packages[\\/](?:core|page-allocator|heap-allocator|slot-allocator|generic-allocator|temp-allocator|trace-allocator|debug-allocators|containers|memory-globals)[\\/](?:src|dist)[\\/])/;

/** Frames captured beyond the kept depth, to cover memkit's own frames on top (scope, debug wrapper, container). */
const INTERNAL_ALLOWANCE = 8;
/** Call-site keys remembered (key -> id) to skip formatting a known stack; cleared when full. */
const KEY_CACHE_LIMIT = 4096;

const V8_FRAME = /^\s+at /;
// The name cannot hold '@' (urls can: /@memkit/...), so split at the first one.
const OTHER_FRAME = /^([^@]*)@(.*:\d+(?::\d+)?)$/;

/** The parts of V8's CallSite that the capture reads. */
interface CallSiteLike {
  getFileName(): string | null | undefined;
  getFunctionName(): string | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  /** Offset of the call in its script's source (V8 has it; other engines' call sites may not). */
  getPosition?(): number;
}

/** V8's stack-trace API (Node, Chrome, Edge, Deno); absent elsewhere. */
interface V8ErrorConstructor {
  stackTraceLimit?: number;
  captureStackTrace?: (target: object, above?: AnyFunction) => void;
  prepareStackTrace?: ((error: Error, sites: CallSiteLike[]) => unknown) | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any method may be the entry point
type AnyFunction = (...args: any[]) => unknown;

const V8Error = Error as unknown as V8ErrorConstructor;
const keepCallSites = (_error: Error, sites: CallSiteLike[]): CallSiteLike[] => sites;

/** Small ids for the script URLs seen in call sites, so a key can hash numbers instead of long strings. */
const fileIds = new Map<string, number>();

/**
 * The current stack as a numeric key: a 53-bit hash of (file, source offset)
 * per frame, from V8's structured call sites, without formatting or building
 * strings: formatting is the expensive part (far more so with a source-map
 * hook installed, as under test runners or `node --enable-source-maps`), and
 * a long string key costs a concatenation and a hash per capture. Two 32-bit
 * hashes make a collision between two call paths of one program negligible.
 * Undefined where the V8 API is missing.
 *
 * What a capture costs (from a hot, optimised loop on the 2-core dev VM):
 * 10-15 µs, most of it V8's: ~3.5 µs for any capture, and several more to
 * summarise the caller's optimised frame (its inlined functions are rebuilt
 * from deoptimisation data) before it can even find `above`. The call-site
 * objects and this hash are the rest; skipping memkit's frames saved ~2 µs.
 */
function callSiteKey(above: AnyFunction | undefined): number | undefined {
  if (typeof V8Error.captureStackTrace !== "function") return undefined;
  const saved = V8Error.prepareStackTrace;
  const holder: { stack?: unknown } = {};
  try {
    V8Error.prepareStackTrace = keepCallSites;
    // Frames from `above` up (memkit's own entry, scope, capture) are skipped by V8 itself: no call sites built for them.
    V8Error.captureStackTrace(holder, above);
    let sites = holder.stack;
    if (Array.isArray(sites) && sites.length === 0 && above !== undefined) {
      // `above` was not on the stack (called some other way): take the whole stack.
      V8Error.captureStackTrace(holder);
      sites = holder.stack;
    }
    if (!Array.isArray(sites)) return undefined;
    let h1 = 0x811c9dc5 | 0;
    let h2 = 0x2545f491 | 0;
    for (const site of sites as CallSiteLike[]) {
      const file = site.getFileName() ?? site.getFunctionName() ?? "?";
      let id = fileIds.get(file);
      if (id === undefined) {
        id = fileIds.size + 1;
        fileIds.set(file, id);
      }
      // One call for the place: the source offset where V8 has it, else line and column.
      const at = site.getPosition !== undefined ? site.getPosition() : ((site.getLineNumber() ?? 0) << 12) ^ (site.getColumnNumber() ?? 0);
      h1 = Math.imul(Math.imul(h1 ^ id, 0x01000193) ^ at, 0x01000193);
      h2 = Math.imul((h2 + id) | 0, 0x5bd1e995) ^ (h2 >>> 13);
      h2 = Math.imul((h2 + at) | 0, 0x5bd1e995) ^ (h2 >>> 13);
    }
    return (h1 >>> 0) * 0x20_0000 + ((h2 >>> 0) & 0x1f_ffff);
  } catch {
    return undefined;
  } finally {
    V8Error.prepareStackTrace = saved;
  }
}

/**
 * The stack text (as `Error.stack` reads, header line included) from the
 * caller of `above`'s topmost call, cut below the outermost frame of a marked
 * entry point. Undefined where V8's stack API is missing. Cold: runs once per
 * new call path (the frames are walked whole, and formatting is the costly part).
 */
function userStack(above: AnyFunction, depth: number): string | undefined {
  if (typeof V8Error.captureStackTrace !== "function") return undefined;
  const savedFormat = V8Error.prepareStackTrace;
  const savedLimit = V8Error.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  try {
    V8Error.stackTraceLimit = Infinity;
    V8Error.prepareStackTrace = keepCallSites;
    // Below `above`; when it is not on the stack (called some other way), below capture(), else below this function.
    let from: AnyFunction = above;
    let sites: unknown;
    for (const candidate of [above, CAPTURE, userStack]) {
      from = candidate;
      V8Error.captureStackTrace(holder, from);
      sites = holder.stack;
      if (!Array.isArray(sites) || sites.length > 0) break;
    }
    if (!Array.isArray(sites)) return undefined;
    const cut = entryPointCut(sites as CallSiteLike[]);
    // The same frames again, formatted by whatever formats stacks here (source maps included).
    V8Error.prepareStackTrace = savedFormat;
    V8Error.stackTraceLimit = cut + depth + INTERNAL_ALLOWANCE;
    const formatted: { stack?: unknown } = {};
    V8Error.captureStackTrace(formatted, from);
    if (typeof formatted.stack !== "string") return undefined;
    const lines = formatted.stack.split("\n");
    // Line 0 is the header ("Error"); frame i is line i + 1.
    return [lines[0], ...lines.slice(1 + cut)].join("\n");
  } catch {
    return undefined;
  } finally {
    V8Error.prepareStackTrace = savedFormat;
    V8Error.stackTraceLimit = savedLimit;
  }
}

/**
 * How many leading frames of `sites` (innermost first) belong to memkit's
 * marked entry points: the index below the outermost frame that is one of
 * them, 0 when none is. A frame is a candidate when its function's name is
 * the name of a marked function (a cheap filter); it is confirmed when that
 * function's topmost call has exactly as many frames below it as this frame.
 */
function entryPointCut(sites: readonly CallSiteLike[]): number {
  const entries = entryPointsByName();
  if (entries.size === 0) return 0;
  const below = new Map<EntryPoint, number>();
  let cut = 0;
  for (let i = 0; i < sites.length; i++) {
    const candidates = entries.get(sites[i]!.getFunctionName() ?? "");
    if (candidates === undefined) continue;
    const framesBelow = sites.length - 1 - i;
    for (const fn of candidates) {
      let n = below.get(fn);
      if (n === undefined) {
        n = framesBelowTopmostCall(fn);
        below.set(fn, n);
      }
      if (n === framesBelow && n > 0) {
        cut = i + 1;
        break;
      }
    }
  }
  return cut;
}

/** Frames below `fn`'s topmost call on the current stack, 0 when it is not on the stack. Expects keepCallSites and no limit. */
function framesBelowTopmostCall(fn: EntryPoint): number {
  const probe: { stack?: unknown } = {};
  V8Error.captureStackTrace!(probe, fn as AnyFunction);
  return Array.isArray(probe.stack) ? probe.stack.length : 0;
}

/**
 * Captures call stacks and interns them: each distinct stack is stored once
 * and named by a small integer id, so a million allocations from fifty call
 * sites keep fifty stack strings. Id 0 means "no stack".
 */
export class CallStacks {
  /** Interned stacks by id (index 0 is the empty "no stack"): frames, innermost first, joined by newlines. */
  private readonly stacks: string[] = [""];
  private readonly ids = new Map<string, number>();
  private keyIds = new Map<number | string, number>();

  constructor(
    /** Frames kept per stack. */
    readonly depth: number,
    /** Leading frames matching this are dropped. */
    readonly internal: RegExp,
  ) {}

  /** Distinct stacks interned so far. */
  get size(): number {
    return this.stacks.length - 1;
  }

  /** The stack with this id (frames joined by newlines), or undefined for 0 / unknown ids. */
  get(id: number): string | undefined {
    return id > 0 ? this.stacks[id] : undefined;
  }

  /**
   * Captures the current call stack (memkit's frames stripped) and returns
   * its id. A known call path costs one structured capture and a map lookup;
   * only a new one is formatted and parsed. `above` is the memkit entry point
   * on the stack (e.g. `allocate`): the key then skips it and every frame
   * above it without building call sites for them.
   */
  capture(above?: AnyFunction): number {
    const limit = V8Error.stackTraceLimit;
    const settable = typeof limit === "number";
    if (settable) V8Error.stackTraceLimit = this.depth + INTERNAL_ALLOWANCE;
    try {
      const key = callSiteKey(above);
      if (key !== undefined) {
        const known = this.keyIds.get(key);
        if (known !== undefined) return known;
      }
      const raw = userStack(above ?? CAPTURE, this.depth) ?? new Error().stack ?? "";
      const lookup = key ?? raw;
      const known = this.keyIds.get(lookup);
      if (known !== undefined) return known;
      const id = this.intern(parseFrames(raw, this.internal, this.depth).join("\n"));
      if (this.keyIds.size >= KEY_CACHE_LIMIT) this.keyIds = new Map();
      this.keyIds.set(lookup, id);
      return id;
    } finally {
      if (settable) V8Error.stackTraceLimit = limit;
    }
  }

  /** Returns the id of `stack` (frames joined by newlines), adding it when new. */
  intern(stack: string): number {
    if (stack === "") return 0;
    let id = this.ids.get(stack);
    if (id === undefined) {
      id = this.stacks.length;
      this.stacks.push(stack);
      this.ids.set(stack, id);
    }
    return id;
  }
}

/* eslint-disable-next-line @typescript-eslint/unbound-method -- an identity for Error.captureStackTrace, never called */
const CAPTURE: AnyFunction = CallStacks.prototype.capture;

/**
 * Splits an `Error.stack` text into frames (V8's `    at f (file:1:2)` and
 * SpiderMonkey/JavaScriptCore's `f@file:1:2`, both normalised to
 * `f (file:1:2)`), drops the leading frames matching `internal`, keeps `depth`.
 */
/** Frames of the JS runtime itself (Node's module loader, `node:internal/...`): noise in every stack, dropped wherever they stand. */
const RUNTIME_FRAME = /(?:^|\()(?:node:|internal\/)/;

export function parseFrames(raw: string, internal: RegExp, depth: number): string[] {
  const frames: string[] = [];
  let leading = true;
  for (const line of raw.split("\n")) {
    let frame: string;
    if (V8_FRAME.test(line)) {
      frame = line.replace(V8_FRAME, "");
    } else {
      const m = OTHER_FRAME.exec(line.trim());
      if (m === null) continue;
      frame = m[1] === "" ? m[2]! : `${m[1]!} (${m[2]!})`;
    }
    if ((leading && internal.test(frame)) || RUNTIME_FRAME.test(frame)) continue;
    leading = false;
    frames.push(frame);
    if (frames.length >= depth) break;
  }
  return frames;
}

/**
 * A frame shortened for people and flame graphs: `loadChunk (level/streaming.ts:88)`
 * (function, the last two path segments, the line; no column, no `file://`).
 */
export function shortFrame(frame: string): string {
  let name = "";
  let location = frame;
  const call = /^(.*) \((.*)\)$/.exec(frame);
  if (call !== null) {
    name = call[1]!;
    location = call[2]!;
  }
  const at = /^(.*?):(\d+)(?::\d+)?$/.exec(location);
  if (at === null) return name === "" ? location : `${name} (${location})`;
  let path = at[1]!.replace(/^file:\/\//, "").replace(/[?#].*$/, "");
  const parts = path.split(/[\\/]/).filter((p) => p !== "");
  if (parts.length >= 2) path = parts.slice(-2).join("/");
  const place = `${path}:${at[2]!}`;
  return name === "" ? place : `${name} (${place})`;
}
