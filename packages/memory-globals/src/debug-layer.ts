import { InvalidArgumentError, type Allocator } from "@memkit/core";
import type { DebugAllocator, DebugWrapOptions } from "@memkit/debug-allocators";

/*
 * `debug: true` needs @memkit/debug-allocators, which a program that never
 * turns debug on should not carry into its bundle. So memory-globals does not
 * import it: the debug layers come through this slot, filled by the module
 * `./debug.ts` as a side effect of importing it. The package's main entry
 * imports that module (so `init({ debug: true })` works with no extra import);
 * the lean entry (`@memkit/memory-globals/lean`) does not, and a bundler then
 * leaves the debug allocators out.
 */

/** Builds the debug layers under the root scope: `debugWrap` from @memkit/debug-allocators. */
export type DebugLayerFactory = (backing: Allocator, options: DebugWrapOptions) => DebugAllocator;

let installed: DebugLayerFactory | undefined;

/** Fills the slot (the `./debug.ts` module does, once). */
export function installDebugLayer(factory: DebugLayerFactory): void {
  installed = factory;
}

/** The debug layers' factory; an InvalidArgumentError saying what to import when none is installed. */
export function debugLayer(): DebugLayerFactory {
  if (installed === undefined) {
    throw new InvalidArgumentError(
      `MemoryGlobals.init: debug: true needs the debug allocators, which "@memkit/memory-globals/lean" leaves out.\n` +
        `  Add import "@memkit/memory-globals/debug" once before init(), or import MemoryGlobals from "@memkit/memory-globals".`,
    );
  }
  return installed;
}
