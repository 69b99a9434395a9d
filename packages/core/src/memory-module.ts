/**
 * A small wasm module that works on an allocator's memory: it imports the
 * memory as `env.memory` and exports functions JS calls on its hot paths
 * (core's byte moves, slot-allocator's hot paths, trace-allocator's record
 * steps). Its bytes come in two builds: for a private memory, and for a
 * shared one (a shared memory imports only as shared, with a maximum).
 * Compiled once per kind of memory, instantiated once per memory.
 */
export class MemoryModule<Exports extends object> {
  readonly #bytes: (shared: boolean) => Uint8Array<ArrayBuffer>;
  /** Per kind (0: private, 1: shared); null once compilation failed (a page whose CSP forbids it). */
  readonly #modules: (WebAssembly.Module | null | undefined)[] = [undefined, undefined];
  readonly #byMemory = new WeakMap<WebAssembly.Memory, Exports>();

  /** `bytes(shared)`: the module for that kind of memory (called at most once per kind). */
  constructor(bytes: (shared: boolean) => Uint8Array<ArrayBuffer>) {
    this.#bytes = bytes;
  }

  /** A module shipped as base64 text, one build per kind of memory (an allocator's generated source file). */
  static fromBase64<Exports extends object>(wasm: { readonly private: string; readonly shared: string }): MemoryModule<Exports> {
    return new MemoryModule<Exports>((shared) => Uint8Array.from(atob(shared ? wasm.shared : wasm.private), (ch) => ch.charCodeAt(0)));
  }

  /** The module's exports over `memory` (shared when its buffer is a SharedArrayBuffer), or null where wasm cannot be compiled. */
  exportsFor(memory: WebAssembly.Memory, shared: boolean): Exports | null {
    const existing = this.#byMemory.get(memory);
    if (existing !== undefined) return existing;
    const module = this.#module(shared);
    if (module === null) return null;
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
    this.#byMemory.set(memory, exports);
    return exports;
  }

  #module(shared: boolean): WebAssembly.Module | null {
    const k = shared ? 1 : 0;
    let module = this.#modules[k];
    if (module === undefined) {
      try {
        module = new WebAssembly.Module(this.#bytes(shared));
      } catch {
        module = null;
      }
      this.#modules[k] = module;
    }
    return module;
  }
}
