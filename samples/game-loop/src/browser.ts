/*
 * The browser-safe part of the sample game: the game and its memory setup,
 * without the command line, the Node frame driver (node:perf_hooks, node:v8)
 * or the job workers (node:worker_threads). samples/web-game plays it in a
 * page; nothing here imports a `node:` module.
 */
export { MemkitGame } from "./game/game.js";
export { initEngineMemory, subsystemScope, budgetFor, EngineStages, SUBSYSTEMS } from "./engine-memory.js";
export type { EngineMemoryOptions, SubsystemName, TempStageReport } from "./engine-memory.js";
export { WORLD_SIZE, GRID_COLS, CELL_SIZE, TEAMS } from "./game/config.js";
export type { GameConfig, SimSummary } from "./game/config.js";
