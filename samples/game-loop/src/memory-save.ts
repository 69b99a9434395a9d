/*
 * Saving the engine's memory with the game in it, and restoring both in
 * another process: the code paths of --save and --restore. The game's side
 * is MemkitGame.persist / MemkitGame.restore; the memory's side is
 * memory.save(), MemoryGlobals.restore(bytes) and a named root
 * (memory.setRoot / memory.root) through which the restored memory finds the game.
 */
import { MemoryGlobals } from "@memkit/memory-globals";
import type { GameConfig } from "./game/config.js";
import { MemkitGame } from "./game/game.js";

/** The named root the game record is saved under. */
export const GAME_ROOT = "game";

/**
 * Persists `game` (between play frames: see MemkitGame.persist), names its
 * record root "game", and saves the memory. The game plays on unchanged.
 */
export function saveGame(memory: MemoryGlobals, game: MemkitGame): Uint8Array {
  memory.setRoot(GAME_ROOT, game.persist());
  return memory.save();
}

/**
 * Restores a memory saved by {@link saveGame} and the game in it, ready to
 * play on. `config`: as MemkitGame.restore's (checked against the save;
 * `frames` is taken). If the game cannot be restored, the memory is shut down
 * before the error is thrown.
 */
export function restoreGame(bytes: Uint8Array, config: Partial<GameConfig> = {}): { memory: MemoryGlobals; game: MemkitGame } {
  const memory = MemoryGlobals.restore(bytes);
  try {
    return { memory, game: MemkitGame.restore(memory, memory.root(GAME_ROOT), config) };
  } catch (err) {
    try {
      memory.shutdown();
    } catch {
      // The restore's failure is the one worth reporting (shutdown finds the game's blocks still live).
    }
    throw err;
  }
}
