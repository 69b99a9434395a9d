import type { GameArgs } from "./cli-args.js";
import { BaselineGame } from "./baseline/baseline-game.js";
import { drive, type DriveResult } from "./driver.js";
import { NO_STAGE_HOOKS } from "./game/simulation.js";
import type { GcObserver } from "./stats/gc-observer.js";
import type { ProgressStream } from "./stats/progress.js";

/** Runs the plain-JS baseline through the same stages and measurements as the memkit game. */
export async function runBaseline(args: GameArgs, gc: GcObserver, progress: ProgressStream | undefined): Promise<DriveResult> {
  const config = { frames: args.frames, entities: args.entities, seed: args.seed, leak: false };
  const { sim, ...result } = await drive(() => new BaselineGame(config), NO_STAGE_HOOKS, { frames: args.frames, warmup: args.warmup, gc, progress, label: "baseline" });
  sim[Symbol.dispose]();
  return result;
}
