import { AddressSpace, AllocatorError, InvalidArgumentError, LeakError, describe, destroyedError, formatBytes, type Allocator } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { TraceAllocator, formatReport, type ScopeReport, type TraceScopeOptions } from "@memkit/trace-allocator";
import { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import type { DebugAllocator } from "@memkit/debug-allocators";
import { debugLayer } from "./debug-layer.js";
import { BootstrapHeap } from "./bootstrap-heap.js";
import { NULL_GUARD_BYTES, resolveOptions, type MemoryGlobalsOptions, type ResolvedOptions } from "./options.js";
import { StageRecorder } from "./stages.js";
import { TaggedPages } from "./tagged-pages.js";
import { buildSnapshot } from "./snapshot.js";
import { mergeLeaks } from "./leaks.js";
import type { MemoryReport, StageReport } from "./memory-report.js";

/*
 * Address space laid out by MemoryGlobals.init:
 *
 *   0x0            NULL_GUARD_BYTES        bootstrap end (page aligned)              maximumBytes
 *   +--------------+-----------------------+-------------------------------------------+
 *   | null guard   | bootstrap heap:       | pages handed out by the page allocator    |
 *   | (never used) | page allocator's      | (heap spans, slabs, large blocks, arenas) |
 *   |              | control block         | grows on demand ->                         |
 *   +--------------+-----------------------+-------------------------------------------+
 *
 * Allocators, in construction order (shutdown runs it backwards):
 *
 *   pages ── generic (slots | heap | large spans) ── [debug: quarantine+fill+canary] ── root scope = default
 *     │                                                  (debug: the scopes' headers are   └─ scope("physics"), ...
 *     │                                                   guarded, inside the canaries)
 *     ├── scratch (chunks are page spans)
 *     └── frame   (arena chunks are page spans)
 */

let current: MemoryGlobals | undefined;

/**
 * The engine's memory, built once at start and torn down once at exit, in
 * explicit order. Everything engine code allocates goes through `default`,
 * a named `scope()`, `frame` or `scratch`.
 */
export class MemoryGlobals {
  /** The options in force, with defaults applied. */
  readonly options: ResolvedOptions;
  #space: AddressSpace;
  #bootstrap: BootstrapHeap;
  #pages: PageAllocator;
  #generic: GenericAllocator;
  #debug: DebugAllocator | undefined;
  #root: TraceAllocator;
  #scratch: ScratchAllocator;
  #frame: FrameAllocator;
  #stages: StageRecorder;
  #frameNumber = 0;
  #alive = true;
  #finalReport: ScopeReport | undefined;

  private constructor(options: ResolvedOptions) {
    this.options = options;
    const pageControl = PageAllocator.controlBytes(options.maximumBytes, options.pageSize);
    const bootstrapBytes = options.bootstrapBytes ?? pageControl + 16 * 1024 + 16;
    const pagesStart = Math.ceil((NULL_GUARD_BYTES + bootstrapBytes) / options.pageSize) * options.pageSize;
    if (pagesStart + options.pageSize > options.maximumBytes) {
      throw new InvalidArgumentError(
        `MemoryGlobals.init: option bootstrapBytes (${formatBytes(bootstrapBytes)}) leaves no room for pages in a ${formatBytes(options.maximumBytes)} space; ` +
          `raise maximumBytes or lower bootstrapBytes.`,
      );
    }
    this.#space = AddressSpace.create({ initialBytes: options.initialBytes, maximumBytes: options.maximumBytes, shared: options.shared });
    this.#bootstrap = BootstrapHeap.create(this.#space, NULL_GUARD_BYTES, bootstrapBytes);
    const controlPtr = this.#bootstrap.carve(pageControl, 8);
    this.#pages = new PageAllocator(this.#space, { pageSize: options.pageSize, controlPtr, firstByte: pagesStart });
    this.#generic = new GenericAllocator(this.#pages, { name: "generic", ...options.generic });
    let backing: Allocator = this.#generic;
    if (options.debug) {
      // Debug layers sit under the scopes, so scopes count the sizes asked for;
      // they ask the root scope which scope and stack a broken block came from.
      this.#debug = debugLayer()(this.#generic, { name: "debug" });
      backing = this.#debug;
    }
    // With debug, every scope's header is guarded too: the canaries sit around the backing block, the header inside them.
    this.#root = new TraceAllocator(backing, { name: "root", tracing: options.tracing, sampleEvery: options.sampleEvery, guardHeaders: options.debug });
    this.#debug?.setOriginSource(this.#root);
    this.#scratch = new ScratchAllocator(new TaggedPages(this.#pages, "scratch"), { name: "scratch" });
    this.#frame = new FrameAllocator(new TaggedPages(this.#pages, "frame"), { name: "frame", arenas: options.frameArenas, debug: options.debug, ...options.frame });
    this.#stages = new StageRecorder();
  }

  /**
   * Builds the engine's memory. Throws InvalidArgumentError naming a bad
   * option, and an AllocatorError when memory is already initialised.
   */
  static init(options: MemoryGlobalsOptions = {}): MemoryGlobals {
    if (current !== undefined) {
      throw new AllocatorError("MemoryGlobals.init: memory is already initialised; call shutdown() on the current instance first.");
    }
    const globals = new MemoryGlobals(resolveOptions(options));
    current = globals;
    return globals;
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

  /** Frames started with {@link beginFrame}. */
  get frameNumber(): number {
    return this.#frameNumber;
  }

  /**
   * A named child scope of the root (`using physics = memory.scope("physics")`).
   * Options: `budget`, `tracing`, `sampleEvery`, `backing`. Names are unique among siblings.
   */
  scope(name: string, options: TraceScopeOptions = {}): TraceAllocator {
    this.#assertAlive("scope");
    return this.#root.child(name, options);
  }

  /** Starts a frame: recycles the oldest frame arena and stamps the scopes' frame counter (peaks remember their frame). */
  beginFrame(): void {
    this.#assertAlive("beginFrame");
    this.#frame.beginFrame();
    this.#root.markFrame(++this.#frameNumber);
  }

  /** Starts a stage ("load", "play", "unload"): every scope's peak restarts from its current use. */
  beginStage(name: string): void {
    this.#assertAlive("beginStage");
    this.#stages.begin(name, this.#frameNumber, this.#root);
  }

  /** Ends the current stage and records each scope's peak during it. Returns that record. */
  endStage(): StageReport {
    this.#assertAlive("endStage");
    return this.#stages.end(this.#frameNumber, this.#root);
  }

  /** Stage records so far. */
  get stages(): readonly StageReport[] {
    return this.#stages.done;
  }

  /** The scope tree as JSON. After shutdown, the tree as it was at shutdown. */
  report(): ScopeReport {
    if (!this.#alive) {
      if (this.#finalReport === undefined) this.#assertAlive("report");
      return this.#finalReport!;
    }
    return this.#root.report();
  }

  /** The scope tree as aligned text. After shutdown, the tree as it was at shutdown. */
  formatReport(): string {
    return formatReport(this.report());
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
      frameNumber: this.#frameNumber,
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
    this.#debug?.check();
    this.#generic.check();
    this.#pages.check();
    this.#root.check();
    this.#frame.check();
    this.#scratch.check();
    // Scratch marks are function-scoped: one still held where check() runs (between frames or stages) was never released.
    this.#scratch.assertReleased();
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
    this.#alive = false;
    if (current === this) current = undefined;
    let leak: LeakError | undefined;
    let failure: Error | undefined;
    const step = (run: () => void): void => {
      try {
        run();
      } catch (err) {
        if (err instanceof LeakError) leak = leak === undefined ? err : mergeLeaks(leak, err);
        else failure ??= err instanceof Error ? err : new AllocatorError(`MemoryGlobals.shutdown: a teardown step threw ${describe(err)}.`);
      }
    };
    step(() => (this.#finalReport = this.#root.report()));
    step(() => {
      disposeDeepestFirst(this.#root);
      this.#root.dispose();
    });
    step(() => this.#frame.destroy());
    step(() => this.#scratch.assertReleased());
    step(() => this.#scratch.destroy());
    // The scope tree's own state is leased from the debug layer (or generic): it goes before them.
    step(() => this.#root.destroy());
    step(() => this.#debug?.destroy());
    step(() => this.#generic.destroy());
    step(() => this.#pages.destroy());
    if (leak !== undefined) throw leak;
    if (failure !== undefined) throw failure;
  }

  #assertAlive(what: string): void {
    if (!this.#alive) throw destroyedError(`MemoryGlobals.${what}`, "this memory was shut down", "call MemoryGlobals.init() again for a new one.");
  }
}

/** Disposes every descendant scope that holds nothing, children before parents; scopes with leaks stay for the root's report. */
function disposeDeepestFirst(scope: TraceAllocator): void {
  for (const child of [...scope.children]) {
    disposeDeepestFirst(child);
    try {
      child.dispose();
    } catch (err) {
      if (!(err instanceof LeakError)) throw err;
    }
  }
}
