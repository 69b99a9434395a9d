import { run, type RunIo } from "../src/index.js";

/** What one `run()` printed and wrote. */
export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  /** What the run wrote: report text, save bytes. */
  files: Map<string, string | Uint8Array>;
}

/** Runs the CLI in-process with captured streams (no build needed); `inputs` are the files it can read. */
export async function runCli(args: readonly string[], isTTY = false, inputs: ReadonlyMap<string, Uint8Array> = new Map()): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const files = new Map<string, string | Uint8Array>();
  const io: RunIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    isTTY,
    writeFile: (path, data) => void files.set(path, data),
    readFile: (path) => {
      const bytes = inputs.get(path);
      if (bytes === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return bytes;
    },
  };
  const code = await run(args, io);
  return { code, stdout, stderr, files };
}

/** Small runs keep the suite fast: a few hundred units, tens of frames. */
export const SMALL = ["--frames", "40", "--warmup", "5", "--entities", "300"] as const;
