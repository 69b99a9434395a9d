import {
  EVENT_DEATH,
  EVENT_FIRE,
  EVENT_HIT,
  EVENT_SPAWN,
  MAX_STARTS_PER_SOUND,
  MAX_VOICES,
  SAMPLES_PER_FRAME,
  mixFloat,
  soundGain,
} from "../game/config.js";
import type { BaselineGame } from "./baseline-game.js";

/** The baseline game's audio step: voices as objects, a fresh mix buffer per frame (baseline-game.ts). */
export function stepAudio(game: BaselineGame): void {
  const starts = game.starts;
  for (const e of game.events) {
    if (e.type !== EVENT_FIRE && e.type !== EVENT_HIT && e.type !== EVENT_DEATH && e.type !== EVENT_SPAWN) continue;
    const sound = e.type - 1;
    const started = starts.get(sound) ?? 0;
    if (started >= MAX_STARTS_PER_SOUND) continue;
    starts.set(sound, started + 1);
    if (game.active.length >= MAX_VOICES) game.active.shift();
    game.active.push({ sound, gain: soundGain(e.x, e.y), pos: 0 });
    game.soundsPlayed++;
  }
  starts.clear();
  const out = new Float32Array(SAMPLES_PER_FRAME);
  game.active = game.active.filter((voice) => {
    const samples = game.bank[voice.sound]!;
    const n = Math.min(SAMPLES_PER_FRAME, samples.length - voice.pos);
    for (let k = 0; k < n; k++) out[k] = out[k]! + samples[voice.pos + k]! * voice.gain;
    voice.pos += SAMPLES_PER_FRAME;
    return voice.pos < samples.length;
  });
  let hash = game.mixHash;
  for (let k = 0; k < SAMPLES_PER_FRAME; k += 49) hash = mixFloat(hash, out[k]!);
  game.mixHash = hash;
}
