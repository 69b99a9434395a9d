import { TraceKind } from "./format.js";
import type { TraceEvents } from "./format.js";
import type { OpSequence } from "../workloads.js";

/** `OpSequence.flags` bit: the allocation's bytes are zeroed (calloc). */
export const FLAG_ZERO = 0x80;
/** `OpSequence.flags` low bits: log2 of the alignment asked for (0: the default). */
export const FLAG_ALIGN_MASK = 0x1f;

/**
 * Turns trace events into the bench's op sequence: block ids become handle
 * slots, ALLOC/CALLOC/ALIGNED allocate (size > 0), FREE frees (0), REALLOC
 * reallocates (-size), and `flags` carries what the synthetic workloads never
 * need: zeroing and alignment. Any producer of TraceEvents (a recorded
 * program, memkit's own allocation log) replays through this and the
 * runner's trace loop. `malloc(0)` becomes a 1-byte request: every
 * allocation writes its first and last byte.
 */
export function traceOps(events: TraceEvents, count: number = events.count): OpSequence {
  const n = Math.min(count, events.count);
  const slots = events.ids.slice(0, n);
  const sizes = new Int32Array(n);
  const flags = new Uint8Array(n);
  let slotCount = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.max(1, events.sizes[i]!);
    if (slots[i]! >= slotCount) slotCount = slots[i]! + 1;
    switch (events.kinds[i]) {
      case TraceKind.ALLOC:
        sizes[i] = size;
        break;
      case TraceKind.CALLOC:
        sizes[i] = size;
        flags[i] = FLAG_ZERO;
        break;
      case TraceKind.ALIGNED:
        sizes[i] = size;
        flags[i] = events.alignLog2[i]! & FLAG_ALIGN_MASK;
        break;
      case TraceKind.REALLOC:
        sizes[i] = -size;
        break;
      case TraceKind.FREE:
        sizes[i] = 0;
        break;
      default:
        throw new RangeError(`event ${i}: unknown kind ${events.kinds[i]}`);
    }
  }
  return { slots, sizes, count: n, slotCount, flags };
}

/** Largest alignment an op sequence asks for (8 when none asks). */
export function maxAlignOf(ops: OpSequence): number {
  let log2 = 3;
  const flags = ops.flags;
  if (flags) for (let i = 0; i < ops.count; i++) if (ops.sizes[i]! > 0) log2 = Math.max(log2, flags[i]! & FLAG_ALIGN_MASK);
  return 2 ** log2;
}
