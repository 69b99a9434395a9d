// `npm start`: runs the sample game when it is built, else a short demo that
// shows memkit is installed. turbo builds every package before this runs.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

const game = new URL("../samples/game-loop/dist/main.js", import.meta.url).pathname;
if (existsSync(game)) {
  const result = spawnSync(process.execPath, ["--expose-gc", game, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

const { MemoryGlobals } = await import("@memkit/memory-globals");
const { formatBytes, hex } = await import("@memkit/core");
const memory = MemoryGlobals.init({ initialBytes: 4 << 20, maximumBytes: 64 << 20 });
const span = memory.pages.allocate(200_000);
console.log("memkit is installed.");
console.log(`  address space: ${formatBytes(memory.space.byteLength)} of ${formatBytes(memory.space.maximumBytes)}`);
console.log(`  bootstrap region: ${formatBytes(memory.bootstrap.usedBytes)} used at ${hex(memory.bootstrap.base)}`);
console.log(`  a ${formatBytes(memory.pages.allocatedSize(span))} page span at ${hex(span)}`);
memory.pages.deallocate(span);
memory.pages.check();
memory.shutdown();
console.log("  shutdown clean.");
