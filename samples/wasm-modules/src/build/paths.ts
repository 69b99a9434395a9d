import { fileURLToPath } from "node:url";
import { join } from "node:path";

// src/build/paths.ts and dist/build/paths.js sit at the same depth.
export const PACKAGE_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));
/** The committed modules. */
export const WASM_DIR: string = join(PACKAGE_ROOT, "wasm");
export const SQLITE_WASM: string = join(WASM_DIR, "sqlite.wasm");
export const PARTICLES_WASM: string = join(WASM_DIR, "particles.wasm");
export const PARTICLES_TLSF_WASM: string = join(WASM_DIR, "particles-tlsf.wasm");
