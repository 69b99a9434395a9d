import { InvalidArgumentError, type AddressSpace, type Allocator, type Ptr } from "@memkit/core";
import type { DebugAllocator, DebugAttachOptions, DebugWrapOptions } from "@memkit/debug-allocators";

/*
 * `debug: true` needs @memkit/debug-allocators, which a program that never
 * turns debug on should not carry into its bundle. So memory-globals does not
 * import it: the debug layers come through this slot, filled by the module
 * `./debug.ts` as a side effect of importing it. The package's main entry
 * imports that module (so `init({ debug: true })` works with no extra import);
 * the lean entry (`@memkit/memory-globals/lean`) does not, and a bundler then
 * leaves the debug allocators out.
 */

/** Builds the debug layers under the root scope (`debugWrap`), or attaches them again on restore (`DebugAllocator.attach`). */
export interface DebugLayerFactory {
  wrap(backing: Allocator, options: DebugWrapOptions): DebugAllocator;
  attach(space: AddressSpace, controlPtr: Ptr, options: DebugAttachOptions): DebugAllocator;
}

let installed: DebugLayerFactory | undefined;

/** Fills the slot (the `./debug.ts` module does, once). */
export function installDebugLayer(factory: DebugLayerFactory): void {
  installed = factory;
}

/** The debug layers' factory; an InvalidArgumentError saying what to import when none is installed. `who`: the call, for the message. */
export function debugLayer(who = "MemoryGlobals.init"): DebugLayerFactory {
  if (installed === undefined) {
    throw new InvalidArgumentError(
      `${who}: debug: true needs the debug allocators, which "@memkit/memory-globals/lean" leaves out.\n` +
        `  Add import "@memkit/memory-globals/debug" once before init(), or import MemoryGlobals from "@memkit/memory-globals".`,
    );
  }
  return installed;
}
