import { captureStack, stackKey } from "@memkit/core";

/*
 * How a recorded stack comes to start at the user's code, in every build:
 *
 * 1. The capture starts below `above`, the scope method the caller called
 *    (TraceAllocator.allocate/reallocate): V8 skips that frame and every one
 *    above it (the scope's internals, this file) by function identity. A
 *    call path seen before is recognised by core's `stackKey` (a hash of
 *    its call sites), with nothing formatted.
 * 2. Frames of memkit's marked entry points (`markEntryPoints` in
 *    @memkit/core: containers, allocators wrapping a scope, allocateZeroed)
 *    are found by identity too, and the stack is cut below the outermost
 *    (core's `captureStack`, which debug containers and debug wrappers use too).
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any method may be the entry point
type AnyFunction = (...args: any[]) => unknown;

/**
 * The texts of the call stacks one thread captured for one tree, by id. Ids
 * are issued by the tree (a counter in its control block), so an id in
 * memory names one stack in every thread; its text stays in the JS of the
 * thread that captured it. Every handle this thread holds on the tree shares
 * one StackTexts ({@link stackTextsOf}).
 */
export class StackTexts {
  readonly #texts = new Map<number, string>();
  readonly #ids = new Map<string, number>();

  /** The text of stack `id`, or undefined when this thread never captured it. */
  get(id: number): string | undefined {
    return this.#texts.get(id);
  }

  /** The id of `stack` in this thread, or undefined. */
  idOf(stack: string): number | undefined {
    return this.#ids.get(stack);
  }

  set(id: number, stack: string): void {
    this.#texts.set(id, stack);
    this.#ids.set(stack, id);
  }

  /** Stacks known here. */
  get size(): number {
    return this.#texts.size;
  }
}

/** What a stack id without text in this thread prints as (captured by another thread, or before a restore). */
export const STACK_NOT_HERE = "(stack not captured in this thread)";

const threadTexts = new WeakMap<object, Map<string, StackTexts>>();

/** The stack texts this thread keeps for the tree `treeId` at `controlPtr` of `space`. */
export function stackTextsOf(space: object, controlPtr: number, treeId: number): StackTexts {
  let bySpace = threadTexts.get(space);
  if (bySpace === undefined) {
    bySpace = new Map();
    threadTexts.set(space, bySpace);
  }
  const key = `${controlPtr}:${treeId}`;
  let texts = bySpace.get(key);
  if (texts === undefined) {
    texts = new StackTexts();
    bySpace.set(key, texts);
  }
  return texts;
}

/**
 * Captures call stacks and interns them: each distinct stack is stored once
 * and named by a small integer id, so a million allocations from fifty call
 * sites keep fifty stack strings. Id 0 means "no stack". New ids come from
 * `nextId` (the tree's counter in memory); texts go to a {@link StackTexts}.
 */
export class CallStacks {
  private keyIds = new Map<number | string, number>();
  private counter = 0;

  constructor(
    /** Frames kept per stack. */
    readonly depth: number,
    /** Leading frames matching this are dropped. */
    readonly internal: RegExp,
    /** Where the texts go (shared by the thread's handles on one tree). */
    readonly texts: StackTexts = new StackTexts(),
    /** Issues the id of a new stack (default: a counter of this object). */
    private readonly nextId: () => number = () => ++this.counter,
  ) {}

  /** Distinct stacks interned here. */
  get size(): number {
    return this.texts.size;
  }

  /** The stack with this id (frames joined by newlines), or undefined for 0 / unknown ids. */
  get(id: number): string | undefined {
    return id > 0 ? this.texts.get(id) : undefined;
  }

  /**
   * Captures the current call stack (memkit's frames stripped) and returns
   * its id. A known call path costs one structured capture and a map lookup;
   * only a new one is formatted and parsed. `above` is the memkit entry point
   * on the stack (e.g. `allocate`): the key then skips it and every frame
   * above it without building call sites for them.
   */
  capture(above?: AnyFunction): number {
    const limit = this.depth + INTERNAL_ALLOWANCE;
    const key = above === undefined ? stackKey(limit, CAPTURE) : stackKey(limit, above, CAPTURE);
    if (key !== undefined) {
      const known = this.keyIds.get(key);
      if (known !== undefined) return known;
    }
    const raw = (above === undefined ? captureStack(limit, CAPTURE) : captureStack(limit, above, CAPTURE)).text;
    const lookup = key ?? raw;
    const known = this.keyIds.get(lookup);
    if (known !== undefined) return known;
    const id = this.intern(parseFrames(raw, this.internal, this.depth).join("\n"));
    if (this.keyIds.size >= KEY_CACHE_LIMIT) this.keyIds = new Map();
    this.keyIds.set(lookup, id);
    return id;
  }

  /** Returns the id of `stack` (frames joined by newlines), adding it when new. */
  intern(stack: string): number {
    if (stack === "") return 0;
    let id = this.texts.idOf(stack);
    if (id === undefined) {
      id = this.nextId();
      this.texts.set(id, stack);
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
