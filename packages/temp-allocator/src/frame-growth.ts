import { InvalidArgumentError, describe, formatBytes, formatSize } from "@memkit/core";

/** What {@link FrameAllocatorOptions.onFrameGrowth} receives when a frame grows past its limit. */
export interface FrameGrowthWarning {
  /** The frame allocator's name. */
  allocator: string;
  /** The frame that grew (0 before the first beginFrame()). */
  frame: number;
  /** Bytes allocated in that frame so far (sizes asked for). */
  bytes: number;
  /** The typical frame's bytes it was compared with (at least one chunk). */
  typicalBytes: number;
  /** The multiple of typicalBytes that was exceeded. */
  factor: number;
  /** False when beginFrame() was never called: every allocation so far is in frame 0. */
  beganFrames: boolean;
  /** The sentence the default handler prints with console.warn. */
  message: string;
}

/** Default multiple of the typical frame a frame may reach before the warning. */
export const DEFAULT_GROWTH_WARNING_FACTOR = 8;

/** Weight of the newest frame in the running typical size (an exponential average over roughly the last 16 frames). */
const TYPICAL_WEIGHT = 1 / 16;
/**
 * Frames seen before the average is trusted. Until then the typical frame is
 * at least this many chunks: the first frames after loading are often the
 * largest, and one frame of history says little.
 */
const WARM_UP_FRAMES = 16;

/** Validates the growth options for `who`. */
export function resolveGrowthOptions(
  who: string,
  factor: unknown,
  handler: unknown,
): { factor: number; handler: ((warning: FrameGrowthWarning) => void) | undefined } {
  const f = factor ?? DEFAULT_GROWTH_WARNING_FACTOR;
  if (typeof f !== "number" || !(f > 1)) {
    throw new InvalidArgumentError(`${who}: option growthWarningFactor must be a number above 1 (Infinity turns the warning off), received ${describe(factor)}.`);
  }
  if (handler !== undefined && typeof handler !== "function") {
    throw new InvalidArgumentError(`${who}: option onFrameGrowth must be a function (it receives a FrameGrowthWarning), received ${describe(handler)}.`);
  }
  return { factor: f, handler: handler as ((warning: FrameGrowthWarning) => void) | undefined };
}

/**
 * Watches frame sizes for a frame allocator: a running typical frame size
 * (updated once per beginFrame) and the byte limit the current frame may
 * reach before the warning fires, once per allocator. The allocator compares
 * only when it chains a chunk, so allocation within a chunk pays nothing.
 */
export class FrameGrowthWatch {
  /** Bytes the current frame may hold before the warning; Infinity once it fired (or when switched off). */
  limit: number;
  readonly #factor: number;
  readonly #handler: ((warning: FrameGrowthWarning) => void) | undefined;
  readonly #chunkSize: number;
  #typical = 0;
  #framesSeen = 0;

  constructor(factor: number, handler: ((warning: FrameGrowthWarning) => void) | undefined, chunkSize: number) {
    this.#factor = factor;
    this.#handler = handler;
    this.#chunkSize = chunkSize;
    this.limit = factor * chunkSize;
  }

  /** A frame that held `bytes` ended: fold it into the typical size and set the next frame's limit. */
  frameEnded(bytes: number): void {
    this.#typical = this.#framesSeen === 0 ? bytes : this.#typical + (bytes - this.#typical) * TYPICAL_WEIGHT;
    this.#framesSeen++;
    if (this.limit !== Number.POSITIVE_INFINITY) this.limit = this.#factor * this.#baseline();
  }

  /** The typical frame's bytes the limit is a multiple of. */
  #baseline(): number {
    return Math.max(this.#typical, this.#framesSeen < WARM_UP_FRAMES ? WARM_UP_FRAMES * this.#chunkSize : this.#chunkSize);
  }

  /** The current frame holds `bytes`, past the limit: report it (once). */
  exceeded(allocator: string, frame: number, bytes: number): void {
    this.limit = Number.POSITIVE_INFINITY;
    const beganFrames = frame > 0;
    const typicalBytes = Math.round(this.#baseline());
    const factor = this.#factor;
    const message = beganFrames
      ? `${allocator}: frame ${frame} holds ${formatSize(bytes)}, more than ${factor}× the typical frame (${formatBytes(typicalBytes)}, averaged over recent frames). ` +
        `A frame that grows like this is usually running many frames' work without beginFrame(), or allocating data that belongs in a longer-lived allocator. ` +
        `(Reported once; pass onFrameGrowth to handle it, growthWarningFactor to change the multiple.)`
      : `${allocator}: frame 0 holds ${formatSize(bytes)}, more than ${factor}× a chunk (${formatBytes(this.#chunkSize)}), and beginFrame() was never called: ` +
        `frame memory is recycled only by beginFrame(), so until then every allocation stays. Call it once per frame (MemoryGlobals.beginFrame() does). ` +
        `(Reported once; pass onFrameGrowth to handle it, growthWarningFactor to change the multiple.)`;
    const warning: FrameGrowthWarning = { allocator, frame, bytes, typicalBytes, factor, beganFrames, message };
    if (this.#handler !== undefined) this.#handler(warning);
    else console.warn(message);
  }
}
