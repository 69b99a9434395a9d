// Node: the committed modules' bytes (a browser fetches them: `new URL("@memkit/wasm-modules/wasm/sqlite.wasm", import.meta.url)` through its bundler).
export { sqliteWasm, particlesWasm, particlesTlsfWasm } from "./load.js";
