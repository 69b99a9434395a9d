import { InvalidArgumentError, describe, type Allocator, type Attachment } from "@memkit/core";
import { MEMKIT_FRAME_PATTERN } from "./call-stacks.js";
import { W_BACKING } from "./layout.js";
import { LEVELS, checkBacking, checkName, checkOptions, defaultBudgetWarning, parseBudget, rootSettings } from "./options.js";
import { createTree, openTree } from "./tree-control.js";
import { ScopeRef, TreeLink, checkAttachBacking, type LinkedScope } from "./tree-link.js";
import type { TraceAllocatorOptions, TraceAttachOptions } from "./types.js";

/*
 * The two ways a link to a tree begins (tree-link.ts): a new tree, or an
 * attach to an existing one. Each checks what it is given, then returns the
 * reference to the root scope the handle's constructor takes.
 */

/** A new tree over `backing` (options checked first): the reference to its root. */
export function createRoot<S extends LinkedScope>(backing: Allocator, options: TraceAllocatorOptions): ScopeRef<S> {
  checkOptions(options, true);
  checkBacking(backing, undefined);
  const name = options.name ?? "root";
  checkName(name, undefined);
  const budget = options.budget === undefined ? undefined : parseBudget(name, options.budget);
  const level = LEVELS.indexOf(options.tracing ?? "counts");
  const ptr = createTree(backing, rootSettings(options), { name, level, sampleEvery: options.sampleEvery ?? 1 });
  const link = new TreeLink<S>(backing.space, ptr, backing, options.internalFrames ?? MEMKIT_FRAME_PATTERN, options.onBudgetWarning ?? defaultBudgetWarning);
  return new ScopeRef(link, 0, undefined, budget);
}

/** A second handle's link to the verified tree at `attachment`: the reference to its root. */
export function attachRoot<S extends LinkedScope>(attachment: Attachment, options: TraceAttachOptions): ScopeRef<S> {
  const who = attachment.who;
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`${who}: options must be an object, received ${describe(options)}.`);
  if (options.internalFrames !== undefined && !(options.internalFrames instanceof RegExp)) {
    throw new InvalidArgumentError(`${who}: internalFrames must be a RegExp, received ${describe(options.internalFrames)}.`);
  }
  if (options.onBudgetWarning !== undefined && typeof options.onBudgetWarning !== "function") {
    throw new InvalidArgumentError(`${who}: onBudgetWarning must be a function, received ${describe(options.onBudgetWarning)}.`);
  }
  const space = attachment.space;
  const backing = checkAttachBacking(who, space, options.backing, space.u32[(attachment.controlPtr >>> 2) + W_BACKING]!);
  openTree(attachment, backing);
  const link = new TreeLink<S>(space, attachment.controlPtr, backing, options.internalFrames ?? MEMKIT_FRAME_PATTERN, options.onBudgetWarning ?? defaultBudgetWarning);
  return new ScopeRef(link, 0, undefined);
}
