import {
  AddressSpace,
  Attachment,
  InvalidArgumentError,
  SharedLock,
  THREAD_SLOTS,
  ThreadState,
  ThreadTable,
  WASM_PAGE_BYTES,
  formatBytes,
  formatSize,
  type Allocator,
  type Ptr,
  type ThreadSeat,
} from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator, createRemoteRoutes } from "@memkit/generic-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import type { DebugAllocator } from "@memkit/debug-allocators";
import { BootstrapHeap } from "./bootstrap-heap.js";
import { debugLayer } from "./debug-layer.js";
import { MEMORY_ROOT_BYTES, MEMORY_ROOT_LAYOUT, readMemoryRoot, writeMemoryRoot } from "./memory-root.js";
import { NULL_GUARD_BYTES, type FrameOptions, type ResolvedOptions } from "./options.js";
import type { SavedMemory } from "./saved-memory.js";
import { TaggedPages } from "./tagged-pages.js";
import { Timeline, timelineBytes, type TimelineSources } from "./timeline.js";

/*
 * Address space laid out by MemoryGlobals.init:
 *
 *   0x0            NULL_GUARD_BYTES    + wasmStaticBytes       bootstrap end (page aligned)              maximumBytes
 *   +--------------+-------------------+-----------------------+-------------------------------------------+
 *   | null guard   | wasm static:      | bootstrap region:     | pages handed out by the page allocator    |
 *   | (never used) | modules' data and | memory root, page     | (heap spans, slabs, large blocks, arenas, |
 *   |              | stacks (option,   | allocator, frame and  |  the scope tree's tables)                 |
 *   |              | default 0 bytes)  | scratch control blocks| grows on demand ->                        |
 *   +--------------+-------------------+-----------------------+-------------------------------------------+
 *
 * Allocators, in construction order (shutdown runs it backwards):
 *
 *   pages ── generic (slots | heap | large spans) ── [debug: quarantine+fill+canary] ── root scope = default
 *     │                                                  (debug: the scopes' headers are   └─ scope("physics"), ...
 *     │                                                   guarded, inside the canaries)
 *     ├── scratch (chunks are page spans)
 *     └── frame   (arena chunks are page spans)
 *
 * The memory root (memory-root.ts) records every allocator's control block,
 * so restore() attaches them all again from it.
 *
 * A shared memory (docs/threads.md) also has, in the bootstrap region, a
 * thread table and the scope tree's lock, and a routes table leased from the
 * pages: each thread that attaches gets a seat in the table, its own generic
 * allocator (routed, so it frees any thread's blocks), its own frame and
 * scratch allocators, and handles on the shared page allocator and scope tree.
 */

/** The allocators of one memory and where its root is. */
export interface MemoryParts {
  space: AddressSpace;
  rootPtr: Ptr;
  bootstrap: BootstrapHeap;
  pages: PageAllocator;
  generic: GenericAllocator;
  debug: DebugAllocator | undefined;
  root: TraceAllocator;
  scratch: ScratchAllocator;
  frame: FrameAllocator;
  /** Shared memories: this thread's seat in the thread table, the tree lock and the routes table. */
  threads: SharedParts | undefined;
  /** The per-frame timeline ring (options.timeline), sampled by the thread that made or restored the memory. */
  timeline: Timeline | undefined;
}

/** What a shared memory adds to a thread's parts. */
export interface SharedParts {
  table: ThreadTable;
  seat: ThreadSeat;
  treeLock: SharedLock;
  routes: Ptr;
}

/** Log entries of the scope tree's lock: its sections write unlogged (the tree repairs itself after a dead holder), and a lock needs at least 2. */
export const TREE_LOCK_ENTRIES = 2;

/** Builds a new memory with `options`. */
export function createParts(options: ResolvedOptions): MemoryParts {
  const pageControl = PageAllocator.controlBytes(options.maximumBytes, options.pageSize);
  const sharedBytes = options.shared ? ThreadTable.bytes + SharedLock.bytes(TREE_LOCK_ENTRIES) + 16 : 0;
  const bootstrapBytes = options.bootstrapBytes ?? pageControl + 16 * 1024 + 16 + sharedBytes;
  // Modules' static data and stacks sit between the null guard and the bootstrap region (wasmStaticBytes).
  const bootstrapBase = NULL_GUARD_BYTES + options.wasmStaticBytes;
  const pagesStart = Math.ceil((bootstrapBase + bootstrapBytes) / options.pageSize) * options.pageSize;
  if (pagesStart + options.pageSize > options.maximumBytes) {
    throw new InvalidArgumentError(
      `MemoryGlobals.init: option bootstrapBytes (${formatBytes(bootstrapBytes)}) leaves no room for pages in a ${formatBytes(options.maximumBytes)} space; ` +
        `raise maximumBytes or lower bootstrapBytes.`,
    );
  }
  const space = AddressSpace.create({ initialBytes: options.initialBytes, maximumBytes: options.maximumBytes, shared: options.shared });
  const bootstrap = BootstrapHeap.create(space, bootstrapBase, bootstrapBytes);
  const rootPtr = bootstrap.carve(MEMORY_ROOT_BYTES, 8);
  const table = options.shared ? ThreadTable.create(space, bootstrap.carve(ThreadTable.bytes, 8)) : undefined;
  const seat = table?.claim(options.threadName);
  const pages = new PageAllocator(space, { pageSize: options.pageSize, controlPtr: bootstrap.carve(pageControl, 8), firstByte: pagesStart, thread: seat });
  const routes = options.shared ? createRemoteRoutes(pages) : 0;
  const generic = new GenericAllocator(pages, { name: "generic", routes, ...options.generic });
  const treeLock =
    table === undefined ? undefined : new SharedLock(space, bootstrap.carve(SharedLock.bytes(TREE_LOCK_ENTRIES), 8), TREE_LOCK_ENTRIES, { thread: seat, name: "scope tree" });
  let backing: Allocator = generic;
  let debug: DebugAllocator | undefined;
  if (options.debug) {
    // Debug layers sit under the scopes, so scopes count the sizes asked for;
    // they ask the root scope which scope and stack a broken block came from.
    debug = debugLayer().wrap(generic, { name: "debug" });
    backing = debug;
  }
  // With debug, every scope's header is guarded too: the canaries sit around the backing block, the header inside them.
  if (table !== undefined) noteOwners(table, seat!, generic);
  const root = new TraceAllocator(backing, {
    name: "root",
    tracing: options.tracing,
    sampleEvery: options.sampleEvery,
    guardHeaders: options.debug,
    ...(treeLock === undefined ? {} : { lock: treeLock, sharedBacking: true, threadOf: threadOfBlock(table!, pages) }),
  });
  debug?.setOriginSource(root);
  const scratchPages = new TaggedPages(pages, "scratch");
  const scratch = new ScratchAllocator(scratchPages, { name: "scratch", controlPtr: bootstrap.carve(ScratchAllocator.controlBytes(), 8) });
  const framePages = new TaggedPages(pages, "frame");
  const frame = new FrameAllocator(framePages, {
    name: "frame",
    arenas: options.frameArenas,
    debug: options.debug,
    controlPtr: bootstrap.carve(FrameAllocator.controlBytes(options.frameArenas), 8),
    ...options.frame,
  });
  const timeline = options.timeline === undefined ? undefined : createTimeline(pages, options.timeline, { root, pages, generic, frame, scratch });
  writeMemoryRoot(space, rootPtr, {
    initialBytes: options.initialBytes,
    maximumBytes: options.maximumBytes,
    pageSize: options.pageSize,
    shared: options.shared,
    debug: options.debug,
    tracing: options.tracing,
    sampleEvery: options.sampleEvery,
    frameArenas: options.frameArenas,
    bootstrapBase: bootstrap.base,
    bootstrapBytes,
    pages: pages.controlPtr,
    generic: generic.controlPtr,
    tree: root.controlPtr,
    frame: frame.controlPtr,
    scratch: scratch.controlPtr,
    frameOwner: framePages.ownerId,
    scratchOwner: scratchPages.ownerId,
    debugControl: debug?.controlPtr ?? 0,
    threads: table?.controlPtr ?? 0,
    routes,
    treeLock: treeLock?.ptr ?? 0,
    timeline: timeline?.ptr ?? 0,
  });
  const threads = table === undefined ? undefined : { table, seat: seat!, treeLock: treeLock!, routes };
  if (threads !== undefined) recordResources(threads, generic, frame, scratch);
  return { space, rootPtr, bootstrap, pages, generic, debug, root, scratch, frame, threads, timeline };
}

/** The timeline ring in a page span tagged "timeline" (the memory map names it). */
function createTimeline(pages: PageAllocator, size: { frames: number; scopes: number; leakWindow: number }, sources: TimelineSources): Timeline {
  const span = new TaggedPages(pages, "timeline").allocate(timelineBytes(size.frames, size.scopes), 64);
  return Timeline.create(pages.space, span, size, sources);
}

/** Notes `seat`'s thread as the one whose heap leases pages under `generic`'s three page-map owners. */
export function noteOwners(table: ThreadTable, seat: ThreadSeat, generic: GenericAllocator): void {
  table.setOwnerThread(generic.slots.ownerId, seat);
  table.setOwnerThread(generic.heap.ownerId, seat);
  table.setOwnerThread(generic.largeOwnerId, seat);
}

/** The slot of the thread whose heap holds the block at `ptr` (-1 for none): its page's owner, mapped by the thread table. */
export function threadOfBlock(table: ThreadTable, pages: PageAllocator): (ptr: Ptr) => number {
  return (ptr) => table.threadOfOwner(pages.tagOf(ptr) >>> 24);
}

/** Notes in this thread's seat which allocators are its own (a later thread adopts them once it ends). */
export function recordResources(threads: SharedParts, generic: GenericAllocator, frame: FrameAllocator, scratch: ScratchAllocator): void {
  threads.table.setResource(threads.seat, "heap", generic.controlPtr);
  threads.table.setResource(threads.seat, "frame", frame.controlPtr);
  threads.table.setResource(threads.seat, "scratch", scratch.controlPtr);
}

/** What a restore may set that a save cannot carry. */
export interface RestoreOptions {
  /** The restored memory's maximum; at least the saved image. @defaultValue the saved memory's maximum */
  maximumBytes?: number;
  /** Back the restored memory with a SharedArrayBuffer. @defaultValue as saved */
  shared?: boolean;
  /** The frame allocator's growth-warning handler (functions are not saved). */
  frame?: Pick<FrameOptions, "onFrameGrowth">;
}

/** Builds a memory from a checked save: copies the image back and attaches every allocator from the root. */
export function restoreParts(saved: SavedMemory, options: RestoreOptions): { parts: MemoryParts; settings: ReturnType<typeof readMemoryRoot> } {
  const image = saved.image.byteLength;
  const maximumBytes = options.maximumBytes ?? saved.maximumBytes;
  if (typeof maximumBytes !== "number" || !Number.isSafeInteger(maximumBytes) || maximumBytes % WASM_PAGE_BYTES !== 0 || maximumBytes < image) {
    throw new InvalidArgumentError(`MemoryGlobals.restore: option maximumBytes must be a multiple of 64 KiB of at least the saved ${formatSize(image)}, received ${String(maximumBytes)}.`);
  }
  const space = AddressSpace.create({
    initialBytes: Math.ceil(image / WASM_PAGE_BYTES) * WASM_PAGE_BYTES,
    maximumBytes,
    shared: options.shared ?? saved.shared,
  });
  space.u8.set(saved.image);
  const settings = readMemoryRoot(Attachment.open(space, saved.rootPtr, MEMORY_ROOT_LAYOUT, "MemoryGlobals.restore"));
  // Before anything attaches: a lean build without the debug allocators cannot restore a debug save.
  const layers = settings.debug ? debugLayer("MemoryGlobals.restore") : undefined;
  const bootstrap = BootstrapHeap.attach(space, settings.bootstrapBase);
  // A shared save: the threads it had are gone. Their heaps wait to be adopted (ENDED); this thread takes
  // a new seat and the heap the root records, whose old seat it releases.
  const table = settings.shared ? ThreadTable.attach(space, settings.threads) : undefined;
  const seat = table === undefined ? undefined : reseat(table, settings.generic);
  const pages = PageAllocator.attach(space, settings.pages, { name: "pages", thread: seat });
  const generic = GenericAllocator.attach(space, settings.generic, { pages, name: "generic" });
  const debug = layers?.attach(space, settings.debugControl, { backing: generic, name: "debug" });
  const treeLock = table === undefined ? undefined : new SharedLock(space, settings.treeLock, TREE_LOCK_ENTRIES, { thread: seat, name: "scope tree" });
  if (table !== undefined) noteOwners(table, seat!, generic);
  const root = TraceAllocator.attach(space, settings.tree, {
    backing: debug ?? generic,
    ...(treeLock === undefined ? {} : { lock: treeLock, threadOf: threadOfBlock(table!, pages) }),
  });
  // As at init: the layers ask the root scope which scope and stack a broken block came from.
  debug?.setOriginSource(root);
  const scratch = ScratchAllocator.attach(space, settings.scratch, { backing: new TaggedPages(pages, "scratch", settings.scratchOwner), name: "scratch" });
  const frame = FrameAllocator.attach(space, settings.frame, {
    backing: new TaggedPages(pages, "frame", settings.frameOwner),
    name: "frame",
    ...(options.frame?.onFrameGrowth === undefined ? {} : { onFrameGrowth: options.frame.onFrameGrowth }),
  });
  const threads = table === undefined ? undefined : { table, seat: seat!, treeLock: treeLock!, routes: settings.routes };
  if (threads !== undefined) recordResources(threads, generic, frame, scratch);
  const timeline = settings.timeline === 0 ? undefined : Timeline.attach(space, settings.timeline, { root, pages, generic, frame, scratch });
  return { parts: { space, rootPtr: saved.rootPtr, bootstrap, pages, generic, debug, root, scratch, frame, threads, timeline }, settings };
}

/**
 * After restoring a shared save, every seat it held belongs to a thread of
 * the process that saved: live ones are ended (their heaps become adoptable),
 * the seat whose heap is `mainHeap` is released (this thread re-owns that
 * heap), and this thread claims a new seat.
 */
function reseat(table: ThreadTable, mainHeap: Ptr): ThreadSeat {
  let name = "main";
  for (let slot = 0; slot < THREAD_SLOTS; slot++) {
    const state = table.stateOf(slot);
    if (state === ThreadState.FREE) continue;
    if (state === ThreadState.LIVE) table.declareDead(slot, table.generationOf(slot));
    if (table.resourceOf(slot, "heap") === mainHeap) {
      name = table.nameOf(slot);
      table.release(slot);
    }
  }
  return table.claim(name);
}
