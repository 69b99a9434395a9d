// Node: the committed modules' bytes (a browser fetches wasm/*.wasm instead).
import { readFileSync } from "node:fs";
import { PARTICLES_TLSF_WASM, PARTICLES_WASM, SQLITE_WASM } from "./build/paths.js";

export function sqliteWasm(): Uint8Array<ArrayBuffer> {
  return readFileSync(SQLITE_WASM);
}

export function particlesWasm(): Uint8Array<ArrayBuffer> {
  return readFileSync(PARTICLES_WASM);
}

export function particlesTlsfWasm(): Uint8Array<ArrayBuffer> {
  return readFileSync(PARTICLES_TLSF_WASM);
}
