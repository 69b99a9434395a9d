#!/usr/bin/env node
/*
 * The sample game's command line: `npm start` from the repository root runs
 * it (node --expose-gc samples/game-loop/dist/main.js), `--help` lists the flags.
 */
import { run } from "./run.js";

process.exitCode = await run(process.argv.slice(2));
