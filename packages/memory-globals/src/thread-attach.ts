import {
  AddressSpace,
  Attachment,
  CorruptionError,
  InvalidArgumentError,
  SharedLock,
  THREAD_SLOTS,
  ThreadState,
  ThreadTable,
  describe,
  type Ptr,
  type ThreadSeat,
} from "@memkit/core";
import { GenericAllocator } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import { BootstrapHeap } from "./bootstrap-heap.js";
import { TREE_LOCK_ENTRIES, noteOwners, recordResources, threadOfBlock, type MemoryParts, type SharedParts } from "./assemble.js";
import { MEMORY_ROOT_LAYOUT, readMemoryRoot, type MemoryRootRecord } from "./memory-root.js";
import { NULL_GUARD_BYTES, type FrameOptions, type GenericPolicyOptions, type ResolvedOptions } from "./options.js";
import { TaggedPages } from "./tagged-pages.js";

/*
 * A thread joining a shared memory (docs/threads.md): `MemoryGlobals.attach`
 * builds this thread's parts from what `memory.share()` sent it. The page
 * allocator and the scope tree are shared (handles on the same control
 * blocks, under their locks); the generic allocator is this thread's own —
 * adopted from a thread that ended, when there is one, else new — and so are
 * the frame and scratch allocators.
 */

/** What `memory.share()` returns and a worker hands to `MemoryGlobals.attach`: structured-clonable. */
export interface MemoryShare {
  /** The shared WebAssembly.Memory. */
  readonly memory: WebAssembly.Memory;
  /** The memory root's address. */
  readonly rootPtr: Ptr;
  /** The memory's maximum in bytes (JS cannot read it back from the Memory). */
  readonly maximumBytes: number;
}

/** Options for `MemoryGlobals.attach`. */
export interface MemoryAttachOptions {
  /** This thread's name in the thread table (reports, `threadEnded`): 1 to 28 bytes of UTF-8. */
  threadName: string;
  /** This thread's generic allocator's size thresholds when it gets a new one. @defaultValue the generic allocator's defaults */
  generic?: GenericPolicyOptions;
  /** This thread's frame allocator's growth warning. */
  frame?: FrameOptions;
}

/** Checks `share` (what memory.share() made) and `options`: InvalidArgumentError saying what is wrong. */
function checkShare(share: unknown, options: unknown): asserts share is MemoryShare {
  const s = share as Partial<MemoryShare> | null;
  if (typeof s !== "object" || s === null || !(s.memory instanceof WebAssembly.Memory) || typeof s.rootPtr !== "number" || typeof s.maximumBytes !== "number") {
    throw new InvalidArgumentError(`MemoryGlobals.attach: expected what memory.share() returned ({ memory, rootPtr, maximumBytes }), received ${describe(share)}.`);
  }
  if (!(typeof SharedArrayBuffer !== "undefined" && s.memory.buffer instanceof SharedArrayBuffer)) {
    throw new InvalidArgumentError("MemoryGlobals.attach: the memory is not shared; only a memory made with MemoryGlobals.init({ shared: true }) can be attached from another thread.");
  }
  const o = options as Partial<MemoryAttachOptions> | null;
  if (typeof o !== "object" || o === null || typeof o.threadName !== "string" || o.threadName.length === 0) {
    throw new InvalidArgumentError(`MemoryGlobals.attach: options must name this thread ({ threadName: "jobs-1" }), received ${describe(options)}.`);
  }
}

/** This thread's parts of the shared memory `share`, with a seat named `options.threadName`, and the options in force. */
export function attachParts(share: unknown, options: MemoryAttachOptions): { parts: MemoryParts; resolved: ResolvedOptions } {
  checkShare(share, options);
  const space = AddressSpace.attach(share.memory, { maximumBytes: share.maximumBytes });
  const settings = readMemoryRoot(Attachment.open(space, share.rootPtr, MEMORY_ROOT_LAYOUT, "MemoryGlobals.attach"));
  if (!settings.shared) throw new CorruptionError(`MemoryGlobals.attach: the memory root at ${share.rootPtr} says the memory is not shared, but its buffer is.`);
  const table = ThreadTable.attach(space, settings.threads);
  const seat = table.claim(options.threadName);
  try {
    const bootstrap = BootstrapHeap.attach(space, settings.bootstrapBase);
    const pages = PageAllocator.attach(space, settings.pages, { name: "pages", thread: seat });
    const generic = adoptHeap(table, space, pages, seat) ?? new GenericAllocator(pages, { name: "generic", routes: settings.routes, ...options.generic });
    const treeLock = new SharedLock(space, settings.treeLock, TREE_LOCK_ENTRIES, { thread: seat, name: "scope tree" });
    noteOwners(table, seat, generic);
    const root = TraceAllocator.attach(space, settings.tree, { backing: generic, lock: treeLock, threadOf: threadOfBlock(table, pages) });
    const scratch = new ScratchAllocator(new TaggedPages(pages, "scratch", settings.scratchOwner), { name: "scratch" });
    const frame = new FrameAllocator(new TaggedPages(pages, "frame", settings.frameOwner), { name: "frame", arenas: settings.frameArenas, ...options.frame });
    const threads: SharedParts = { table, seat, treeLock, routes: settings.routes };
    recordResources(threads, generic, frame, scratch);
    // The timeline is sampled by the thread that made the memory; this thread keeps none.
    const parts: MemoryParts = { space, rootPtr: share.rootPtr, bootstrap, pages, generic, debug: undefined, root, scratch, frame, threads, timeline: undefined };
    return { parts, resolved: attachedOptions(settings, parts, options) };
  } catch (err) {
    table.endSeat(seat);
    throw err;
  }
}

/** The options an attached thread runs with: the memory's settings, this thread's name, generic and frame options. */
function attachedOptions(settings: MemoryRootRecord, parts: MemoryParts, options: MemoryAttachOptions): ResolvedOptions {
  return {
    initialBytes: settings.initialBytes,
    maximumBytes: parts.space.maximumBytes,
    shared: true,
    threadName: options.threadName,
    pageSize: settings.pageSize,
    bootstrapBytes: settings.bootstrapBytes,
    wasmStaticBytes: settings.bootstrapBase - NULL_GUARD_BYTES,
    tracing: settings.tracing,
    sampleEvery: settings.sampleEvery,
    debug: false,
    frameArenas: settings.frameArenas,
    generic: { smallMax: parts.generic.smallMax, smallAlignMax: parts.generic.smallAlignMax, largeThreshold: parts.generic.largeThreshold },
    frame: options.frame ?? {},
    timeline: undefined,
    record: false,
  };
}

/**
 * The generic allocator of a thread that ended (detached, or declared dead),
 * taken over by this one: the first such seat this thread manages to release
 * (a compare-and-swap, so two joining threads never adopt one heap). Its
 * frame and scratch allocators are destroyed (temp memory dies with its
 * thread), the blocks other threads gave back are collected, and the heap is
 * checked: a heap its thread left broken (it died mid-operation) stays where
 * it is, fenced off, and the next ended seat is tried. Undefined when none.
 * The ended thread's page-map owners become `seat`'s in both cases, so its
 * blocks never count for the freed slot.
 */
function adoptHeap(table: ThreadTable, space: AddressSpace, pages: PageAllocator, seat: ThreadSeat): GenericAllocator | undefined {
  for (let slot = 0; slot < THREAD_SLOTS; slot++) {
    const state = table.stateOf(slot);
    if (state !== ThreadState.ENDED && state !== ThreadState.DEAD) continue;
    const heap = table.resourceOf(slot, "heap");
    const frame = table.resourceOf(slot, "frame");
    const scratch = table.resourceOf(slot, "scratch");
    // The ended thread's blocks are this thread's from here, in the heap it adopts or in one it fences
    // off: either way they count for a live thread, not for the slot just freed.
    if (heap === 0 || !table.release(slot, seat)) continue;
    let generic: GenericAllocator | undefined;
    try {
      generic = GenericAllocator.attach(space, heap, { pages, name: "generic" });
      generic.collectRemoteFrees();
      generic.check();
      if (frame !== 0) FrameAllocator.attach(space, frame, { backing: pages, name: "frame" }).destroy();
      if (scratch !== 0) ScratchAllocator.attach(space, scratch, { backing: pages, name: "scratch" }).destroy();
      return generic;
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
      generic?.detach();
    }
  }
  return undefined;
}
