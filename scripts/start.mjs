// `npm start`: plays the sample game (turbo has built every package first).
// Arguments after `npm start --` go to the game: `npm start -- --compare`.
import { spawnSync } from "node:child_process";

const game = new URL("../samples/game-loop/dist/main.js", import.meta.url).pathname;
const result = spawnSync(process.execPath, ["--expose-gc", game, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
