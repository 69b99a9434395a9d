import { DynamicArray, HandlePool, HashMap, StructArray, defineStruct, type PoolField, type StructField } from "@memkit/containers";
import type { TraceAllocator } from "@memkit/trace-allocator";
import {
  EVENT_DEATH,
  EVENT_FIRE,
  EVENT_HIT,
  EVENT_SPAWN,
  MAX_STARTS_PER_SOUND,
  MAX_VOICES,
  SAMPLES_PER_FRAME,
  SOUND_COUNT,
  SOUND_LENGTH,
  WORLD_SIZE,
  mix32,
  soundSample,
} from "./config.js";
import type { Engine } from "./engine.js";
import { E_X, E_Y, type EventQueue } from "./events.js";
import { restoreContainer, type GameState } from "./game-record.js";
import { fieldWord } from "./record-words.js";

const Sound = defineStruct({ ptr: "u32", length: "u32" });
const Voice = defineStruct({ gain: "f64", pos: "u32", sound: "u8" });
const GAIN = fieldWord(Voice, "gain", 8);

/**
 * Sound: events start voices, voices are mixed into the frame's buffer.
 *
 * Memory:
 * - the voice bank (scope `root/audio`): one block of f32 samples per sound,
 *   loaded with the level and freed when it unloads — unless the run was
 *   started with `--leak`, which "forgets" the death sound's samples to show
 *   the teardown assert.
 * - `voices`: a HandlePool of playing voices (handles churn as sounds start
 *   and end); `active` lists them oldest first, so a full mixer steals the
 *   oldest voice.
 * - `starts`: sound -> voices started this frame (cleared every frame), so
 *   fifty shots in one frame start three voices, not fifty.
 * - the mix buffer: SAMPLES_PER_FRAME f32 samples in frame memory.
 */
export class Audio implements Disposable {
  readonly mem: TraceAllocator;
  readonly bank: StructArray<typeof Sound>;
  readonly voices: HandlePool<typeof Voice>;
  readonly active: DynamicArray<"u32">;
  readonly starts: HashMap<"u32", "u32">;
  soundsPlayed = 0;
  voicesStolen = 0;
  peakVoices = 0;
  mixHash = 0;
  readonly #bankPtr: StructField<"u32">;
  readonly #bankLength: StructField<"u32">;
  readonly #pos: PoolField<"u32">;
  readonly #sound: PoolField<"u8">;
  readonly #engine: Engine;
  readonly #events: EventQueue;
  readonly #leak: boolean;
  #bankLoaded = false;

  /** `saved`: the state of a saved game, whose voice bank and voices this takes over (MemkitGame.restore). */
  constructor(engine: Engine, events: EventQueue, saved?: GameState) {
    this.#engine = engine;
    this.#events = events;
    this.#leak = engine.config.leak;
    const mem = (this.mem = engine.scope("audio"));
    if (saved === undefined) {
      this.bank = new StructArray(mem, Sound, engine.containerOptions("voice bank", SOUND_COUNT));
      this.voices = new HandlePool(mem, Voice, engine.containerOptions("voices", MAX_VOICES));
      this.active = new DynamicArray(mem, "u32", engine.containerOptions("active voices", MAX_VOICES));
      this.starts = new HashMap(mem, { key: "u32", value: "u32", ...engine.containerOptions("starts", SOUND_COUNT) });
    } else {
      const options = engine.restoreOptions();
      this.bank = restoreContainer(saved, "audio.bank", (p) => StructArray.restore(mem, p, Sound, options));
      this.voices = restoreContainer(saved, "audio.voices", (p) => HandlePool.restore(mem, p, Voice, options));
      this.active = restoreContainer(saved, "audio.active", (p) => DynamicArray.restore(mem, p, { kind: "u32", ...options }));
      this.starts = restoreContainer(saved, "audio.starts", (p) => HashMap.restore(mem, p, { key: "u32", value: "u32", ...options }));
      const n = saved.numbers;
      this.soundsPlayed = n["audio.soundsPlayed"];
      this.voicesStolen = n["audio.voicesStolen"];
      this.peakVoices = n["audio.peakVoices"];
      this.mixHash = n["audio.mixHash"];
      // The bank is loaded exactly when it holds sounds (unloadVoiceBank clears it).
      this.#bankLoaded = this.bank.length > 0;
    }
    this.#bankPtr = this.bank.field("ptr");
    this.#bankLength = this.bank.field("length");
    this.#pos = this.voices.field("pos");
    this.#sound = this.voices.field("sound");
  }

  /** Loads the samples of every sound: one block each. */
  loadVoiceBank(): void {
    for (let s = 0; s < SOUND_COUNT; s++) {
      const length = SOUND_LENGTH[s]!;
      const ptr = this.mem.allocate(length * 4);
      const f32 = this.#engine.views.f32;
      const base = ptr >>> 2;
      for (let i = 0; i < length; i++) f32[base + i] = soundSample(s, i);
      const k = this.bank.push();
      this.#bankPtr.set(k, ptr);
      this.#bankLength.set(k, length);
    }
    this.#bankLoaded = true;
  }

  /** Frees the samples — all but the death sound's when the run leaks on purpose. */
  unloadVoiceBank(): void {
    if (!this.#bankLoaded) return;
    this.#bankLoaded = false;
    for (let s = 0; s < this.bank.length; s++) {
      if (this.#leak && s === EVENT_DEATH - 1) continue;
      this.mem.deallocate(this.#bankPtr.get(s));
    }
    this.bank.clear();
  }

  /** Starts voices for the frame's events (at most MAX_STARTS_PER_SOUND per sound), then mixes. */
  update(): void {
    const events = this.#events;
    const starts = this.starts;
    for (let e = 0; e < events.length; e++) {
      const type = events.type.get(e);
      if (type !== EVENT_FIRE && type !== EVENT_HIT && type !== EVENT_DEATH && type !== EVENT_SPAWN) continue;
      const sound = type - 1;
      const started = starts.get(sound, 0);
      if (started >= MAX_STARTS_PER_SOUND) continue;
      starts.set(sound, started + 1);
      const voice = this.#play(sound);
      // soundGain(x, y), written out, and stored straight into the voice's
      // record: no double crosses a call (a call V8 does not inline boxes it).
      const f64 = this.#engine.views.f64;
      const from = events.word(e);
      const dx = f64[from + E_X]! - WORLD_SIZE / 2;
      const dy = f64[from + E_Y]! - WORLD_SIZE / 2;
      f64[(this.voices.recordPtr(voice) >>> 3) + GAIN] = 1 / (1 + Math.sqrt(dx * dx + dy * dy) / 512);
    }
    starts.clear();
    this.#mix();
  }

  /** Starts a voice of `sound` (stealing the oldest when every voice plays) and returns its handle. */
  #play(sound: number): number {
    const active = this.active;
    if (active.length >= MAX_VOICES) {
      this.voices.destroy(active.removeAt(0));
      this.voicesStolen++;
    }
    const voice = this.voices.create();
    this.#sound.set(voice, sound);
    active.push(voice);
    this.soundsPlayed++;
    if (active.length > this.peakVoices) this.peakVoices = active.length;
    return voice;
  }

  /** Sums every voice into a frame-memory buffer; voices that reach their end are destroyed. */
  #mix(): void {
    const out = this.#engine.memory.frame.allocate(SAMPLES_PER_FRAME * 4) >>> 2;
    // Nothing below allocates (destroying a voice and removing it from `active` never grows anything): the views stay valid.
    const f32 = this.#engine.views.f32;
    const f64 = this.#engine.views.f64;
    f32.fill(0, out, out + SAMPLES_PER_FRAME);
    const active = this.active;
    for (let v = 0; v < active.length; ) {
      const voice = active.get(v);
      const sound = this.#sound.get(voice);
      const gain = f64[(this.voices.recordPtr(voice) >>> 3) + GAIN]!;
      const pos = this.#pos.get(voice);
      const samples = this.#bankPtr.get(sound) >>> 2;
      const length = this.#bankLength.get(sound);
      const n = length - pos < SAMPLES_PER_FRAME ? length - pos : SAMPLES_PER_FRAME;
      for (let k = 0; k < n; k++) f32[out + k] = f32[out + k]! + f32[samples + pos + k]! * gain;
      if (pos + SAMPLES_PER_FRAME >= length) {
        this.voices.destroy(voice);
        active.removeAt(v);
        continue;
      }
      this.#pos.set(voice, pos + SAMPLES_PER_FRAME);
      v++;
    }
    let hash = this.mixHash;
    for (let k = 0; k < SAMPLES_PER_FRAME; k += 49) hash = mix32(hash, Math.round(f32[out + k]! * 1024) | 0);
    this.mixHash = hash;
  }

  /** Persists the voice bank, the voices and the start counts into `state` (MemkitGame.persist). The mix buffer is frame memory: not saved. */
  saveState(state: GameState): void {
    state.containers["audio.bank"] = this.bank.persist();
    state.containers["audio.voices"] = this.voices.persist();
    state.containers["audio.active"] = this.active.persist();
    state.containers["audio.starts"] = this.starts.persist();
    const n = state.numbers;
    n["audio.soundsPlayed"] = this.soundsPlayed;
    n["audio.voicesStolen"] = this.voicesStolen;
    n["audio.peakVoices"] = this.peakVoices;
    n["audio.mixHash"] = this.mixHash;
  }

  /** Frees the containers and (unless leaking) the voice bank. Idempotent. */
  unload(): void {
    this.unloadVoiceBank();
    this.starts.dispose();
    this.active.dispose();
    this.voices.dispose();
    this.bank.dispose();
  }

  [Symbol.dispose](): void {
    this.unload();
    this.mem.dispose();
  }
}
