export { Sqlite, Database, Statement, SqliteError, SQLITE_OK, SQLITE_ROW, SQLITE_DONE } from "./sqlite.js";
export { instantiateParticles, instantiateParticlesTlsf } from "./particles.js";
export type { ParticleExports, ParticleModule } from "./particles.js";
export { WASM_STATIC_BYTES, SQLITE_GLOBAL_BASE, SQLITE_STACK_BYTES, PARTICLES_MEMORY_BASE } from "./build/layout.js";
