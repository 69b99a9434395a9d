import { InvalidArgumentError, describe, formatBytes, formatSize } from "@memkit/core";
import { D_LIMIT, D_TYPICAL, W_FRAMES_SEEN } from "./frame-layout.js";

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
export function resolveGrowthFactor(who: string, factor: unknown): number {
  const f = factor ?? DEFAULT_GROWTH_WARNING_FACTOR;
  if (typeof f !== "number" || !(f > 1)) {
    throw new InvalidArgumentError(`${who}: option growthWarningFactor must be a number above 1 (Infinity turns the warning off), received ${describe(factor)}.`);
  }
  return f;
}

/** Validates the onFrameGrowth option for `who`. */
export function resolveGrowthHandler(who: string, handler: unknown): ((warning: FrameGrowthWarning) => void) | undefined {
  if (handler !== undefined && typeof handler !== "function") {
    throw new InvalidArgumentError(`${who}: option onFrameGrowth must be a function (it receives a FrameGrowthWarning), received ${describe(handler)}.`);
  }
  return handler as ((warning: FrameGrowthWarning) => void) | undefined;
}

/*
 * The watch over frame sizes: a running typical frame size (updated once per
 * beginFrame) and the byte limit the current frame may reach before the
 * warning fires, once per allocator. Its state is in the frame allocator's
 * control block (frame-layout.ts: D_TYPICAL, W_FRAMES_SEEN, D_LIMIT; the
 * factor is the fixed D_FACTOR), so every handle shares it and the warning
 * fires once whichever handle sees it; the handler is each handle's own. The
 * allocator compares only when it chains a chunk, so allocation within a
 * chunk pays nothing.
 */

/** The limit before the first frame ends: `factor` chunks. */
export function initialLimit(factor: number, chunkBytes: number): number {
  return factor * chunkBytes;
}

/** The typical frame's bytes the limit is a multiple of. */
function baseline(typical: number, framesSeen: number, chunkBytes: number): number {
  return Math.max(typical, framesSeen < WARM_UP_FRAMES ? WARM_UP_FRAMES * chunkBytes : chunkBytes);
}

/** A frame that held `bytes` ended: fold it into the typical size and set the next frame's limit. */
export function frameEnded(u32: Uint32Array, f64: Float64Array, w: number, d: number, bytes: number, factor: number, chunkBytes: number): void {
  const seen = u32[w + W_FRAMES_SEEN]!;
  const typical = seen === 0 ? bytes : f64[d + D_TYPICAL]! + (bytes - f64[d + D_TYPICAL]!) * TYPICAL_WEIGHT;
  f64[d + D_TYPICAL] = typical;
  if (seen !== 0xffff_ffff) u32[w + W_FRAMES_SEEN] = seen + 1;
  if (f64[d + D_LIMIT] !== Number.POSITIVE_INFINITY) f64[d + D_LIMIT] = factor * baseline(typical, seen + 1, chunkBytes);
}

/** The current frame holds `bytes`, past the limit: report it (once per allocator: the limit becomes Infinity). */
export function frameExceeded(
  u32: Uint32Array,
  f64: Float64Array,
  w: number,
  d: number,
  allocator: string,
  frame: number,
  bytes: number,
  factor: number,
  chunkBytes: number,
  handler: ((warning: FrameGrowthWarning) => void) | undefined,
): void {
  f64[d + D_LIMIT] = Number.POSITIVE_INFINITY;
  const beganFrames = frame > 0;
  const typicalBytes = Math.round(baseline(f64[d + D_TYPICAL]!, u32[w + W_FRAMES_SEEN]!, chunkBytes));
  const message = beganFrames
    ? `${allocator}: frame ${frame} holds ${formatSize(bytes)}, more than ${factor}× the typical frame (${formatBytes(typicalBytes)}, averaged over recent frames). ` +
      `A frame that grows like this is usually running many frames' work without beginFrame(), or allocating data that belongs in a longer-lived allocator. ` +
      `(Reported once; pass onFrameGrowth to handle it, growthWarningFactor to change the multiple.)`
    : `${allocator}: frame 0 holds ${formatSize(bytes)}, more than ${factor}× a chunk (${formatBytes(chunkBytes)}), and beginFrame() was never called: ` +
      `frame memory is recycled only by beginFrame(), so until then every allocation stays. Call it once per frame (MemoryGlobals.beginFrame() does). ` +
      `(Reported once; pass onFrameGrowth to handle it, growthWarningFactor to change the multiple.)`;
  const warning: FrameGrowthWarning = { allocator, frame, bytes, typicalBytes, factor, beganFrames, message };
  if (handler !== undefined) handler(warning);
  else console.warn(message);
}
