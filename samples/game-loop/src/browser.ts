/*
 * The browser-safe part of the sample game: the game, its memory setup and
 * its job system, without the command line and the Node frame driver
 * (node:perf_hooks, node:v8). samples/web-game plays it in a page. Nothing
 * here imports a `node:` module at load time: the job system imports
 * node:worker_threads only when it is started without a spawner of its own.
 */
export { MemkitGame } from "./game/game.js";
export { initEngineMemory, subsystemScope, budgetFor, EngineStages, SUBSYSTEMS } from "./engine-memory.js";
export type { EngineMemoryOptions, SubsystemName, TempStageReport } from "./engine-memory.js";
export { WORLD_SIZE, GRID_COLS, CELL_SIZE, TEAMS } from "./game/config.js";
export type { GameConfig, SimSummary } from "./game/config.js";
// The job system of --workers N: a page passes its own spawner (Web Workers) and canSleep: false.
export { JobSystem, JobError } from "./jobs/job-system.js";
export type { JobSystemOptions, JobThread, SpawnJobWorker } from "./jobs/job-system.js";
export { runJobWorker } from "./jobs/worker-loop.js";
export type { JobWorkerData } from "./jobs/worker-loop.js";
