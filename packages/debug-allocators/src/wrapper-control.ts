import {
  Attachment,
  CorruptionError,
  InvalidArgumentError,
  OutOfMemoryError,
  controlWord,
  describe,
  formatBytes,
  hex,
  initControl,
  sealControl,
  type AddressSpace,
  type Allocator,
  type ControlLayout,
  type Ptr,
} from "@memkit/core";
import { capturesStacks, type DebugWrapperOptions } from "./api.js";
import { MAX_TABLE_SLOTS } from "./block-table.js";
import { intOption } from "./options.js";
import { MAX_QUEUE_CAP, queueBytes } from "./quarantine-queue.js";
import {
  D_ALLOCS,
  D_FREES,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_QUEUE_BYTES,
  D_RESERVED,
  FLAG_STACKS,
  MAX_FREE_HISTORY,
  W_BACKING,
  W_CHECK_EVERY,
  W_FLAGS,
  W_HISTORY_CAP,
  W_HISTORY_NEXT,
  W_HISTORY_SLOTS,
  W_ID,
  W_OPS,
  W_PARAM_A,
  W_QUEUE,
  W_QUEUE_CAP,
  W_QUEUE_COUNT,
  W_QUEUE_HEAD,
  W_QUEUE_HELD,
  W_STATE_BYTES,
  W_TABLE,
  W_TABLE_COUNT,
  W_TABLE_HELD,
  W_TABLE_SLOTS,
  historySlots,
  wrapperControlBytes,
} from "./wrapper-layout.js";

/*
 * Where a debug wrapper's handle comes from: a control block written now,
 * leased from the backing (create), or one Attachment.open verified (attach),
 * whose every state word is then range-checked here before the handle
 * relies on it. What the words point at (the table's and the queue's
 * entries, the free history) is walked by check() (wrapper-check.ts).
 */

/** Options of `X.attach(space, controlPtr, options)` for every debug wrapper. */
export interface WrapperAttachOptions {
  /** A handle on the allocator the wrapper was created over (the one whose control block it recorded). */
  backing: Allocator;
  /** Name used in messages. @defaultValue `<kind>(<backing name>)` */
  name?: string;
}

/** A control block to build a handle on, and what the handle needs besides. */
export interface WrapperSource {
  readonly space: AddressSpace;
  readonly controlPtr: Ptr;
  readonly backing: Allocator;
  readonly name: string;
  readonly layout: ControlLayout;
  /** Set when attaching: the verified control block. */
  readonly attachment: Attachment | undefined;
}

/** What a new control block records in its fixed words. */
export interface WrapperFixed {
  flags: number;
  checkEvery: number;
  historyCap: number;
  /** W_PARAM_A..D: the kind's settings. */
  params: readonly [number, number, number, number];
}

/** The backing's own controlPtr when it is an allocator with a control block, else 0. */
export function backingControl(backing: Allocator): number {
  const ptr = (backing as Allocator & { controlPtr?: unknown }).controlPtr;
  return typeof ptr === "number" && ptr >>> 0 === ptr ? ptr : 0;
}

/** Throws InvalidArgumentError unless `backing` is an allocator (of `space`, when given). */
export function expectBacking(who: string, backing: unknown, space?: AddressSpace): Allocator {
  const b = backing as Partial<Allocator> | null;
  if (b === null || typeof b !== "object" || typeof b.allocate !== "function" || typeof b.deallocate !== "function" || typeof b.space !== "object") {
    throw new InvalidArgumentError(`${who}: expected a backing Allocator, received ${describe(backing)}.`);
  }
  if (space !== undefined && b.space !== space) {
    throw new InvalidArgumentError(`${who}: the backing "${String(b.name)}" allocates in another address space; pass a handle on the allocator the wrapper was created over.`);
  }
  return backing as Allocator;
}

/** Leases and writes a new control block for `layout` from `backing`, seals its fixed words. */
export function createWrapperControl(backing: Allocator, name: string, layout: ControlLayout, fixed: WrapperFixed): WrapperSource {
  const space = backing.space;
  const bytes = wrapperControlBytes(fixed.historyCap);
  let ptr: Ptr;
  try {
    ptr = backing.allocate(bytes, 8);
  } catch (cause) {
    if (!(cause instanceof OutOfMemoryError)) throw cause;
    throw new OutOfMemoryError(`${layout.kind} "${name}": the backing "${backing.name}" has no ${formatBytes(bytes)} left for the control block.`, { cause });
  }
  const held = backing.allocatedSize(ptr);
  initControl(space, ptr, layout, bytes);
  const u32 = space.u32;
  const w = ptr >>> 2;
  u32[w + W_ID] = (Math.random() * 0x1_0000_0000) >>> 0;
  u32[w + W_BACKING] = backingControl(backing);
  u32[w + W_FLAGS] = fixed.flags;
  u32[w + W_CHECK_EVERY] = fixed.checkEvery;
  u32[w + W_HISTORY_CAP] = fixed.historyCap;
  u32[w + W_HISTORY_SLOTS] = historySlots(fixed.historyCap);
  for (let i = 0; i < 4; i++) u32[w + W_PARAM_A + i] = fixed.params[i]! >>> 0;
  sealControl(space, ptr, layout);
  u32[w + W_STATE_BYTES] = held;
  return { space, controlPtr: ptr, backing, name, layout, attachment: undefined };
}

/** The source of an attached handle: the block `attachment` verified, over `options.backing`, which must be the one recorded. */
export function attachWrapperSource(attachment: Attachment, layout: ControlLayout, prefix: string, options: unknown): WrapperSource {
  const { space, controlPtr, who } = attachment;
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError(`${who}: options must be an object with the backing ({ backing }), received ${describe(options)}.`);
  }
  const o = options as Partial<WrapperAttachOptions>;
  const backing = expectBacking(who, o.backing, space);
  const recorded = space.u32[(controlPtr >>> 2) + W_BACKING]!;
  const given = backingControl(backing);
  if (recorded !== given) {
    throw new InvalidArgumentError(
      `${who}: the ${layout.kind} at ${hex(controlPtr)} was created over the allocator whose control block is at ${hex(recorded)}; ` +
        `the backing passed ("${backing.name}") is ${given === 0 ? "one without a control block" : `the one at ${hex(given)}`}. Pass a handle on the allocator it was created over.`,
    );
  }
  if (o.name !== undefined && typeof o.name !== "string") throw new InvalidArgumentError(`${who}: option name must be a string, received ${describe(o.name)}.`);
  return { space, controlPtr, backing, name: o.name ?? `${prefix}(${backing.name})`, layout, attachment };
}

/**
 * Range-checks what an attach relies on: the sealed sizes and settings agree
 * with the block's size (`paramDamage` says what is wrong with the kind's
 * settings, or undefined), every state word is in range, and the table and
 * queue blocks are blocks of the backing of the recorded size. A
 * CorruptionError names the first word found wrong.
 */
export function verifyWrapperAttach(source: WrapperSource, paramDamage: string | undefined): void {
  const { space, controlPtr, backing, layout } = source;
  const who = source.attachment!.who;
  const u32 = space.u32;
  const w = controlPtr >>> 2;
  const corrupt = (what: string): CorruptionError => new CorruptionError(`${who}: the ${layout.kind} control block at ${hex(controlPtr)} is damaged: ${what}.`);
  const cap = u32[w + W_HISTORY_CAP]!;
  if (controlPtr % 8 !== 0) throw corrupt("it is not 8-aligned");
  if (cap > MAX_FREE_HISTORY || u32[w + W_HISTORY_SLOTS] !== historySlots(cap) || source.attachment!.bytes !== wrapperControlBytes(cap)) {
    throw corrupt(`its free history (${cap} entries, ${u32[w + W_HISTORY_SLOTS]} index slots) does not match its ${source.attachment!.bytes} bytes`);
  }
  if (u32[w + W_FLAGS]! > 1 || u32[w + W_CHECK_EVERY]! > 0x7fffffff) throw corrupt(`flags ${u32[w + W_FLAGS]} or checkEvery ${u32[w + W_CHECK_EVERY]} out of range`);
  if (paramDamage !== undefined) throw corrupt(paramDamage);
  const size = space.byteLength;
  const word = (index: number, min: number, max: number, field: string): number => controlWord(u32, controlPtr, index, min, max, layout, field);
  word(W_OPS, 0, Math.max(u32[w + W_CHECK_EVERY]! - 1, 0), "ops");
  word(W_HISTORY_NEXT, 0, Math.max(cap - 1, 0), "history next");
  word(W_STATE_BYTES, 0, size, "state bytes");
  if (!ownedBlock(backing, controlPtr, 0)) throw corrupt(`it is not a block of its backing "${backing.name}"`);
  // The live-block table.
  const slots = word(W_TABLE_SLOTS, 0, MAX_TABLE_SLOTS, "table slots");
  if (slots === 0) {
    for (const [index, field] of [[W_TABLE, "table"], [W_TABLE_COUNT, "table count"], [W_TABLE_HELD, "table held"]] as const) word(index, 0, 0, field);
  } else {
    if ((slots & (slots - 1)) !== 0 || slots < 64) throw corrupt(`its table has ${slots} slots, not a power of two from 64`);
    const table = word(W_TABLE, 8, size - slots * 16, "table");
    word(W_TABLE_COUNT, 0, slots >>> 1, "table count");
    const held = word(W_TABLE_HELD, slots * 16, size, "table held");
    if (table % 8 !== 0 || !ownedBlock(backing, table, held)) throw corrupt(`its table at ${hex(table)} is not a ${held}-byte block of its backing`);
  }
  // The quarantine queue (every other kind leaves it zero).
  const cap2 = word(W_QUEUE_CAP, 0, MAX_QUEUE_CAP, "queue capacity");
  if (cap2 === 0) {
    for (const [index, field] of [[W_QUEUE, "queue"], [W_QUEUE_HEAD, "queue head"], [W_QUEUE_COUNT, "queue count"], [W_QUEUE_HELD, "queue held"]] as const) word(index, 0, 0, field);
  } else {
    if ((cap2 & (cap2 - 1)) !== 0 || cap2 < 16) throw corrupt(`its quarantine queue has ${cap2} entries, not a power of two from 16`);
    const queue = word(W_QUEUE, 8, size - queueBytes(cap2), "queue");
    word(W_QUEUE_HEAD, 0, cap2 - 1, "queue head");
    word(W_QUEUE_COUNT, 0, cap2, "queue count");
    const held = word(W_QUEUE_HELD, queueBytes(cap2), size, "queue held");
    if (queue % 8 !== 0 || !ownedBlock(backing, queue, held)) throw corrupt(`its quarantine queue at ${hex(queue)} is not a ${held}-byte block of its backing`);
  }
  // Counters: whole numbers; the live count is the table's.
  const f64 = space.f64;
  const d = controlPtr >>> 3;
  for (const [slot, field] of [
    [D_LIVE_BYTES, "liveBytes"],
    [D_LIVE_COUNT, "liveCount"],
    [D_PEAK_BYTES, "peakLiveBytes"],
    [D_ALLOCS, "allocCount"],
    [D_FREES, "freeCount"],
    [D_RESERVED, "reserved bytes"],
    [D_QUEUE_BYTES, "quarantined bytes"],
  ] as const) {
    const v = f64[d + slot]!;
    if (!Number.isSafeInteger(v) || v < 0) throw corrupt(`its counter ${field} holds ${v}`);
  }
  if (f64[d + D_LIVE_COUNT] !== u32[w + W_TABLE_COUNT]) throw corrupt(`its live count ${f64[d + D_LIVE_COUNT]} differs from its table's ${u32[w + W_TABLE_COUNT]} blocks`);
}

/** True when `ptr` is a live block of `backing` holding `held` bytes (any size when `held` is 0). Never throws. */
export function ownedBlock(backing: Allocator, ptr: Ptr, held: number): boolean {
  try {
    return backing.owns(ptr) && (held === 0 || backing.allocatedSize(ptr) === held);
  } catch {
    return false;
  }
}

/** What a kind's options become: its four settings words and its default free-history size. */
export interface KindSettings {
  params: readonly [number, number, number, number];
  history: number;
}

/**
 * The source of a new wrapper over `source` (an Allocator: options checked,
 * control block leased and sealed) or of a handle on an existing one (an
 * Attachment: `{ backing, name? }` checked against the block). `kind`
 * checks the kind's own options (InvalidArgumentError) before anything is leased.
 */
export function wrapperSource(
  source: Allocator | Attachment,
  options: unknown,
  layout: ControlLayout,
  prefix: string,
  kind: (options: DebugWrapperOptions) => KindSettings,
): WrapperSource {
  if (source instanceof Attachment) return attachWrapperSource(source, layout, prefix, options);
  const who = layout.kind;
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`${who}: options must be an object, received ${describe(options)}.`);
  const o = options as DebugWrapperOptions;
  const backing = expectBacking(who, source);
  const { params, history } = kind(o);
  const fixed: WrapperFixed = {
    flags: (o.captureStacks ?? capturesStacks(backing)) ? FLAG_STACKS : 0,
    checkEvery: intOption(who, "checkEvery", o.checkEvery, 0, 0, 2 ** 31 - 1),
    historyCap: intOption(who, "freeHistory", o.freeHistory, history, 0, MAX_FREE_HISTORY),
    params,
  };
  return createWrapperControl(backing, o.name ?? `${prefix}(${backing.name})`, layout, fixed);
}

/** Opens the control block of a `layout` wrapper at `controlPtr` for `who` (CorruptionError when it is not one). */
export function openWrapper(space: AddressSpace, controlPtr: Ptr, layout: ControlLayout, who: string): Attachment {
  return Attachment.open(space, controlPtr, layout, who, [wrapperControlBytes(0), wrapperControlBytes(MAX_FREE_HISTORY)]);
}

/** The settings words of an attached block: `[A, B, C, D]`. */
export function paramsOf(source: WrapperSource): [number, number, number, number] {
  const u32 = source.space.u32;
  const w = (source.controlPtr >>> 2) + W_PARAM_A;
  return [u32[w]!, u32[w + 1]!, u32[w + 2]!, u32[w + 3]!];
}
