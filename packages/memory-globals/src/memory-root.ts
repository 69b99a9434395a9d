import {
  CONTROL_BLOCK_HEADER_WORDS,
  CorruptionError,
  InvalidArgumentError,
  controlWord,
  describe,
  hex,
  initControl,
  sealControl,
  type AddressSpace,
  type Attachment,
  type ControlLayout,
  type Ptr,
} from "@memkit/core";
import type { TracingLevel } from "@memkit/trace-allocator";

/*
 * MemoryGlobals' own control block: the root every allocator of the memory
 * is reached from. A restore (and, later, a thread attaching) opens it and
 * attaches each allocator from the pointer recorded here.
 *
 *   u32 words
 *   0..3    header ("MKGL", version, bytes, seal)
 *   fixed (sealed):
 *   4  initialBytes     5  maximumBytes     6  pageSize        7  flags (bit 0 shared, bit 1 debug)
 *   8  tracing level    9  sampleEvery      10 frameArenas     11 bootstrap base
 *   12 bootstrap bytes  13 pages control    14 generic control 15 scope tree control
 *   16 frame control    17 scratch control  18 frame owner id  19 scratch owner id
 *   20 debug control    (the debug stack's DBUG block with debug: true, else 0)
 *   shared memories only (else 0; docs/threads.md):
 *   21 thread table     22 routes table (between the threads' generic allocators)
 *   23 scope tree lock
 *   24 timeline ring   (timeline.ts; 0 when the memory keeps no timeline)
 *   state:
 *   25 frame number
 *   26 .. 26 + 8 * ROOTS   the roots table: ROOTS entries of 8 words, a name
 *                          (up to 28 bytes of UTF-8, zero padded) and a pointer
 */

export const MEMORY_ROOT_LAYOUT: ControlLayout = { kind: "MemoryGlobals", magic: "MKGL", version: 4, fixedWords: 21 };

const F = CONTROL_BLOCK_HEADER_WORDS;
const W_INITIAL = F;
const W_MAXIMUM = F + 1;
const W_PAGE_SIZE = F + 2;
const W_FLAGS = F + 3;
const W_TRACING = F + 4;
const W_SAMPLE = F + 5;
const W_ARENAS = F + 6;
const W_BOOT_BASE = F + 7;
const W_BOOT_BYTES = F + 8;
const W_PAGES = F + 9;
const W_GENERIC = F + 10;
const W_TREE = F + 11;
const W_FRAME = F + 12;
const W_SCRATCH = F + 13;
const W_FRAME_OWNER = F + 14;
const W_SCRATCH_OWNER = F + 15;
const W_DEBUG = F + 16;
const W_THREADS = F + 17;
const W_ROUTES = F + 18;
const W_TREE_LOCK = F + 19;
const W_TIMELINE = F + 20;
const W_FRAME_NUMBER = F + 21;
const W_ROOTS = F + 22;

/** Named roots a program can keep (a game's state record, a level table, ...). */
export const MAX_ROOTS = 16;
const ROOT_WORDS = 8;
const NAME_BYTES = 28;
const FLAG_SHARED = 1;
const FLAG_DEBUG = 2;
const LEVELS: readonly TracingLevel[] = ["off", "counts", "callstacks"];

/** Bytes of the root control block. */
export const MEMORY_ROOT_BYTES = (W_ROOTS + MAX_ROOTS * ROOT_WORDS) * 4;

/** What the root records: the settings the memory was made with and where each allocator's control block is. */
export interface MemoryRootRecord {
  initialBytes: number;
  maximumBytes: number;
  pageSize: number;
  shared: boolean;
  debug: boolean;
  tracing: TracingLevel;
  sampleEvery: number;
  frameArenas: number;
  bootstrapBase: Ptr;
  bootstrapBytes: number;
  pages: Ptr;
  generic: Ptr;
  tree: Ptr;
  frame: Ptr;
  scratch: Ptr;
  frameOwner: number;
  scratchOwner: number;
  /** The debug stack's control block (debug: true), else 0. */
  debugControl: Ptr;
  /** Shared memories: the thread table, else 0. */
  threads: Ptr;
  /** Shared memories: the routes table of the threads' generic allocators, else 0. */
  routes: Ptr;
  /** Shared memories: the scope tree's lock, else 0. */
  treeLock: Ptr;
  /** The timeline ring (timeline.ts), or 0 when the memory keeps none. */
  timeline: Ptr;
}

/** Writes and seals a new root at `ptr` (MEMORY_ROOT_BYTES, 4-aligned). */
export function writeMemoryRoot(space: AddressSpace, ptr: Ptr, r: MemoryRootRecord): void {
  initControl(space, ptr, MEMORY_ROOT_LAYOUT, MEMORY_ROOT_BYTES);
  const u32 = space.u32;
  const w = ptr >>> 2;
  u32[w + W_INITIAL] = r.initialBytes;
  u32[w + W_MAXIMUM] = r.maximumBytes;
  u32[w + W_PAGE_SIZE] = r.pageSize;
  u32[w + W_FLAGS] = (r.shared ? FLAG_SHARED : 0) | (r.debug ? FLAG_DEBUG : 0);
  u32[w + W_TRACING] = LEVELS.indexOf(r.tracing);
  u32[w + W_SAMPLE] = r.sampleEvery;
  u32[w + W_ARENAS] = r.frameArenas;
  u32[w + W_BOOT_BASE] = r.bootstrapBase;
  u32[w + W_BOOT_BYTES] = r.bootstrapBytes;
  u32[w + W_PAGES] = r.pages;
  u32[w + W_GENERIC] = r.generic;
  u32[w + W_TREE] = r.tree;
  u32[w + W_FRAME] = r.frame;
  u32[w + W_SCRATCH] = r.scratch;
  u32[w + W_FRAME_OWNER] = r.frameOwner;
  u32[w + W_SCRATCH_OWNER] = r.scratchOwner;
  u32[w + W_DEBUG] = r.debugControl;
  u32[w + W_THREADS] = r.threads;
  u32[w + W_ROUTES] = r.routes;
  u32[w + W_TREE_LOCK] = r.treeLock;
  u32[w + W_TIMELINE] = r.timeline;
  sealControl(space, ptr, MEMORY_ROOT_LAYOUT);
}

/** Reads a root that Attachment.open verified (magic, version, size, seal), range-checking what the seal cannot vouch for. */
export function readMemoryRoot(at: Attachment): MemoryRootRecord {
  const { space, controlPtr, who } = at;
  const u32 = space.u32;
  const w = controlPtr >>> 2;
  const size = space.byteLength;
  const word = (index: number, min: number, max: number, field: string): number => controlWord(u32, controlPtr, index, min, max, MEMORY_ROOT_LAYOUT, field);
  const tracing = LEVELS[word(W_TRACING, 0, LEVELS.length - 1, "tracing")]!;
  const pointer = (index: number, field: string): Ptr => {
    const p = word(index, 8, size - 8, field);
    if (p % 8 !== 0) throw new CorruptionError(`${who}: the memory root at ${hex(controlPtr)} records ${field} at ${hex(p)}, not an 8-aligned address.`);
    return p;
  };
  word(W_FRAME_NUMBER, 0, 0x7fffffff, "frameNumber");
  const debug = (u32[w + W_FLAGS]! & FLAG_DEBUG) !== 0;
  const debugControl = debug ? pointer(W_DEBUG, "the debug layers") : word(W_DEBUG, 0, 0, "debug control");
  const shared = (u32[w + W_FLAGS]! & FLAG_SHARED) !== 0;
  const sharedOnly = (index: number, field: string): Ptr => (shared ? pointer(index, field) : word(index, 0, 0, field));
  return {
    initialBytes: u32[w + W_INITIAL]!,
    maximumBytes: u32[w + W_MAXIMUM]!,
    pageSize: u32[w + W_PAGE_SIZE]!,
    shared,
    debug,
    tracing,
    sampleEvery: word(W_SAMPLE, 1, 0x7fffffff, "sampleEvery"),
    frameArenas: word(W_ARENAS, 1, 16, "frameArenas"),
    bootstrapBase: pointer(W_BOOT_BASE, "the bootstrap region"),
    bootstrapBytes: u32[w + W_BOOT_BYTES]!,
    pages: pointer(W_PAGES, "the page allocator"),
    generic: pointer(W_GENERIC, "the generic allocator"),
    tree: pointer(W_TREE, "the scope tree"),
    frame: pointer(W_FRAME, "the frame allocator"),
    scratch: pointer(W_SCRATCH, "the scratch allocator"),
    frameOwner: word(W_FRAME_OWNER, 1, 255, "frameOwner"),
    scratchOwner: word(W_SCRATCH_OWNER, 1, 255, "scratchOwner"),
    debugControl,
    threads: sharedOnly(W_THREADS, "the thread table"),
    routes: sharedOnly(W_ROUTES, "the routes table"),
    treeLock: sharedOnly(W_TREE_LOCK, "the scope tree's lock"),
    timeline: u32[w + W_TIMELINE]! === 0 ? 0 : pointer(W_TIMELINE, "the timeline ring"),
  };
}

/** The frame number kept in the root (state: changes every frame). */
export function rootFrameNumber(u32: Uint32Array, root: Ptr): number {
  return u32[(root >>> 2) + W_FRAME_NUMBER]!;
}

/** Stores the frame number. */
export function setRootFrameNumber(u32: Uint32Array, root: Ptr, frame: number): void {
  u32[(root >>> 2) + W_FRAME_NUMBER] = frame;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Checks a root name: 1 to 28 bytes of UTF-8. Returns its bytes. */
function nameBytes(who: string, name: unknown): Uint8Array {
  if (typeof name !== "string" || name.length === 0) throw new InvalidArgumentError(`${who}: a root name must be a non-empty string, received ${describe(name)}.`);
  const bytes = encoder.encode(name);
  if (bytes.byteLength > NAME_BYTES || bytes.includes(0)) {
    throw new InvalidArgumentError(`${who}: root name ${JSON.stringify(name)} must be 1 to ${NAME_BYTES} bytes of UTF-8 without NUL characters.`);
  }
  return bytes;
}

/** Index of the roots-table entry named `bytes` (compared with its zero padding), or -1. */
function findRoot(u8: Uint8Array, root: Ptr, bytes: Uint8Array): number {
  for (let i = 0; i < MAX_ROOTS; i++) {
    const at = root + (W_ROOTS + i * ROOT_WORDS) * 4;
    if (u8[at] === 0) continue;
    let k = 0;
    while (k < NAME_BYTES && u8[at + k] === (k < bytes.byteLength ? bytes[k]! : 0)) k++;
    if (k === NAME_BYTES) return i;
  }
  return -1;
}

/** Sets (ptr != 0) or removes (ptr 0) the root `name`. Throws InvalidArgumentError when the table is full. */
export function setNamedRoot(space: AddressSpace, root: Ptr, who: string, name: string, ptr: Ptr): void {
  const bytes = nameBytes(who, name);
  if (typeof ptr !== "number" || ptr >>> 0 !== ptr) throw new InvalidArgumentError(`${who}: the root's pointer must be an integer byte offset, received ${describe(ptr)}.`);
  const u8 = space.u8;
  let i = findRoot(u8, root, bytes);
  if (i < 0) {
    if (ptr === 0) return;
    for (i = 0; i < MAX_ROOTS && u8[root + (W_ROOTS + i * ROOT_WORDS) * 4] !== 0; i++);
    if (i === MAX_ROOTS) throw new InvalidArgumentError(`${who}: all ${MAX_ROOTS} named roots are in use; remove one (setRoot(name, 0)) first.`);
  }
  const at = root + (W_ROOTS + i * ROOT_WORDS) * 4;
  u8.fill(0, at, at + ROOT_WORDS * 4);
  if (ptr === 0) return;
  u8.set(bytes, at);
  space.u32[(at + NAME_BYTES) >>> 2] = ptr;
}

/** The pointer kept under `name`, or 0. */
export function namedRoot(space: AddressSpace, root: Ptr, who: string, name: string): Ptr {
  const i = findRoot(space.u8, root, nameBytes(who, name));
  return i < 0 ? 0 : space.u32[((root + (W_ROOTS + i * ROOT_WORDS) * 4 + NAME_BYTES) >>> 2)]!;
}

/** Every named root, in table order. */
export function namedRoots(space: AddressSpace, root: Ptr): { name: string; ptr: Ptr }[] {
  const u8 = space.u8;
  const out: { name: string; ptr: Ptr }[] = [];
  for (let i = 0; i < MAX_ROOTS; i++) {
    const at = root + (W_ROOTS + i * ROOT_WORDS) * 4;
    if (u8[at] === 0) continue;
    let end = at;
    while (end < at + NAME_BYTES && u8[end] !== 0) end++;
    out.push({ name: decoder.decode(u8.slice(at, end)), ptr: space.u32[(at + NAME_BYTES) >>> 2]! });
  }
  return out;
}
