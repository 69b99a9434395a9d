// The main entry: the lean entry plus the debug allocators, so that
// `MemoryGlobals.init({ debug: true })` needs no other import.
import "./debug.js";

export * from "./lean.js";
