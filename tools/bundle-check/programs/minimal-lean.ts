// The minimal browser program: init, one scope, one HashMap, through the lean
// entry without the debug allocators, @memkit/memory-globals/lean.
import { MemoryGlobals } from "@memkit/memory-globals/lean";
import { HashMap } from "@memkit/containers";

const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
const game = memory.scope("game");
const entities = new HashMap(game, { key: "u32", value: "f64", name: "entities" });
entities.set(7, 2.5);
console.log(`entity 7: ${entities.get(7, 0)}`);
entities.dispose();
game.dispose();
memory.shutdown();
