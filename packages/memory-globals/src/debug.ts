/**
 * `import "@memkit/memory-globals/debug"`: makes `MemoryGlobals.init({ debug: true })`
 * available with the lean entry (`@memkit/memory-globals/lean`), by installing
 * @memkit/debug-allocators' layers. The main entry imports it already.
 * Importing it is the whole point: it is listed in package.json "sideEffects".
 */
import { DebugAllocator, debugWrap } from "@memkit/debug-allocators";
import { installDebugLayer } from "./debug-layer.js";

installDebugLayer({ wrap: debugWrap, attach: (space, controlPtr, options) => DebugAllocator.attach(space, controlPtr, options) });
