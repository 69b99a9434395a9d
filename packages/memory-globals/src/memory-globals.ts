import { AllocatorError, InvalidArgumentError, describe, destroyedError, type AddressSpace, type Ptr } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import type { GenericAllocator } from "@memkit/generic-allocator";
import { formatReport, type ScopeReport, type TraceAllocator, type TraceScopeOptions } from "@memkit/trace-allocator";
import type { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import type { DebugAllocator } from "@memkit/debug-allocators";
import type { BootstrapHeap } from "./bootstrap-heap.js";
import { createParts, restoreParts, threadOfBlock, type MemoryParts, type RestoreOptions, type SharedParts } from "./assemble.js";
import { attachParts, type MemoryAttachOptions, type MemoryShare } from "./thread-attach.js";
import { formatThreads, liveOtherThreads, threadFigures, threadEnded, type ThreadReport } from "./threads.js";
import { namedRoot, namedRoots, rootFrameNumber, setNamedRoot, setRootFrameNumber } from "./memory-root.js";
import { NULL_GUARD_BYTES, resolveOptions, type MemoryGlobalsOptions, type ResolvedOptions } from "./options.js";
import { decodeSave, encodeSave } from "./saved-memory.js";
import { StageRecorder } from "./stages.js";
import { buildSnapshot } from "./snapshot.js";
import { createWasmImports, type WasmImportOptions, type WasmImports, type WasmStaticClaims } from "./wasm-imports.js";
import { detachThread, tearDown } from "./teardown.js";
import { AllocRecorder } from "./alloc-recorder.js";
import { readTimeline, type TimelineReport } from "./timeline-report.js";
import type { MemoryReport, StageReport } from "./memory-report.js";

let current: MemoryGlobals | undefined;

function assertNoneCurrent(what: string): void {
  if (current !== undefined) {
    throw new AllocatorError(`MemoryGlobals.${what}: memory is already initialised; call shutdown() on the current instance first.`);
  }
}

/**
 * The engine's memory, built once at start and torn down once at exit, in
 * explicit order. Everything engine code allocates goes through `default`,
 * a named `scope()`, `frame` or `scratch`.
 */
export class MemoryGlobals {
  /** The options in force, with defaults applied. */
  readonly options: ResolvedOptions;
  #space: AddressSpace;
  #rootPtr: Ptr;
  #bootstrap: BootstrapHeap;
  #pages: PageAllocator;
  #generic: GenericAllocator;
  #debug: DebugAllocator | undefined;
  #root: TraceAllocator;
  #scratch: ScratchAllocator;
  #frame: FrameAllocator;
  #stages: StageRecorder;
  #threads: SharedParts | undefined;
  #alive = true;
  #detached = false;
  #finalReport: ScopeReport | undefined;
  #wasmStatic: WasmStaticClaims | undefined;
  #finalTimeline: TimelineReport | undefined;
  readonly #parts: MemoryParts;
  #recorder: AllocRecorder | undefined;

  private constructor(options: ResolvedOptions, parts: MemoryParts, stages: StageRecorder) {
    this.options = options;
    this.#parts = parts;
    this.#space = parts.space;
    this.#rootPtr = parts.rootPtr;
    this.#bootstrap = parts.bootstrap;
    this.#pages = parts.pages;
    this.#generic = parts.generic;
    this.#debug = parts.debug;
    this.#root = parts.root;
    this.#scratch = parts.scratch;
    this.#frame = parts.frame;
    this.#threads = parts.threads;
    this.#stages = stages;
  }

  /**
   * Builds the engine's memory. Throws InvalidArgumentError naming a bad
   * option, and an AllocatorError when memory is already initialised.
   */
  static init(options: MemoryGlobalsOptions = {}): MemoryGlobals {
    assertNoneCurrent("init");
    const resolved = resolveOptions(options);
    const globals = new MemoryGlobals(resolved, createParts(resolved), new StageRecorder());
    current = globals;
    if (resolved.record) globals.startRecording();
    return globals;
  }

  /**
   * A memory exactly as {@link save} left it, in a new address space: every
   * allocator, scope, block and pointer where it was (in this process or
   * another). The save's version and integrity are checked first: a
   * truncated, changed or foreign file is a CorruptionError and nothing is
   * built. Then every allocator attaches to its control block through the
   * memory root and the whole memory is checked. Call stacks captured
   * before the save print as "not captured in this thread"; hooks (budget
   * warnings, the frame-growth handler) are this process's: pass them again.
   */
  static restore(bytes: Uint8Array, options: RestoreOptions = {}): MemoryGlobals {
    assertNoneCurrent("restore");
    if (typeof options !== "object" || options === null) {
      throw new InvalidArgumentError(`MemoryGlobals.restore: options must be an object, received ${describe(options)}.`);
    }
    const saved = decodeSave(bytes);
    const { parts, settings } = restoreParts(saved, options);
    const resolved: ResolvedOptions = {
      initialBytes: settings.initialBytes,
      maximumBytes: parts.space.maximumBytes,
      shared: parts.space.shared,
      threadName: parts.threads === undefined ? "main" : parts.threads.table.nameOf(parts.threads.seat.slot),
      pageSize: settings.pageSize,
      bootstrapBytes: settings.bootstrapBytes,
      wasmStaticBytes: settings.bootstrapBase - NULL_GUARD_BYTES,
      tracing: settings.tracing,
      sampleEvery: settings.sampleEvery,
      debug: settings.debug,
      frameArenas: settings.frameArenas,
      generic: { smallMax: parts.generic.smallMax, smallAlignMax: parts.generic.smallAlignMax, largeThreshold: parts.generic.largeThreshold },
      frame: options.frame ?? {},
      timeline: parts.timeline === undefined ? undefined : { frames: parts.timeline.frames, scopes: parts.timeline.columns, leakWindow: parts.timeline.leakWindow },
      record: false,
    };
    const globals = new MemoryGlobals(resolved, parts, StageRecorder.fromJSON((saved.note as { stages?: unknown } | null)?.stages));
    globals.#checkStructures();
    current = globals;
    return globals;
  }

  /**
   * This thread's view of a shared memory another thread made with
   * `init({ shared: true })` and sent here with `memory.share()`
   * (docs/threads.md). The page allocator and the scopes are the same ones
   * (`openScope(path)` gives a handle on a scope that exists); the generic
   * allocator below the scopes is this thread's own (a thread that ended
   * leaves its heap to the next one), and so are `frame` and `scratch`. Call
   * {@link detach} when the thread is done. Throws InvalidArgumentError for
   * anything that is not a share, and OutOfMemoryError when 64 threads are
   * attached already.
   */
  static attach(share: MemoryShare, options: MemoryAttachOptions): MemoryGlobals {
    assertNoneCurrent("attach");
    const { parts, resolved } = attachParts(share, options);
    const globals = new MemoryGlobals(resolved, parts, new StageRecorder());
    current = globals;
    return globals;
  }

  /**
   * What a worker needs to attach to this memory: `worker.postMessage(memory.share())`,
   * then `MemoryGlobals.attach(share, { threadName })` there. Structured-clonable
   * (the shared WebAssembly.Memory and two numbers). InvalidArgumentError on a
   * memory made without `shared: true`.
   */
  share(): MemoryShare {
    this.#assertAlive("share");
    if (this.#threads === undefined) {
      throw new InvalidArgumentError(
        "memory.share: this memory is not shared: its buffer is an ArrayBuffer, which another thread cannot see.\n" +
          "  Create it with MemoryGlobals.init({ shared: true }) (browsers also need cross-origin isolation for SharedArrayBuffer).",
      );
    }
    return { memory: this.#space.memory, rootPtr: this.#rootPtr, maximumBytes: this.#space.maximumBytes };
  }

  /**
   * Ends this thread's part in a shared memory: the blocks other threads gave
   * back to its heap are collected, its frame and scratch allocators are
   * destroyed, its seat is ended and every handle it held is detached. Its
   * heap stays, with every block still live in it (owned by their scopes):
   * the next thread that attaches adopts it. Later calls throw DestroyedError.
   * On the thread that called init, use shutdown() instead.
   */
  detach(): void {
    this.#assertAlive("detach");
    if (this.#threads === undefined) throw new InvalidArgumentError("memory.detach: this memory is not shared: there is nothing to detach from; call shutdown() to end it.");
    detachThread(this.#parts, this.#threads);
    this.#alive = false;
    this.#detached = true;
    if (current === this) current = undefined;
  }

  /**
   * Declares the thread named `threadName` dead: call it once a worker was
   * terminated (`await worker.terminate()`, or its "exit" event), so the locks
   * it may have held are taken over (its half-done changes undone or repaired)
   * and its heap can be adopted. Returns false when no live thread has that
   * name. Never call it for a thread that still runs.
   */
  threadEnded(threadName: string): boolean {
    this.#assertAlive("threadEnded");
    return this.#threads === undefined ? false : threadEnded(this.#threads.table, threadName);
  }

  /** Every thread of a shared memory with its figures (live bytes and high-water mark of what it allocated); empty for a private memory. */
  threads(): ThreadReport[] {
    this.#assertAlive("threads");
    return this.#threads === undefined ? [] : threadFigures(this.#threads.table, this.#root, threadOfBlock(this.#threads.table, this.#pages));
  }

  /** The live instance, or undefined between shutdown and the next init. */
  static get current(): MemoryGlobals | undefined {
    return current;
  }

  /** The one linear address space. */
  get space(): AddressSpace {
    this.#assertAlive("space");
    return this.#space;
  }

  /** The static region the first control blocks are carved from. */
  get bootstrap(): BootstrapHeap {
    this.#assertAlive("bootstrap");
    return this.#bootstrap;
  }

  /** Page spans: the layer every other allocator leases from. */
  get pages(): PageAllocator {
    this.#assertAlive("pages");
    return this.#pages;
  }

  /** The generic allocator itself, below the scopes (and the debug layers). Allocate through `default` or a scope instead. */
  get generic(): GenericAllocator {
    this.#assertAlive("generic");
    return this.#generic;
  }

  /** The debug layers (canary + fill + quarantine) when `debug: true`, else undefined. */
  get debugLayer(): DebugAllocator | undefined {
    this.#assertAlive("debugLayer");
    return this.#debug;
  }

  /** The default allocator: the root trace scope "root" over the generic allocator. */
  get default(): TraceAllocator {
    this.#assertAlive("default");
    return this.#root;
  }

  /** Per-frame temp memory: valid through `frameArenas` frames; `beginFrame()` recycles the oldest arena. */
  get frame(): FrameAllocator {
    this.#assertAlive("frame");
    return this.#frame;
  }

  /** Scratch stack: `mark()`, allocate, `release(mark)`. */
  get scratch(): ScratchAllocator {
    this.#assertAlive("scratch");
    return this.#scratch;
  }

  /** False after {@link shutdown}. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Frames started with {@link beginFrame} (kept in the memory root, so a restore carries on counting). */
  get frameNumber(): number {
    return rootFrameNumber(this.#space.u32, this.#rootPtr);
  }

  /** Where the memory root lives: the control block every allocator of this memory is reached from. */
  get rootPtr(): Ptr {
    this.#assertAlive("rootPtr");
    return this.#rootPtr;
  }

  /**
   * A named child scope of the root (`using physics = memory.scope("physics")`).
   * Options: `budget`, `tracing`, `sampleEvery`, `backing`. Names are unique among siblings.
   */
  scope(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    this.#assertAlive("scope");
    return this.#root.child(name, options);
  }

  /**
   * A handle on a scope that already exists, by its path under the root
   * (`"physics"`, `"level/streaming"`): after a restore, the scopes the
   * program had are there again. Throws InvalidArgumentError when no live
   * scope has that path.
   */
  openScope(path: string): TraceAllocator {
    this.#assertAlive("openScope");
    return this.#root.openScope(path);
  }

  /** A WebAssembly module's C heap in scope `scopeName` (the live one, else a new one): `WebAssembly.instantiate(bytes, memory.wasmImports("audio"))`. See wasm-imports.ts and the README. */
  wasmImports(scopeName: string, options: WasmImportOptions = {}): WasmImports {
    this.#assertAlive("wasmImports");
    this.#wasmStatic ??= { region: { start: NULL_GUARD_BYTES, end: this.#bootstrap.base }, claims: [] };
    return createWasmImports(this.#root, this.#space, this.#wasmStatic, scopeName, options);
  }

  /**
   * Keeps `ptr` under `name` in the memory root (up to 16 names of 1..28
   * bytes of UTF-8), so a program finds its own state again after a restore:
   * `memory.setRoot("game", game.persist())`, then `memory.root("game")`.
   * `ptr` 0 removes the name. Plain bookkeeping: the block stays its owner's.
   */
  setRoot(name: string, ptr: Ptr): void {
    this.#assertAlive("setRoot");
    setNamedRoot(this.#space, this.#rootPtr, "MemoryGlobals.setRoot", name, ptr);
  }

  /** The pointer kept under `name` by {@link setRoot}, or 0. */
  root(name: string): Ptr {
    this.#assertAlive("root");
    return namedRoot(this.#space, this.#rootPtr, "MemoryGlobals.root", name);
  }

  /** Every named root. */
  roots(): { name: string; ptr: Ptr }[] {
    this.#assertAlive("roots");
    return namedRoots(this.#space, this.#rootPtr);
  }

  /**
   * The used part of the address space, byte for byte, with what restoring
   * needs (the memory root, the maximum, the stage records) and two hashes:
   * hand it to {@link MemoryGlobals.restore}, here or in another process.
   * Everything memkit keeps is in it — allocators, scopes, counters, block
   * records, containers' blocks and descriptors (persist() them first),
   * named roots. Not in it: JS objects (re-made on restore), call-stack
   * texts, hooks. With `debug: true` the debug layers' state is in it too
   * (guards, fills, quarantine, free history), so a restored memory keeps
   * finding overruns and double frees.
   */
  save(): Uint8Array {
    this.#assertAlive("save");
    if (this.#threads !== undefined) {
      const others = liveOtherThreads(this.#threads.table, this.#threads.seat);
      if (others.length > 0) {
        throw new InvalidArgumentError(`memory.save: ${others.length} other thread(s) are attached (${others.join(", ")}): they could change the memory while it is copied. Save after they detach.`);
      }
    }
    const imageBytes = this.#pages.range.end;
    return encodeSave(this.#space.u8, imageBytes, {
      maximumBytes: this.#space.maximumBytes,
      rootPtr: this.#rootPtr,
      shared: this.#space.shared,
      note: { stages: this.#stages.toJSON() },
    });
  }

  /** Starts a frame: recycles the oldest frame arena and stamps the scopes' frame counter (peaks remember their frame). */
  beginFrame(): void {
    this.#assertAlive("beginFrame");
    const ended = rootFrameNumber(this.#space.u32, this.#rootPtr);
    // The sample of the frame that ends, before its arena is recycled (cold: reads the rows and stats).
    this.#parts.timeline?.sample(ended);
    this.#frame.beginFrame();
    const frame = ended + 1;
    setRootFrameNumber(this.#space.u32, this.#rootPtr, frame);
    this.#root.markFrame(frame);
  }

  /** Starts the allocation log (alloc-log.ts): every allocate, free and reallocate of this thread's scopes, with scope, size, alignment and frame. */
  startRecording(): void {
    this.#assertAlive("startRecording");
    this.#recorder = AllocRecorder.start(this.#space, () => this.frameNumber);
  }

  /** Stops the allocation log and returns its bytes (`memreport replay` reads them); after shutdown, the log shutdown ended. InvalidArgumentError when there is none. */
  stopRecording(label = "memkit"): Uint8Array {
    const recorder = this.#recorder;
    if (recorder === undefined) throw new InvalidArgumentError("memory.stopRecording: no recording is running; call startRecording() (or init({ record: true })) first.");
    this.#recorder = undefined;
    return recorder.stop(label, this.options.tracing);
  }

  /** Starts a stage ("load", "play", "unload"): every scope's peak restarts from its current use, and so does this thread's. */
  beginStage(name: string): void {
    this.#assertAlive("beginStage");
    this.#stages.begin(name, this.frameNumber, this.#root);
    this.#root.resetThreadPeak();
  }

  /** On a shared memory: this thread's high-water mark (see {@link threads}) restarts from its live bytes. */
  resetThreadPeak(): void {
    this.#assertAlive("resetThreadPeak");
    this.#root.resetThreadPeak();
  }

  /** Ends the current stage and records each scope's peak during it. Returns that record. */
  endStage(): StageReport {
    this.#assertAlive("endStage");
    return this.#stages.end(this.frameNumber, this.#root);
  }

  /** Stage records so far. */
  get stages(): readonly StageReport[] {
    return this.#stages.done;
  }

  /**
   * The per-frame samples of every scope and allocator, oldest first, when
   * the memory keeps a timeline (`init({ timeline: true })`), else undefined.
   * After shutdown, the timeline as it was at shutdown.
   */
  timeline(): TimelineReport | undefined {
    if (!this.#alive) {
      if (this.#finalReport === undefined) this.#assertAlive("timeline");
      return this.#finalTimeline;
    }
    return this.#parts.timeline === undefined ? undefined : readTimeline(this.#parts.timeline);
  }

  /** The scope tree as JSON. After shutdown, the tree as it was at shutdown. */
  report(): ScopeReport {
    if (!this.#alive) {
      if (this.#finalReport === undefined) this.#assertAlive("report");
      return this.#finalReport!;
    }
    return this.#root.report();
  }

  /** The scope tree as aligned text (on a shared memory, then every thread's figures). After shutdown, the tree as it was at shutdown. */
  formatReport(): string {
    const text = formatReport(this.report());
    return this.#alive && this.#threads !== undefined ? `${text}\n${formatThreads(this.threads())}` : text;
  }

  /** Everything tools/memreport draws: scopes, stages, folded stacks, allocator figures and the page map. */
  snapshot(label = "memkit"): MemoryReport {
    this.#assertAlive("snapshot");
    return buildSnapshot(label, {
      options: this.options,
      space: this.#space,
      bootstrap: this.#bootstrap,
      pages: this.#pages,
      generic: this.#generic,
      root: this.#root,
      frame: this.#frame,
      scratch: this.#scratch,
      stages: this.#stages.done,
      frameNumber: this.frameNumber,
      threads: this.#threads === undefined ? undefined : this.threads(),
      timeline: this.timeline(),
    });
  }

  /**
   * Runs every check there is — debug guards and quarantine, the heap and
   * slot invariants, the page map, the scope tables, the temp arenas — and
   * throws CorruptionError at the first fault; then LeakError when a scratch
   * mark is still held (call it between frames or stages, outside any mark).
   */
  check(): void {
    this.#assertAlive("check");
    this.#checkStructures();
    // Scratch marks are function-scoped: one still held where check() runs (between frames or stages) was never released.
    this.#scratch.assertReleased();
  }

  #checkStructures(): void {
    this.#bootstrap.check();
    this.#debug?.check();
    this.#generic.check();
    this.#pages.check();
    this.#root.check();
    this.#frame.check();
    this.#scratch.check();
    this.#parts.timeline?.check();
  }

  /**
   * Disposes every scope (deepest first) and tears the allocators down in
   * reverse order. Throws one LeakError covering every scope that still holds
   * memory and any scratch mark or block still held (or the first other error
   * a teardown step hit); the memory is shut
   * down either way, and `report()` still returns the tree as it was.
   */
  shutdown(): void {
    this.#assertAlive("shutdown");
    if (this.#threads !== undefined) {
      const others = liveOtherThreads(this.#threads.table, this.#threads.seat);
      if (others.length > 0) {
        throw new AllocatorError(
          `MemoryGlobals.shutdown: ${others.length} other thread(s) are still attached (${others.join(", ")}). ` +
            `Have each call memory.detach() (or declare a terminated one with memory.threadEnded(name)) first.`,
        );
      }
    }
    this.#alive = false;
    if (current === this) current = undefined;
    this.#recorder?.end();
    tearDown(
      this.#parts,
      (report) => (this.#finalReport = report),
      () => (this.#finalTimeline = this.#parts.timeline === undefined ? undefined : readTimeline(this.#parts.timeline)),
    );
  }

  #assertAlive(what: string): void {
    if (this.#detached) throw destroyedError(`MemoryGlobals.${what}`, "this thread detached from the memory", "attach again with MemoryGlobals.attach(share, { threadName }).");
    if (!this.#alive) throw destroyedError(`MemoryGlobals.${what}`, "this memory was shut down", "call MemoryGlobals.init() again for a new one.");
  }
}
