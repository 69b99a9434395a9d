import { InvalidArgumentError, captureStack, describe, formatBytes, hasOriginTracking, hex } from "@memkit/core";
import type { Allocator, BlockOrigin } from "@memkit/core";

/** What the leak handler receives for a container the GC reclaimed without `dispose()`. */
export interface ContainerLeak {
  /** The container's type, e.g. `DynamicArray<u32>`. */
  container: string;
  /** The name given at construction (or the type's default). */
  name: string;
  /** The allocator's `name`. */
  allocator: string;
  /** The block still live in the allocator. */
  ptr: number;
  /** Bytes the container asked for that block. */
  bytes: number;
  /** Its descriptor, still live too, when it was persisted (see `persist()`). */
  descriptor?: number;
  /** Scope and allocation stack, when the allocator implements `OriginTracking`. */
  origin?: BlockOrigin;
  /** Where the container was created, when debug mode captured it. */
  stack?: string;
}

/** Receives leaked containers; runs from a FinalizationRegistry callback (a later task). */
export type ContainerLeakHandler = (leak: ContainerLeak) => void;

/** Formats a leak the way the default handler prints it. */
export function formatContainerLeak(leak: ContainerLeak): string {
  const held =
    leak.ptr === 0
      ? `its descriptor ${hex(leak.descriptor ?? 0)} is`
      : `its block ${hex(leak.ptr)} (${formatBytes(leak.bytes)})${leak.descriptor !== undefined ? ` and its descriptor ${hex(leak.descriptor)} are` : " is"}`;
  let text = `memkit: ${leak.container} "${leak.name}" was garbage-collected without dispose(): ${held} still live in allocator "${leak.allocator}"`;
  if (leak.origin !== undefined) text += ` (scope ${leak.origin.scope})`;
  text += ".\n  Call dispose() (or use `using`) when the container is no longer needed.";
  if (leak.stack !== undefined) text += `\n  Created ${leak.stack.trim()}`;
  return text;
}

const defaultHandler: ContainerLeakHandler = (leak) => console.warn(formatContainerLeak(leak));

let debugDefault = false;
let handler: ContainerLeakHandler = defaultHandler;

/**
 * Turns leak detection on or off for containers created from now on (a
 * container's own `debug` option wins). Debug containers register with a
 * FinalizationRegistry and capture their creation stack: a little cost at
 * construction, none on element access.
 */
export function setContainerDebug(on: boolean): void {
  if (typeof on !== "boolean") throw new InvalidArgumentError(`setContainerDebug: expected true or false, received ${describe(on)}.`);
  debugDefault = on;
}

/** True when new containers get leak detection by default. */
export function isContainerDebug(): boolean {
  return debugDefault;
}

/** Replaces the leak handler; `null` restores the default (`console.warn`). */
export function setContainerLeakHandler(next: ContainerLeakHandler | null): void {
  // Checked here: a bad handler would otherwise throw later, inside a FinalizationRegistry callback.
  if (next !== null && next !== undefined && typeof next !== "function") {
    throw new InvalidArgumentError(`setContainerLeakHandler: expected a function, or null for the default, received ${describe(next)}.`);
  }
  handler = next ?? defaultHandler;
}

/**
 * What the FinalizationRegistry keeps of a debug container: everything the
 * report needs, and nothing that reaches the container (or it could never be
 * collected). The container updates `ptr`/`bytes` when its block moves.
 */
export class LeakToken {
  ptr = 0;
  bytes = 0;
  descriptor = 0;

  constructor(
    readonly container: string,
    readonly name: string,
    readonly allocator: Allocator,
    readonly stack: string | undefined,
  ) {}
}

const registry = new FinalizationRegistry<LeakToken>((token) => {
  if (token.ptr === 0 && token.descriptor === 0) return; // it held no memory: nothing leaked
  let origin: BlockOrigin | undefined;
  if (hasOriginTracking(token.allocator)) {
    try {
      origin = token.allocator.originOf(token.ptr !== 0 ? token.ptr : token.descriptor);
    } catch {
      origin = undefined; // the allocator may itself be torn down by now
    }
  }
  const leak: ContainerLeak = {
    container: token.container,
    name: token.name,
    allocator: token.allocator.name,
    ptr: token.ptr,
    bytes: token.bytes,
  };
  if (origin !== undefined) leak.origin = origin;
  if (token.descriptor !== 0) leak.descriptor = token.descriptor;
  if (token.stack !== undefined) leak.stack = token.stack;
  handler(leak);
});

/** Registers `container` for leak reports when debug is on; returns its token, or null. */
export function trackContainer(
  container: object,
  debug: boolean | undefined,
  type: string,
  name: string,
  allocator: Allocator,
): LeakToken | null {
  if (!(debug ?? debugDefault)) return null;
  const token = new LeakToken(type, name, allocator, creationStack());
  registry.register(container, token, token);
  return token;
}

/** Stops watching a disposed container. */
export function untrackContainer(token: LeakToken): void {
  registry.unregister(token);
}

/**
 * Frames inside this package (source or build), dropped from the top of a
 * creation stack where the engine has no V8 stack API (there captureStack
 * cannot find memkit's frames by identity; this works in unbundled code).
 */
const OWN_FRAME = /[\\/]containers[\\/](src|dist)[\\/]/;
/** User frames kept. */
const USER_FRAMES = 10;

/** Where the container is being created: from the user's code (core's captureStack cuts the containers' own frames, in bundles too). */
function creationStack(): string | undefined {
  const lines = captureStack(USER_FRAMES).text.split("\n");
  let first = 0;
  while (first < lines.length - 1 && OWN_FRAME.test(lines[first]!)) first++;
  const stack = lines.slice(first, first + USER_FRAMES).join("\n");
  return stack === "" ? undefined : stack;
}
