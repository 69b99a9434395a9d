import { writeFileSync } from "node:fs";
import type { MemoryGlobals } from "@memkit/memory-globals";
import type { GameArgs } from "./cli-args.js";

/*
 * --record FILE: the allocation log of the whole memkit run (load, warm-up,
 * play, unload and the teardown's frees), written to FILE for
 * `npm run memreport -- replay FILE`. Only the main thread's scopes are
 * recorded, so --record does not go with --workers.
 */

/** Starts the log when --record asked for it. */
export function startRecord(memory: MemoryGlobals, args: GameArgs): void {
  if (args.record !== undefined) memory.startRecording();
}

/** After the teardown: writes the log (shutdown ended it) to the --record file. */
export function writeRecord(memory: MemoryGlobals, args: GameArgs, label: string): void {
  if (args.record !== undefined) writeFileSync(args.record, memory.stopRecording(label));
}
