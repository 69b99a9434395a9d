import { CorruptionError, hex } from "@memkit/core";
import type { TraceAllocator } from "@memkit/trace-allocator";
import { CELLS, KIND_COUNT, MAX_VOICES, SOUND_COUNT, SOUND_LENGTH, SPAWNS_PER_TEAM, TEAMS } from "./config.js";
import type { MemkitGame } from "./game.js";

/**
 * Checks what ties the subsystems together between two play frames: one
 * record per unit in gameplay, physics and the AI, each named by a live
 * handle that maps back to its index; team counts that match the units; every
 * raw block a record points to (inventories, paths, assets, sound samples) a
 * live block of its subsystem's scope, large enough; a loaded level and voice
 * bank; an empty event queue. Each container checks itself on restore; this
 * checks the game. Throws CorruptionError at the first fault (`who` opens the
 * message). Cold: O(units), run after a restore.
 */
export function checkGame(game: MemkitGame, who: string): void {
  const { gameplay, physics, ai, level, audio } = game;
  const fail = (what: string): never => {
    throw new CorruptionError(`${who}: ${what}; the memory does not hold a game between two frames.`);
  };
  const n = gameplay.units.length;
  if (physics.bodies.length !== n || ai.brains.length !== n || gameplay.entities.size !== n) {
    fail(`${n} units, but ${physics.bodies.length} bodies, ${ai.brains.length} brains and ${gameplay.entities.size} live handles`);
  }
  if (gameplay.team0 + gameplay.team1 !== n) fail(`the team counts (${gameplay.team0} + ${gameplay.team1}) do not add up to the ${n} units`);
  let team0 = 0;
  for (let i = 0; i < n; i++) {
    const handle = gameplay.handle.get(i);
    if (!gameplay.entities.isAlive(handle) || gameplay.dense.get(handle) !== i || physics.handle.get(i) !== handle) {
      fail(`unit ${i}'s handle ${hex(handle)} does not name it in gameplay and physics`);
    }
    const team = gameplay.team.get(i);
    if (team >= TEAMS || physics.team.get(i) !== team || gameplay.kind.get(i) >= KIND_COUNT) fail(`unit ${i} has team ${team}, kind ${gameplay.kind.get(i)}`);
    if (team === 0) team0++;
    liveBlock(gameplay.mem, gameplay.inventory.get(i), 8, `unit ${i}'s inventory`, fail);
    const path = ai.path.get(i);
    const length = ai.pathLen.get(i);
    if (path !== 0) liveBlock(ai.mem, path, length * 16, `unit ${i}'s path of ${length} waypoints`, fail);
    if ((path === 0 && length !== 0) || ai.pathPos.get(i) > length) fail(`unit ${i}'s path ${hex(path)} of ${length} waypoints at waypoint ${ai.pathPos.get(i)}`);
  }
  if (team0 !== gameplay.team0) fail(`gameplay.team0 says ${gameplay.team0} units, the records ${team0}`);
  if (gameplay.events.length !== 0) fail(`${gameplay.events.length} events are queued`);
  if (level.tiles.length !== CELLS || level.flow.length !== TEAMS * CELLS || level.spawns.length !== TEAMS * SPAWNS_PER_TEAM) {
    fail(`the level has ${level.tiles.length} tiles, ${level.flow.length} flow cells and ${level.spawns.length} spawn points`);
  }
  if (level.assetIndex.size !== level.assets.length) fail(`the asset index lists ${level.assetIndex.size} of ${level.assets.length} assets`);
  for (let i = 0; i < level.assets.length; i++) liveBlock(level.mem, level.assets.get(i, "ptr"), level.assets.get(i, "bytes"), `asset ${i}`, fail);
  if (audio.bank.length !== SOUND_COUNT) fail(`the voice bank holds ${audio.bank.length} of ${SOUND_COUNT} sounds`);
  for (let s = 0; s < SOUND_COUNT; s++) {
    if (audio.bank.get(s, "length") !== SOUND_LENGTH[s]) fail(`sound ${s} has ${audio.bank.get(s, "length")} samples`);
    liveBlock(audio.mem, audio.bank.get(s, "ptr"), SOUND_LENGTH[s]! * 4, `sound ${s}'s samples`, fail);
  }
  if (audio.active.length > MAX_VOICES || audio.voices.size !== audio.active.length) fail(`${audio.active.length} active voices, ${audio.voices.size} live`);
  for (let v = 0; v < audio.active.length; v++) {
    const voice = audio.active.get(v);
    if (!audio.voices.isAlive(voice) || audio.voices.get(voice, "sound") >= SOUND_COUNT) fail(`active voice ${hex(voice)} is not a live voice of a known sound`);
  }
}

/** `fail`s naming `what` unless `ptr` is a live block of `scope` with at least `bytes` usable bytes. */
function liveBlock(scope: TraceAllocator, ptr: number, bytes: number, what: string, fail: (what: string) => never): void {
  if (ptr === 0 || !scope.owns(ptr) || scope.allocatedSize(ptr) < bytes) fail(`${what} (${hex(ptr)}, ${bytes} B) is not a live block of ${scope.path}`);
}
