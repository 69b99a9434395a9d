import type { WorkloadId } from "../workloads.js";

/**
 * One allocator under test, behind the smallest interface the timed loop
 * needs. A handle is a number: a pointer for linear-memory allocators, a slot
 * index for the garbage-collector subject.
 *
 * Each adapter is its own class with its own methods (no shared base class on
 * the hot path), so every call site inside an adapter sees one receiver shape
 * and V8 can inline it; see `runner.ts` for the same reason on the loop side.
 */
export interface Subject {
  /** Allocates `size` (> 0) bytes; throws when the subject runs out of memory. */
  alloc(size: number): number;
  /** Allocates `size` bytes aligned to `align` (a power of two the subject serves; traces only). */
  allocAligned(size: number, align: number): number;
  /**
   * Sets the first `size` bytes of a live block to 0 (a trace's calloc). Every
   * subject over a wasm memory does it the same way, with `memory.fill` through
   * core's byte moves (`space.bytes.fill`, what memkit's `allocateZeroed` does);
   * the two whose memory is not a wasm memory (thi.ng's pool, the GC's buffers)
   * with `TypedArray.prototype.fill`, which is what their own calloc does.
   */
  zero(handle: number, size: number): void;
  /** Frees a handle returned by {@link alloc} or {@link realloc}. */
  free(handle: number): void;
  /** Resizes a live block to `size` (> 0) bytes, keeping its contents; returns the (possibly new) handle. */
  realloc(handle: number, size: number): number;
  /** Writes `value` (low 8 bits) to the first and the last byte of a live block of `size` bytes. */
  write(handle: number, size: number, value: number): void;
  /** Reads the byte at `offset` of a live block (tests and the verification pass; not timed). */
  read(handle: number, offset: number): number;
  /**
   * Bytes the subject holds from its memory right now (not timed). For the
   * garbage-collector subject this forces a collection, so the measuring pass
   * samples it only at the live peak (see {@link SubjectFactory.footprintAtPeakOnly}).
   */
  footprint(): number;
  /** The allocator's own consistency check, where it has one (tests; not timed). */
  check?(): void;
  /** Releases listeners and references; the subject is not used afterwards. */
  destroy(): void;
}

/** What a factory may size its arena from. */
export interface SubjectSizing {
  /** Which workload runs. */
  workload: WorkloadId;
  /** Most handles live at once. */
  maxLive: number;
  /** Highest sum of live block sizes in the op sequence. */
  peakLiveBytes: number;
  /** Largest single request. */
  maxSize: number;
}

/**
 * Linear memory every linear-memory subject reserves up front, and the most it
 * may grow to. No workload needs more than the reserve, so no run grows a
 * memory: the first detached buffer in a process (a wasm memory grows by
 * detaching its old buffer) makes V8 check for detachment on every
 * typed-array access of every subject from then on.
 */
export const RESERVED_BYTES = 256 << 20;
export const MAXIMUM_BYTES = 1 << 30;

/** Makes a fresh subject per run, so no run inherits another's fragmentation. */
export interface SubjectFactory {
  /** A fresh, empty subject. */
  create(sizing: SubjectSizing): Subject;
  /** A fresh subject for the untimed measuring pass, when it keeps books the timed one should not (default: create). */
  createForMeasuring?(sizing: SubjectSizing): Subject;
  /** How {@link Subject.footprint} is measured, shown under the table. */
  readonly footprintNote: string;
  /** True when footprint() is expensive and sampled only at the live peak. */
  readonly footprintAtPeakOnly?: boolean;
  /**
   * True when a subject does not return to its empty state once every block
   * is freed (so replaying the sequence again on it would drift), and each run
   * needs a fresh one.
   */
  readonly freshEachRun?: boolean;
  /** True when handles are indexes, not addresses (the GC subject): the measuring pass does not check their alignment. */
  readonly handlesAreIndexes?: boolean;
  /** True when blocks alias on purpose (the bare-loop baseline), so the measuring pass skips the data check. */
  readonly blocksAlias?: boolean;
  /** Cleanup after the whole benchmark (optional). */
  dispose?(): void;
}

/** Thrown by a subject's `load()` when its package is not built or does not export what the adapter needs yet. */
export class SubjectUnavailableError extends Error {
  override readonly name = "SubjectUnavailableError";
}

/** Reads a named export from a dynamically imported module, or explains why it is missing. */
export async function importExport<T>(specifier: string, exportName: string, load: () => Promise<unknown>): Promise<T> {
  let mod: unknown;
  try {
    mod = await load();
  } catch (cause) {
    const code = (cause as { code?: unknown } | undefined)?.code;
    const detail = code === "ERR_MODULE_NOT_FOUND" ? "no dist/ yet: npm run build" : cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    throw new SubjectUnavailableError(`not built yet: ${specifier} failed to load (${detail})`, { cause });
  }
  const value = (mod as Record<string, unknown>)[exportName];
  if (value === undefined) {
    throw new SubjectUnavailableError(`not built yet: ${specifier} does not export ${exportName} yet`);
  }
  return value as T;
}
