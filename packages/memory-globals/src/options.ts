import { InvalidArgumentError, MAX_ADDRESS_SPACE_BYTES, WASM_PAGE_BYTES, describe, formatBytes } from "@memkit/core";
import type { TracingLevel } from "@memkit/trace-allocator";
import type { FrameGrowthWarning } from "@memkit/temp-allocator";
import { MAX_TIMELINE_FRAMES, MAX_TIMELINE_SCOPES } from "./timeline.js";
import { MIN_LEAK_WINDOW } from "./leak-suspects.js";

/** The generic allocator's routing policy (see `@memkit/generic-allocator`): which tier serves which size. */
export interface GenericPolicyOptions {
  /** Sizes up to this (with alignments up to smallAlignMax) go to the slot tier. @defaultValue 4096 (the largest slot) */
  smallMax?: number;
  /** Largest alignment the slot tier serves; larger alignments of small sizes go to the heap. @defaultValue 64 */
  smallAlignMax?: number;
  /** Sizes from this up are whole page spans; below it (and above smallMax) the heap. @defaultValue 512 KiB */
  largeThreshold?: number;
}

/** Options of `memory.frame` beyond its arena count. */
export interface FrameOptions {
  /** Warn when a frame holds more than this multiple of the typical frame; Infinity turns it off. @defaultValue 8 */
  growthWarningFactor?: number;
  /** Receives that warning instead of console.warn. */
  onFrameGrowth?: (warning: FrameGrowthWarning) => void;
}

/** Options for {@link MemoryGlobals.init}. Every field is optional. */
export interface MemoryGlobalsOptions {
  /** Bytes committed at start (multiple of 64 KiB). Reserving the expected heap up front keeps typed-array access fast. @defaultValue 32 MiB */
  initialBytes?: number;
  /** Bytes the address space may grow to (multiple of 64 KiB, at most 2 GiB). @defaultValue 1 GiB */
  maximumBytes?: number;
  /**
   * Back the space with a SharedArrayBuffer, so worker threads can attach to
   * it (`memory.share()`, `MemoryGlobals.attach`; docs/threads.md). Not with
   * `debug: true` (the debug layers are single-threaded). @defaultValue false
   */
  shared?: boolean;
  /** This thread's name in the thread table of a shared memory (reports, threadEnded). @defaultValue "main" */
  threadName?: string;
  /**
   * Page size of the page allocator: a power of two from 4 KiB to 64 KiB. The
   * slot tier's slabs are max(32 KiB, page size). @defaultValue 16384
   */
  pageSize?: number;
  /** Size of the static bootstrap region (multiple of 8); default: what the page allocator's control block needs plus 16 KiB. */
  bootstrapBytes?: number;
  /**
   * Bytes kept for WebAssembly modules' static data and stacks, right after
   * the null guard: `[NULL_GUARD_BYTES, NULL_GUARD_BYTES + wasmStaticBytes)`,
   * never handed out by any allocator. Link a module's data there
   * (`--global-base`, see the README's "WebAssembly modules"). A multiple
   * of 16. @defaultValue 0
   */
  wasmStaticBytes?: number;
  /** Tracing level of the root scope and, by default, of every scope. @defaultValue "counts" */
  tracing?: TracingLevel;
  /** With "callstacks": capture one allocation in N. @defaultValue 1 */
  sampleEvery?: number;
  /** Wrap `default` and every scope in canaries, fill patterns and a quarantine. @defaultValue false */
  debug?: boolean;
  /** Frame arenas in the ring of `frame` (memory lives through N frames). @defaultValue 2 */
  frameArenas?: number;
  /** The generic allocator's size thresholds (`smallMax`, `smallAlignMax`, `largeThreshold`). @defaultValue the generic allocator's defaults */
  generic?: GenericPolicyOptions;
  /** The frame allocator's growth warning (`growthWarningFactor`, `onFrameGrowth`). @defaultValue a console.warn past 8x the typical frame */
  frame?: FrameOptions;
  /**
   * Keep a per-frame timeline: at each `beginFrame()` every scope's live
   * bytes, blocks, allocations, frees and budget, and the allocators'
   * figures, go into a ring of `frames` samples in linear memory (of the
   * first `scopes` scope rows). `true` takes the defaults. @defaultValue false
   */
  timeline?: boolean | TimelineOptions;
  /** Start the allocation log at init (`memory.stopRecording()` returns it; alloc-log.ts). @defaultValue false */
  record?: boolean;
}

/** Size of the timeline ring. */
export interface TimelineOptions {
  /** Samples kept (one per frame; older ones are overwritten). @defaultValue 600 */
  frames?: number;
  /** Scope rows sampled (scopes past them are left out and counted in the report). @defaultValue 64 */
  scopes?: number;
  /** Frames the leak-suspect test looks back over (at least 8, at most `frames`). @defaultValue min(300, frames), at least 8 */
  leakWindow?: number;
}

/** Bytes before the bootstrap region that are never handed out, so small offsets from a null pointer fault in every check. */
export const NULL_GUARD_BYTES = 4096;

/** Options with defaults applied and every value checked. */
export interface ResolvedOptions {
  initialBytes: number;
  maximumBytes: number;
  shared: boolean;
  threadName: string;
  pageSize: number;
  bootstrapBytes: number | undefined;
  wasmStaticBytes: number;
  tracing: TracingLevel;
  sampleEvery: number;
  debug: boolean;
  frameArenas: number;
  /** Only the fields given; the generic allocator fills in the rest. */
  generic: GenericPolicyOptions;
  frame: FrameOptions;
  /** The timeline ring's size, or undefined for none. */
  timeline: { frames: number; scopes: number; leakWindow: number } | undefined;
  record: boolean;
}

const TRACING_LEVELS: readonly TracingLevel[] = ["off", "counts", "callstacks"];

function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`MemoryGlobals.init: option ${option} must be ${expected}, received ${describe(value)}.`);
}

function bytesOption(option: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(option, "a non-negative integer byte count", value);
  if (value % WASM_PAGE_BYTES !== 0) fail(option, "a multiple of 64 KiB (65536)", value);
  if (value > MAX_ADDRESS_SPACE_BYTES) fail(option, "at most 2 GiB", value);
  return value;
}

/** Applies defaults and rejects impossible options with InvalidArgumentError naming the option. */
export function resolveOptions(options: MemoryGlobalsOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) fail("(options)", "an object", options);
  const initialBytes = bytesOption("initialBytes", options.initialBytes ?? 32 << 20);
  const maximumBytes = bytesOption("maximumBytes", options.maximumBytes ?? Math.max(1 << 30, initialBytes));
  if (maximumBytes < initialBytes) {
    throw new InvalidArgumentError(
      `MemoryGlobals.init: option maximumBytes (${formatBytes(maximumBytes)}) is less than initialBytes (${formatBytes(initialBytes)}).`,
    );
  }
  if (maximumBytes === 0) fail("maximumBytes", "at least 64 KiB", maximumBytes);
  const pageSize = options.pageSize ?? 16384;
  if (typeof pageSize !== "number" || !Number.isInteger(pageSize) || pageSize < 4096 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    fail("pageSize", "a power of two from 4096 to 65536", pageSize);
  }
  const bootstrapBytes = options.bootstrapBytes;
  if (bootstrapBytes !== undefined && (typeof bootstrapBytes !== "number" || !Number.isSafeInteger(bootstrapBytes) || bootstrapBytes < 64 || bootstrapBytes % 8 !== 0)) {
    fail("bootstrapBytes", "a multiple of 8 of at least 64", bootstrapBytes);
  }
  const wasmStaticBytes = options.wasmStaticBytes ?? 0;
  if (typeof wasmStaticBytes !== "number" || !Number.isSafeInteger(wasmStaticBytes) || wasmStaticBytes < 0 || wasmStaticBytes % 16 !== 0) {
    fail("wasmStaticBytes", "a multiple of 16 of at least 0", wasmStaticBytes);
  }
  const tracing = options.tracing ?? "counts";
  if (!TRACING_LEVELS.includes(tracing)) fail("tracing", `one of ${TRACING_LEVELS.map((t) => `"${t}"`).join(", ")}`, tracing);
  const sampleEvery = options.sampleEvery ?? 1;
  if (typeof sampleEvery !== "number" || !Number.isInteger(sampleEvery) || sampleEvery < 1) fail("sampleEvery", "an integer >= 1", sampleEvery);
  const debug = options.debug ?? false;
  if (typeof debug !== "boolean") fail("debug", "true or false", debug);
  const shared = options.shared ?? false;
  if (typeof shared !== "boolean") fail("shared", "true or false", shared);
  if (shared && debug) {
    throw new InvalidArgumentError(
      "MemoryGlobals.init: debug: true cannot be combined with shared: true yet: the debug layers keep one table of live blocks that only one thread may use.\n" +
        "  Hunt memory bugs with debug on a private memory (shared: false), or share the memory without debug.",
    );
  }
  const threadName = options.threadName ?? "main";
  if (typeof threadName !== "string" || threadName.length === 0) fail("threadName", "a non-empty string", threadName);
  const frameArenas = options.frameArenas ?? 2;
  if (typeof frameArenas !== "number" || !Number.isInteger(frameArenas) || frameArenas < 1 || frameArenas > 16) fail("frameArenas", "an integer from 1 to 16", frameArenas);
  const generic = pickFields("generic", options.generic, GENERIC_FIELDS) as GenericPolicyOptions;
  for (const field of GENERIC_FIELDS) {
    const value = generic[field as keyof GenericPolicyOptions];
    if (value !== undefined && (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)) fail(`generic.${field}`, "a non-negative integer byte count", value);
  }
  // The frame allocator checks these two itself, naming them.
  const frame = pickFields("frame", options.frame, FRAME_FIELDS) as FrameOptions;
  const timeline = resolveTimeline(options.timeline);
  const record = options.record ?? false;
  if (typeof record !== "boolean") fail("record", "true or false", record);
  return { initialBytes, maximumBytes, shared, threadName, pageSize, bootstrapBytes, wasmStaticBytes, tracing, sampleEvery, debug, frameArenas, generic, frame, timeline, record };
}

function resolveTimeline(value: boolean | TimelineOptions | undefined): { frames: number; scopes: number; leakWindow: number } | undefined {
  if (value === undefined || value === false) return undefined;
  const picked = value === true ? {} : (pickFields("timeline", value, ["frames", "scopes", "leakWindow"]) as TimelineOptions);
  const frames = picked.frames ?? 600;
  const scopes = picked.scopes ?? 64;
  if (typeof frames !== "number" || !Number.isInteger(frames) || frames < 1 || frames > MAX_TIMELINE_FRAMES) fail("timeline.frames", `an integer from 1 to ${MAX_TIMELINE_FRAMES}`, frames);
  if (typeof scopes !== "number" || !Number.isInteger(scopes) || scopes < 1 || scopes > MAX_TIMELINE_SCOPES) fail("timeline.scopes", `an integer from 1 to ${MAX_TIMELINE_SCOPES}`, scopes);
  const leakWindow = picked.leakWindow ?? Math.max(MIN_LEAK_WINDOW, Math.min(300, frames));
  if (typeof leakWindow !== "number" || !Number.isInteger(leakWindow) || leakWindow < MIN_LEAK_WINDOW || leakWindow > Math.max(frames, MIN_LEAK_WINDOW)) {
    fail("timeline.leakWindow", `an integer from ${MIN_LEAK_WINDOW} to timeline.frames (${frames})`, leakWindow);
  }
  return { frames, scopes, leakWindow };
}

const GENERIC_FIELDS: readonly string[] = ["smallMax", "smallAlignMax", "largeThreshold"];
const FRAME_FIELDS: readonly string[] = ["growthWarningFactor", "onFrameGrowth"];

/** A copy of the nested option object `option` holding the fields given; rejects a non-object and unknown fields (a typo would be ignored silently). */
function pickFields(option: string, value: unknown, fields: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) fail(option, `an object with fields ${fields.join(", ")}`, value);
  const picked: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (!fields.includes(key)) {
      throw new InvalidArgumentError(`MemoryGlobals.init: option ${option} has no field ${JSON.stringify(key)} (it takes ${fields.join(", ")}).`);
    }
    if (field !== undefined) picked[key] = field;
  }
  return picked;
}
