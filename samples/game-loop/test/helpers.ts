import { run, type RunIo } from "../src/index.js";

/** What one `run()` printed and wrote. */
export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  files: Map<string, string>;
}

/** Runs the CLI in-process with captured streams (no build needed). */
export async function runCli(args: readonly string[], isTTY = false): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const files = new Map<string, string>();
  const io: RunIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    isTTY,
    writeFile: (path, text) => void files.set(path, text),
  };
  const code = await run(args, io);
  return { code, stdout, stderr, files };
}

/** Small runs keep the suite fast: a few hundred units, tens of frames. */
export const SMALL = ["--frames", "40", "--warmup", "5", "--entities", "300"] as const;
