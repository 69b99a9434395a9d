import { byteMovesFor, type ByteMoves } from "./byte-moves.js";
import { InvalidArgumentError, OutOfMemoryError } from "./errors.js";
import { formatBytes, formatCount, formatSize } from "./format.js";
import { describe } from "./validate.js";

/** Bytes in one WebAssembly page: the unit a `WebAssembly.Memory` grows by. */
export const WASM_PAGE_BYTES = 65536;

/**
 * The largest address space memkit manages: 2 GiB. Keeping every pointer below
 * 2^31 lets allocators use int32 arithmetic (`| 0`) and Int32Array indexes
 * without sign fix-ups on every hot path.
 */
export const MAX_ADDRESS_SPACE_BYTES = 2 ** 31;

/** Options for {@link AddressSpace.create}. */
export interface AddressSpaceOptions {
  /** Bytes committed at start; a multiple of 64 KiB. @defaultValue 16 MiB */
  initialBytes?: number;
  /** Bytes the memory may grow to; a multiple of 64 KiB, at most 2 GiB. @defaultValue 1 GiB */
  maximumBytes?: number;
  /** Back the space with a SharedArrayBuffer so workers can attach to it. @defaultValue false */
  shared?: boolean;
}

/** Options for {@link AddressSpace.attach}. */
export interface AttachOptions {
  /** The memory's maximum in bytes, when known (JS cannot read it back). @defaultValue 2 GiB */
  maximumBytes?: number;
}

/** Called after the memory grew; refresh any typed views held over it. */
export type GrowListener = (space: AddressSpace) => void;

const DEFAULT_INITIAL_BYTES = 16 << 20;
const DEFAULT_MAXIMUM_BYTES = 1 << 30;

/**
 * One linear address space over a `WebAssembly.Memory`.
 *
 * After `memory.grow` every old typed view silently reads 0 and drops writes
 * (on shared memory it keeps its old, short length). So all growth goes
 * through {@link grow}, which bumps {@link generation} and calls every
 * {@link onGrow} listener; allocators hold their own views and refresh them
 * there. The public views below also compare the buffer's identity on each
 * read, so code off the hot path is always safe. When a wasm module grows the
 * memory itself, call {@link refresh}.
 */
export class AddressSpace {
  /** The memory every pointer indexes into. */
  readonly memory: WebAssembly.Memory;
  /** True when backed by a SharedArrayBuffer. */
  readonly shared: boolean;
  /** Bytes the memory may grow to. */
  readonly maximumBytes: number;
  /**
   * Copy and fill inside the memory (wasm's memory.copy and memory.fill):
   * what allocators move blocks with. Unchecked beyond the memory's bounds;
   * they always see the memory as it is now, grown or not.
   */
  readonly bytes: ByteMoves;

  #buffer: ArrayBuffer | SharedArrayBuffer;
  #generation = 0;
  #listeners: GrowListener[] = [];
  #u8: Uint8Array;
  #i32: Int32Array;
  #u32: Uint32Array;
  #f32: Float32Array;
  #f64: Float64Array;
  #view: DataView;

  private constructor(memory: WebAssembly.Memory, maximumBytes: number) {
    this.memory = memory;
    this.maximumBytes = maximumBytes;
    this.#buffer = memory.buffer;
    this.shared = typeof SharedArrayBuffer !== "undefined" && this.#buffer instanceof SharedArrayBuffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#i32 = new Int32Array(this.#buffer);
    this.#u32 = new Uint32Array(this.#buffer);
    this.#f32 = new Float32Array(this.#buffer);
    this.#f64 = new Float64Array(this.#buffer);
    this.#view = new DataView(this.#buffer);
    this.bytes = byteMovesFor(memory, this.shared, () => this.u8);
  }

  /** Creates a new memory. Throws InvalidArgumentError naming the bad option. */
  static create(options: AddressSpaceOptions = {}): AddressSpace {
    const initialBytes = options.initialBytes ?? DEFAULT_INITIAL_BYTES;
    const maximumBytes = options.maximumBytes ?? Math.max(DEFAULT_MAXIMUM_BYTES, initialBytes);
    checkByteOption("initialBytes", initialBytes, 0);
    checkByteOption("maximumBytes", maximumBytes, WASM_PAGE_BYTES);
    if (maximumBytes < initialBytes) {
      throw new InvalidArgumentError(
        `AddressSpace.create: maximumBytes (${formatBytes(maximumBytes)}) is less than initialBytes (${formatBytes(initialBytes)}).`,
      );
    }
    const shared = options.shared ?? false;
    if (shared && typeof SharedArrayBuffer === "undefined") {
      throw new InvalidArgumentError(
        "AddressSpace.create: shared: true needs SharedArrayBuffer, which this environment does not offer (browsers need cross-origin isolation).",
      );
    }
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({
        initial: initialBytes / WASM_PAGE_BYTES,
        maximum: maximumBytes / WASM_PAGE_BYTES,
        shared,
      });
    } catch (cause) {
      throw new OutOfMemoryError(`AddressSpace.create: the engine refused a memory of ${formatSize(initialBytes)} (maximum ${formatSize(maximumBytes)}).`, { cause });
    }
    return new AddressSpace(memory, maximumBytes);
  }

  /** Adopts an existing memory: a wasm module's, or one a worker received. */
  static attach(memory: WebAssembly.Memory, options: AttachOptions = {}): AddressSpace {
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new InvalidArgumentError(`AddressSpace.attach: expected a WebAssembly.Memory, received ${describe(memory)}.`);
    }
    const maximumBytes = options.maximumBytes ?? MAX_ADDRESS_SPACE_BYTES;
    checkByteOption("maximumBytes", maximumBytes, WASM_PAGE_BYTES);
    if (maximumBytes < memory.buffer.byteLength) {
      throw new InvalidArgumentError(
        `AddressSpace.attach: maximumBytes (${formatBytes(maximumBytes)}) is less than the memory's current size (${formatBytes(memory.buffer.byteLength)}).`,
      );
    }
    return new AddressSpace(memory, maximumBytes);
  }

  /** Current size in bytes. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bumped every time the memory is seen to have grown. */
  get generation(): number {
    return this.#generation;
  }

  /** The current buffer (re-read after growth). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    this.refresh();
    return this.#buffer;
  }

  /** Byte view, valid whenever read. */
  get u8(): Uint8Array {
    this.refresh();
    return this.#u8;
  }

  /** Int32 view, valid whenever read. */
  get i32(): Int32Array {
    this.refresh();
    return this.#i32;
  }

  /** Uint32 view, valid whenever read. */
  get u32(): Uint32Array {
    this.refresh();
    return this.#u32;
  }

  /** Float32 view, valid whenever read. */
  get f32(): Float32Array {
    this.refresh();
    return this.#f32;
  }

  /** Float64 view, valid whenever read. */
  get f64(): Float64Array {
    this.refresh();
    return this.#f64;
  }

  /** DataView, valid whenever read. */
  get view(): DataView {
    this.refresh();
    return this.#view;
  }

  /**
   * Grows the memory by at least `deltaBytes` (rounded up to 64 KiB pages) and
   * returns the previous byte length: the address where the new bytes start.
   * Throws OutOfMemoryError past {@link maximumBytes}; nothing changes then.
   */
  grow(deltaBytes: number): number {
    if (!Number.isSafeInteger(deltaBytes) || deltaBytes < 0) {
      throw new InvalidArgumentError(`AddressSpace.grow: deltaBytes must be a non-negative integer, received ${describe(deltaBytes)}.`);
    }
    const before = this.byteLength;
    const pages = Math.ceil(deltaBytes / WASM_PAGE_BYTES);
    if (pages === 0) return before;
    const after = before + pages * WASM_PAGE_BYTES;
    if (after > this.maximumBytes) {
      throw new OutOfMemoryError(
        `AddressSpace.grow: cannot grow by ${formatSize(deltaBytes)} (${formatCount(pages)} wasm pages): ` +
          `${formatBytes(before)} in use of a ${formatBytes(this.maximumBytes)} maximum.\n` +
          `  Raise maximumBytes, or free memory first.`,
      );
    }
    try {
      this.memory.grow(pages);
    } catch (cause) {
      throw new OutOfMemoryError(`AddressSpace.grow: the engine refused to grow ${formatBytes(before)} by ${formatSize(deltaBytes)} (${formatCount(pages)} wasm pages).`, { cause });
    }
    this.refresh();
    return before;
  }

  /** Grows (if needed) so that at least `byteLength` bytes are addressable. */
  ensureByteLength(byteLength: number): void {
    const current = this.byteLength;
    if (byteLength > current) this.grow(byteLength - current);
  }

  /**
   * Registers `listener` to run after every growth. Returns a function that
   * unregisters it; allocators call it when destroyed.
   */
  onGrow(listener: GrowListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /**
   * Re-reads the buffer; if the memory grew behind our back (a wasm module or
   * another thread grew it), rebuilds the views and notifies listeners.
   * Returns true when it had grown.
   */
  refresh(): boolean {
    const buffer = this.memory.buffer;
    if (buffer === this.#buffer) return false;
    this.#buffer = buffer;
    this.#u8 = new Uint8Array(buffer);
    this.#i32 = new Int32Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#f32 = new Float32Array(buffer);
    this.#f64 = new Float64Array(buffer);
    this.#view = new DataView(buffer);
    this.#generation++;
    for (const listener of this.#listeners.slice()) listener(this);
    return true;
  }
}

function checkByteOption(option: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > MAX_ADDRESS_SPACE_BYTES || value % WASM_PAGE_BYTES !== 0) {
    throw new InvalidArgumentError(
      `AddressSpace: option ${option} must be a multiple of 64 KiB from ${formatBytes(min)} to 2 GiB, received ${describe(value)}.`,
    );
  }
}
