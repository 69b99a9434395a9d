/*
 * @memkit/game-loop: the headless sample game. `run(argv, io)` is the
 * command line as a function (tests call it); the game's pieces are exported
 * for readers who want to drive them.
 */
export { run, nodeIo, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from "./run.js";
export type { RunIo } from "./run.js";
export { parseGameArgs, UsageError, USAGE, DEFAULT_FRAMES, DEFAULT_ENTITIES, DEFAULT_SEED } from "./cli-args.js";
export type { GameArgs } from "./cli-args.js";
export { initEngineMemory, subsystemScope, openScope, budgetFor, EngineStages, SUBSYSTEMS } from "./engine-memory.js";
export type { EngineMemoryOptions, SubsystemName, TempStageReport } from "./engine-memory.js";
export { MemkitGame } from "./game/game.js";
export { GAME_RECORD_LAYOUT, GAME_RECORD_BYTES, RECORD_CONTAINERS, RECORD_NUMBERS } from "./game/game-record.js";
export type { GameState } from "./game/game-record.js";
export { saveGame, restoreGame, GAME_ROOT } from "./memory-save.js";
export { BaselineGame } from "./baseline/baseline-game.js";
export { NO_STAGE_HOOKS } from "./game/simulation.js";
export type { Simulation, StageHooks } from "./game/simulation.js";
export type { GameConfig, SimSummary } from "./game/config.js";
export { drive } from "./driver.js";
export type { DriveResult, Driven, DriveOptions, PlayReport, WarmupReport, StageTiming } from "./driver.js";
export { runMemkit, reportLabel } from "./memkit-run.js";
export type { MemkitRun, MemkitRunOptions, MemoryReportJson } from "./memkit-run.js";
export { JobSystem, JobError } from "./jobs/job-system.js";
export type { JobSystemOptions, JobThread, SpawnJobWorker } from "./jobs/job-system.js";
export type { FrameJobs } from "./game/game.js";
export { runBaseline } from "./baseline-run.js";
