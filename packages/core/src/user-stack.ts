import { entryPointsByName, type EntryPoint } from "./entry-points.js";

/*
 * Call stacks that start at the user's code, in every build: the frames of
 * memkit's marked entry points (markEntryPoints) and of everything they
 * called are cut off, found by function identity, not by name or file, so
 * this holds in bundled and minified builds too. One mechanism for every
 * stack memkit shows: a trace scope's allocation stacks, a debug container's
 * creation stack, a debug wrapper's "first freed" stack.
 *
 * It needs V8's stack API (Node, Chrome, Edge, Deno). Elsewhere (Firefox,
 * Safari) the whole stack is kept, and callers drop memkit's frames by their
 * file paths or names, which works in unbundled code.
 */

/** The parts of V8's CallSite that the cut and the key read. */
interface CallSiteLike {
  getFileName(): string | null | undefined;
  getFunctionName(): string | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  /** Offset of the call in its script's source (V8 has it; other engines' call sites may not). */
  getPosition?(): number;
}

/** V8's stack-trace API; absent elsewhere. */
interface V8ErrorConstructor {
  stackTraceLimit?: number;
  captureStackTrace?: (target: object, above?: AnyFunction) => void;
  prepareStackTrace?: ((error: Error, sites: CallSiteLike[]) => unknown) | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any method may be the entry point
type AnyFunction = (...args: any[]) => unknown;

const V8Error = Error as unknown as V8ErrorConstructor;
const keepCallSites = (_error: Error, sites: CallSiteLike[]): CallSiteLike[] => sites;

/** A frame line of an `Error.stack` text (V8's `    at f (file:1:2)`, or `f@file:1:2`); the header line is not one. */
const FRAME_LINE = /^\s+at |@/;
/** Frames a key covers beyond the kept depth: room for memkit's frames on top (the cut). */
const KEY_ALLOWANCE = 8;
/** Call paths whose stack is remembered (key -> stack); cleared when full. */
const TEXT_CACHE_LIMIT = 4096;

/** Small ids for the script URLs seen in call sites, so a key hashes numbers instead of long strings. */
const fileIds = new Map<string, number>();
/** The stacks of the call paths seen, by key (see {@link captureStack}): shared, their text is fixed. */
let known = new Map<number, CapturedStack>();

/**
 * A call stack captured by {@link captureStack}: its text, or (where the
 * engine has no V8 stack API) an Error whose stack the engine formats when
 * {@link text} is first read.
 */
export class CapturedStack {
  #error: Error | undefined;
  #skip: number;
  #text: string | undefined;

  /** @internal Use {@link captureStack}. `source`: the text, or an Error whose stack (after `skip` frames) is the text. */
  constructor(source: string | Error, skip = 0) {
    if (typeof source === "string") this.#text = source;
    else this.#error = source;
    this.#skip = skip;
  }

  /**
   * The frames, innermost first, one per line as the engine writes them
   * (`    at fn (file.ts:1:2)` in V8, `fn@file.ts:1:2` elsewhere), without
   * the `Error` header line.
   */
  get text(): string {
    if (this.#text === undefined) {
      this.#text = framesOf(this.#error?.stack ?? "", this.#skip);
      this.#error = undefined;
    }
    return this.#text;
  }
}

/** The frame lines of an `Error.stack` text after `skip` frames. */
function framesOf(stack: string, skip: number): string {
  const lines = stack.split("\n");
  // V8 starts with "Error"; SpiderMonkey and JavaScriptCore start with a frame.
  const first = lines.length > 0 && !FRAME_LINE.test(lines[0]!) ? 1 : 0;
  return lines.slice(first + skip).join("\n");
}

/**
 * Captures the current call stack from the user's code: below `above` (the
 * first of them found on the stack; V8 skips that frame and every frame
 * above it), then cut below the outermost frame of a marked entry point
 * (`markEntryPoints`: containers, allocators wrapping a scope, helpers such
 * as `allocateZeroed`), keeping `depth` frames. Without V8's stack API the
 * whole stack is kept and formatted when read, and callers drop memkit's
 * frames by file or name.
 *
 * Cost: a call path seen before costs one structured capture of `depth` +
 * 8 frames and a hash (as {@link stackKey}), and returns the same object as
 * the first time; a new one is cut (a capture of the whole stack, and one per
 * marked function on it) and formatted by the engine (source-map hooks
 * included), once. Several times a plain `new Error()`: meant for debug paths.
 */
export function captureStack(depth: number, ...above: AnyFunction[]): CapturedStack {
  if (typeof V8Error.captureStackTrace !== "function") return new CapturedStack(new Error());
  const savedFormat = V8Error.prepareStackTrace;
  const savedLimit = V8Error.stackTraceLimit;
  try {
    V8Error.prepareStackTrace = keepCallSites;
    V8Error.stackTraceLimit = depth + KEY_ALLOWANCE;
    const top = structuredStack([...above, captureStack]);
    if (top === undefined) return new CapturedStack(new Error());
    const key = hashSites(top.sites, depth);
    const seen = known.get(key);
    if (seen !== undefined) return seen;
    // A new call path: find memkit's frames on the whole stack, then format the user's part.
    V8Error.stackTraceLimit = Infinity;
    const whole = structuredStack([top.from]);
    const cut = whole === undefined ? 0 : entryPointCut(whole.sites);
    V8Error.prepareStackTrace = savedFormat;
    V8Error.stackTraceLimit = cut + depth;
    const kept: { stack?: unknown } = {};
    V8Error.captureStackTrace(kept, top.from);
    const stack = new CapturedStack(framesOf(typeof kept.stack === "string" ? kept.stack : "", cut));
    if (known.size >= TEXT_CACHE_LIMIT) known = new Map();
    known.set(key, stack);
    return stack;
  } catch {
    return new CapturedStack(new Error());
  } finally {
    V8Error.prepareStackTrace = savedFormat;
    V8Error.stackTraceLimit = savedLimit;
  }
}

/**
 * The current call path below `above` (the first of them on the stack) as a
 * number: a 53-bit hash of (file, source offset) of `limit` frames, from
 * V8's structured call sites, with no formatting and no strings built (two
 * 32-bit hashes make a collision between two call paths of one program
 * negligible). Undefined where the V8 API is missing. A trace scope keys its
 * interned stacks with it.
 *
 * What a capture costs from a hot, optimised loop: ~3.5 µs for any capture,
 * several more to summarise the caller's optimised frame (its inlined
 * functions are rebuilt from deoptimisation data) before V8 even finds
 * `above`; the call-site objects and the hash are the rest.
 */
export function stackKey(limit: number, ...above: AnyFunction[]): number | undefined {
  if (typeof V8Error.captureStackTrace !== "function") return undefined;
  const savedFormat = V8Error.prepareStackTrace;
  const savedLimit = V8Error.stackTraceLimit;
  try {
    V8Error.prepareStackTrace = keepCallSites;
    V8Error.stackTraceLimit = limit;
    const top = structuredStack([...above, stackKey]);
    return top === undefined ? undefined : hashSites(top.sites, 0);
  } catch {
    return undefined;
  } finally {
    V8Error.prepareStackTrace = savedFormat;
    V8Error.stackTraceLimit = savedLimit;
  }
}

/**
 * The call sites below the first of `candidates` that is on the stack (V8
 * skips that frame and every frame above it: no call sites are built for
 * memkit's own frames), and which one it was. Expects keepCallSites.
 */
function structuredStack(candidates: readonly AnyFunction[]): { sites: CallSiteLike[]; from: AnyFunction } | undefined {
  const holder: { stack?: unknown } = {};
  for (const from of candidates) {
    V8Error.captureStackTrace!(holder, from);
    const sites = holder.stack;
    if (!Array.isArray(sites)) return undefined;
    if (sites.length > 0) return { sites: sites as CallSiteLike[], from };
  }
  return undefined;
}

/** A 53-bit hash of the sites' (file, source offset) pairs, seeded with `seed`. */
function hashSites(sites: readonly CallSiteLike[], seed: number): number {
  let h1 = (0x811c9dc5 ^ seed) | 0;
  let h2 = (0x2545f491 + seed) | 0;
  for (const site of sites) {
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
}

/**
 * How many leading frames of `sites` (innermost first) belong to memkit's
 * marked entry points: the index below the outermost frame that is one of
 * them, 0 when none is. A frame is a candidate when its function's name is
 * the name of a marked function (a cheap filter); it is confirmed when that
 * function's topmost call has exactly as many frames below it as this
 * frame. Walks from the outermost frame in, so the first confirmed frame
 * ends the walk. Expects keepCallSites and no stack-trace limit.
 */
function entryPointCut(sites: readonly CallSiteLike[]): number {
  const entries = entryPointsByName();
  if (entries.size === 0) return 0;
  const below = new Map<EntryPoint, number>();
  for (let i = sites.length - 1; i >= 0; i--) {
    const candidates = entries.get(sites[i]!.getFunctionName() ?? "");
    if (candidates === undefined) continue;
    const framesBelow = sites.length - 1 - i;
    for (const fn of candidates) {
      let n = below.get(fn);
      if (n === undefined) {
        n = framesBelowTopmostCall(fn);
        below.set(fn, n);
      }
      if (n === framesBelow && n > 0) return i + 1;
    }
  }
  return 0;
}

/** Frames below `fn`'s topmost call on the current stack, 0 when it is not on the stack. */
function framesBelowTopmostCall(fn: EntryPoint): number {
  const probe: { stack?: unknown } = {};
  V8Error.captureStackTrace!(probe, fn as AnyFunction);
  return Array.isArray(probe.stack) ? probe.stack.length : 0;
}
