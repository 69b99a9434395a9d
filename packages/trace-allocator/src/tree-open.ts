import { InvalidArgumentError, describe, type Allocator, type Attachment } from "@memkit/core";
import { MEMKIT_FRAME_PATTERN } from "./call-stacks.js";
import { FLAG_SHARED_BACKING, FLAG_THREADS, W_BACKING, W_FLAGS } from "./layout.js";
import { LEVELS, checkBacking, checkName, checkOptions, defaultBudgetWarning, parseBudget, rootSettings } from "./options.js";
import { createTree, openTree } from "./tree-control.js";
import { ScopeRef, TreeLink, checkAttachBacking, type LinkedScope } from "./tree-link.js";
import { treeLockOf } from "./tree-lock.js";
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
  const tree = options.lock === undefined ? undefined : treeLockOf("TraceAllocator", options.lock, backing.space, options.threadOf);
  // A tree shared by threads keeps a record of every block, "off" included: exact frees need them.
  const level = LEVELS.indexOf(options.tracing === "off" && tree !== undefined ? "counts" : (options.tracing ?? "counts"));
  const ptr = createTree(backing, rootSettings(options), { name, level, sampleEvery: options.sampleEvery ?? 1 });
  const link = new TreeLink<S>(backing.space, ptr, backing, options.internalFrames ?? MEMKIT_FRAME_PATTERN, options.onBudgetWarning ?? defaultBudgetWarning, tree);
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
  const cw = attachment.controlPtr >>> 2;
  const flags = space.u32[cw + W_FLAGS]!;
  const threads = (flags & FLAG_THREADS) !== 0;
  if (threads !== (options.lock !== undefined)) {
    throw new InvalidArgumentError(
      threads
        ? `${who}: this tree is shared by threads: pass this thread's handle on the tree lock ({ lock }).`
        : `${who}: this tree was not created for threads (new TraceAllocator(backing, { lock })), so it cannot take a lock now.`,
    );
  }
  const tree = options.lock === undefined ? undefined : treeLockOf(who, options.lock, space, options.threadOf);
  const anyBacking = (flags & FLAG_SHARED_BACKING) !== 0;
  if (anyBacking && options.backing === undefined) throw new InvalidArgumentError(`${who}: this tree has shared backings: pass this thread's own backing allocator ({ backing }).`);
  const backing = checkAttachBacking(who, space, options.backing, space.u32[cw + W_BACKING]!);
  openTree(attachment, backing, tree);
  const link = new TreeLink<S>(space, attachment.controlPtr, backing, options.internalFrames ?? MEMKIT_FRAME_PATTERN, options.onBudgetWarning ?? defaultBudgetWarning, tree);
  return new ScopeRef(link, 0, undefined);
}
