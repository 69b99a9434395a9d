/*
 * Saving the engine's memory with the game in it, and restoring both in
 * another process: the code paths of --save and --restore. The game's side
 * is MemkitGame.persist / MemkitGame.restore; the memory's side is the four
 * functions at the top, each one call into @memkit/memory-globals:
 *
 *   saveMemory(memory)        memory.save()
 *   restoreMemory(bytes)      MemoryGlobals.restore(bytes)
 *   setRoot(memory, name, p)  memory.setRoot(name, p)     (a named root: how a restored memory finds the game)
 *   getRoot(memory, name)     memory.root(name)
 *
 * Until memory-globals has them they throw, saying so, and
 * MEMORY_SAVE_AVAILABLE is false (the round-trip tests wait for it).
 */
import type { Ptr } from "@memkit/core";
import type { MemoryGlobals } from "@memkit/memory-globals";
import type { GameConfig } from "./game/config.js";
import { MemkitGame } from "./game/game.js";

/** True once the four functions below save and restore for real. */
export const MEMORY_SAVE_AVAILABLE: boolean = false;

/** The named root the game record is saved under. */
export const GAME_ROOT = "game";

function unavailable(what: string): Error {
  return new Error(`${what} is not available until MemoryGlobals.save/restore exist (memory.save(), MemoryGlobals.restore(bytes), memory.setRoot/root).`);
}

/** The used part of the address space plus what restoring needs: `memory.save()`. */
export function saveMemory(_memory: MemoryGlobals): Uint8Array {
  throw unavailable("saveMemory");
}

/** A memory in which every allocator, scope, block and root is where it was: `MemoryGlobals.restore(bytes)`. */
export function restoreMemory(_bytes: Uint8Array): MemoryGlobals {
  throw unavailable("restoreMemory");
}

/** Names `ptr` as root `name` of the memory, saved with it: `memory.setRoot(name, ptr)`. */
export function setRoot(_memory: MemoryGlobals, _name: string, _ptr: Ptr): void {
  throw unavailable("setRoot");
}

/** The pointer saved as root `name`: `memory.root(name)`. */
export function getRoot(_memory: MemoryGlobals, _name: string): Ptr {
  throw unavailable("getRoot");
}

/**
 * Persists `game` (between play frames: see MemkitGame.persist), names its
 * record root "game", and saves the memory. The game plays on unchanged.
 */
export function saveGame(memory: MemoryGlobals, game: MemkitGame): Uint8Array {
  setRoot(memory, GAME_ROOT, game.persist());
  return saveMemory(memory);
}

/**
 * Restores a memory saved by {@link saveGame} and the game in it, ready to
 * play on. `config`: as MemkitGame.restore's (checked against the save;
 * `frames` is taken). If the game cannot be restored, the memory is shut down
 * before the error is thrown.
 */
export function restoreGame(bytes: Uint8Array, config: Partial<GameConfig> = {}): { memory: MemoryGlobals; game: MemkitGame } {
  const memory = restoreMemory(bytes);
  try {
    return { memory, game: MemkitGame.restore(memory, getRoot(memory, GAME_ROOT), config) };
  } catch (err) {
    try {
      memory.shutdown();
    } catch {
      // The restore's failure is the one worth reporting (shutdown finds the game's blocks still live).
    }
    throw err;
  }
}
