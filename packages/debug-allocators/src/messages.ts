import { captureStack, formatCount, hex, type BlockOrigin, type CapturedStack, type Ptr } from "@memkit/core";

/** `0xfd`: one byte as two hex digits. */
export function byteHex(value: number): string {
  return "0x" + value.toString(16).padStart(2, "0");
}

/** `+24`, `-1`: an offset from a block's start. */
export function signedOffset(offset: number): string {
  return offset < 0 ? String(offset) : `+${offset}`;
}

/** `block 0x00089f30 (24 B, scope root/ai)`: a block as every message names it (sizes with thousands separators: `4,096 B`). */
export function blockLabel(ptr: Ptr, size: number, origin: BlockOrigin | undefined): string {
  return `block ${hex(ptr)} (${formatCount(size)} B${origin === undefined ? "" : `, scope ${origin.scope}`})`;
}

/**
 * A broken byte of a block in the house style: block, scope, what broke at
 * which offset, expected/found, allocation stack, free stack, then what to
 * do. When the origin names the user's pointer (a scope above puts its
 * header in front of the block), the block, size and offset are the user's.
 */
export function corruptionMessage(
  name: string,
  ptr: Ptr,
  size: number,
  what: string,
  offset: number,
  expected: number,
  found: number,
  detail: string,
  hint: string,
  freeStack: string | undefined,
  origin: BlockOrigin | undefined,
): string {
  const user = origin?.ptr ?? ptr;
  const userSize = origin?.ptr === undefined ? size : origin.size;
  return (
    `${name}: ${blockLabel(user, userSize, origin)} —\n` +
    `  ${what} at ${signedOffset(offset + ptr - user)} (expected ${byteHex(expected)}, found ${byteHex(found)})${detail};` +
    stackLines("allocated", origin?.stack) +
    stackLines("freed", freeStack) +
    `\n  ${hint}`
  );
}

const MAX_FRAMES = 8;

/**
 * A call stack as indented message lines, the first labelled:
 * ```
 *   allocated at Blackboard.set (ai/blackboard.ts:57)
 *             at AiSystem.update (ai/system.ts:12)
 * ```
 * Accepts frames with or without a leading `at `. Empty when `stack` is.
 */
export function stackLines(label: string, stack: string | undefined): string {
  if (stack === undefined) return "";
  const frames = stack
    .split("\n")
    .map((line) => line.trim().replace(/^at /, ""))
    .filter((line) => line.length > 0);
  if (frames.length === 0) return "";
  const pad = " ".repeat(label.length);
  let out = `\n  ${label} at ${frames[0]}`;
  for (let i = 1; i < Math.min(frames.length, MAX_FRAMES); i++) out += `\n  ${pad} at ${frames[i]}`;
  if (frames.length > MAX_FRAMES) out += `\n  ${pad} ... ${frames.length - MAX_FRAMES} more`;
  return out;
}

/** Frames kept of a free's call stack (a message shows {@link MAX_FRAMES} and counts the rest). */
const FREE_STACK_FRAMES = 10;

/*
 * This package's own frames by name: dropped from the top of a captured
 * stack only where the engine has no V8 stack API (there captureStack cannot
 * find memkit's frames by identity; names work in unbundled code).
 */
const INTERNAL_FRAME = /(?:DebugWrapper|CanaryAllocator|EndOfPageAllocator|FillAllocator|QuarantineAllocator|DebugAllocator|captureSite|captureStack)\b/;

/**
 * Records where the caller is, from the user's code: core's captureStack
 * cuts memkit's own frames (these wrappers, a container, anything marked
 * with markEntryPoints) by function identity, in bundled and minified builds
 * too. The engine formats the text only when a message reads it
 * ({@link stackOf}), so capturing on every free stays cheap.
 */
export function captureSite(): CapturedStack {
  return captureStack(FREE_STACK_FRAMES);
}

/**
 * A captured site as frames joined by newlines (the shape of
 * `BlockOrigin.stack`). Cold path.
 */
export function stackOf(site: CapturedStack | undefined): string | undefined {
  if (site === undefined) return undefined;
  const lines = site.text.split("\n");
  let first = 0;
  while (first < lines.length && INTERNAL_FRAME.test(lines[first]!)) first++;
  return lines
    .slice(first)
    .map((line) => line.trim().replace(/^at /, ""))
    .filter((line) => line.length > 0)
    .join("\n");
}
