import { InvalidArgumentError, hex } from "@memkit/core";

/*
 * Where a WebAssembly module writes in its memory before any of its code
 * runs: its active data segments (copied in at instantiation) and, for a
 * module linked by wasm-ld, its stack (`__stack_pointer` starts at the top of
 * it; `__heap_base` is the first byte after data and stack). Read from the
 * binary, because once instantiated the data is already written.
 */

/** A module's static layout, as far as its binary tells it. */
export interface WasmModuleLayout {
  /** Active data segments: [start, end) each, in the module's order. */
  readonly segments: readonly { start: number; end: number }[];
  /** Passive segments: copied by the module's own code to addresses the binary does not state. */
  readonly passiveSegments: number;
  /** `__heap_base` when the module exports it (`-Wl,--export=__heap_base`), else undefined. */
  readonly heapBase: number | undefined;
  /** The initial `__stack_pointer` (the stack's top) when the name section or an export names it, else undefined. */
  readonly stackPointer: number | undefined;
  /** Whether the module imports `env.memory`. */
  readonly importsMemory: boolean;
}

const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const SECTION_DATA = 11;
const OP_I32_CONST = 0x41;
const OP_END = 0x0b;

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly who: string,
  ) {}

  fail(what: string): never {
    throw new InvalidArgumentError(`${this.who}: the module's binary is malformed (${what} at byte ${hex(this.pos)}); pass the .wasm file's bytes.`);
  }

  byte(): number {
    if (this.pos >= this.bytes.length) this.fail("unexpected end");
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail("LEB128 too long");
  }

  i32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while ((b & 0x80) !== 0 && shift < 35);
    if (shift < 32 && (b & 0x40) !== 0) result |= -1 << shift;
    return result | 0;
  }

  name(): string {
    const n = this.u32();
    const end = this.pos + n;
    if (end > this.bytes.length) this.fail("name past the end");
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, end));
    this.pos = end;
    return text;
  }

  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.bytes.length) this.fail("length past the end");
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if ((flags & 1) !== 0) this.u32();
  }

  /** A constant expression: its i32.const value, or undefined for any other expression (skipped). */
  constExpr(): number | undefined {
    const op = this.byte();
    if (op === OP_I32_CONST) {
      const value = this.i32();
      if (this.byte() === OP_END) return value >>> 0;
    }
    while (this.byte() !== OP_END);
    return undefined;
  }
}

/** Reads the static layout of the module in `bytes`; InvalidArgumentError (from `who`) when it is not a wasm binary. */
export function wasmModuleLayout(bytes: Uint8Array, who: string): WasmModuleLayout {
  const r = new Reader(bytes, who);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) r.fail("no \\0asm magic");
  r.pos = 8;
  const segments: { start: number; end: number }[] = [];
  let passiveSegments = 0;
  let importedGlobals = 0;
  let importsMemory = false;
  const globalInits: (number | undefined)[] = [];
  const exportedGlobals = new Map<string, number>();
  const globalNames = new Map<string, number>();
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (end > bytes.length) r.fail(`section ${id} past the end`);
    if (id === SECTION_IMPORT) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const field = r.name();
        const kind = r.byte();
        if (kind === 0) r.u32();
        else if (kind === 1) {
          r.byte();
          r.limits();
        }
        else if (kind === 2) {
          r.limits();
          if (module === "env" && field === "memory") importsMemory = true;
        } else if (kind === 3) {
          r.byte();
          r.byte();
          importedGlobals++;
        } else if (kind === 4) {
          r.byte();
          r.u32();
        } else r.fail(`import kind ${kind}`);
      }
    } else if (id === SECTION_GLOBAL) {
      for (let n = r.u32(); n > 0; n--) {
        r.byte(); // value type
        r.byte(); // mutability
        globalInits.push(r.constExpr());
      }
    } else if (id === SECTION_EXPORT) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        if (kind === 3) exportedGlobals.set(name, index);
      }
    } else if (id === SECTION_DATA) {
      for (let n = r.u32(); n > 0; n--) {
        const flags = r.u32();
        if (flags === 1) {
          passiveSegments++;
          r.skip(r.u32());
          continue;
        }
        if (flags === 2) r.u32();
        else if (flags !== 0) r.fail(`data segment flags ${flags}`);
        const start = r.constExpr();
        if (start === undefined) {
          throw new InvalidArgumentError(
            `${who}: a data segment of the module is placed by an expression, not a constant address (a position-independent build). ` +
              `Link it to a fixed address instead: -Wl,--global-base=<start of your part of memory.wasmStatic>.`,
          );
        }
        const length = r.u32();
        r.skip(length);
        if (length > 0) segments.push({ start, end: start + length });
      }
    } else if (id === 0 && r.name() === "name") {
      readGlobalNames(r, end, globalNames);
    }
    r.pos = end;
  }
  const globalValue = (index: number | undefined): number | undefined =>
    index === undefined || index < importedGlobals ? undefined : globalInits[index - importedGlobals];
  return {
    segments,
    passiveSegments,
    heapBase: globalValue(exportedGlobals.get("__heap_base")),
    stackPointer: globalValue(exportedGlobals.get("__stack_pointer") ?? globalNames.get("__stack_pointer")),
    importsMemory,
  };
}

/** The global names subsection (7) of a "name" custom section. */
function readGlobalNames(r: Reader, end: number, into: Map<string, number>): void {
  while (r.pos < end) {
    const sub = r.byte();
    const size = r.u32();
    const subEnd = r.pos + size;
    if (sub === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const index = r.u32();
        into.set(r.name(), index);
      }
    }
    r.pos = subEnd;
  }
}
