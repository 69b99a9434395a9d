import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium as playwright, type Browser } from "playwright-core";
import { unpackOnce } from "./unpack-once.js";

/*
 * The Chromium the browser tests drive: Debian's /usr/bin/chromium when it is
 * installed, else the headless Chromium shipped inside the npm package
 * @sparticuz/chromium (a devDependency, so `npm ci` alone brings it; its
 * brotli-packed binary is unpacked from node_modules into a temp folder in a
 * second or two, without the network).
 *
 * Exported as `@memkit/memreport/chromium`, apart from the main entry: it
 * needs playwright-core, which only tests install (a devDependency).
 */

export const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/** Flags for the system chromium: headless, no sandbox (CI runs as root), no background traffic. */
const SYSTEM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** The binary's name inside the folder @sparticuz/chromium unpacks into. */
const BINARY = "chromium";

export interface ChromiumChoice {
  /** "system": the installed chromium; "npm": the one unpacked from @sparticuz/chromium. */
  source: "system" | "npm";
  executablePath: string;
  args: string[];
}

/** Picks the browser: `systemPath` when it exists, else the npm package's Chromium (unpacked on first use). */
export async function findChromium(systemPath: string = SYSTEM_CHROMIUM): Promise<ChromiumChoice> {
  if (existsSync(systemPath)) return { source: "system", executablePath: systemPath, args: SYSTEM_ARGS };
  return npmChromium();
}

export async function launchChromium(systemPath: string = SYSTEM_CHROMIUM): Promise<{ browser: Browser; choice: ChromiumChoice }> {
  const choice = await findChromium(systemPath);
  const browser = await playwright.launch({ executablePath: choice.executablePath, headless: true, args: choice.args });
  return { browser, choice };
}

async function npmChromium(): Promise<ChromiumChoice> {
  const { default: chromium } = await import("@sparticuz/chromium");
  // executablePath() unpacks into os.tmpdir() and reuses whatever `chromium` it finds there. Each
  // package version gets a folder of its own, filled once (see unpack-once.ts: test processes
  // started together must not unpack over each other).
  const version = packageVersion("@sparticuz/chromium");
  const dir = join(tmpdir(), `memkit-sparticuz-chromium-${version}`);
  await unpackOnce(dir, version, async (staging) => {
    const unpacked = await withTmpdir(staging, () => chromium.executablePath());
    if (unpacked !== join(staging, BINARY)) throw new Error(`@sparticuz/chromium unpacked its binary to ${unpacked}, not ${join(staging, BINARY)}: its layout changed (see tools/memreport/src/chromium.ts).`);
  });
  // --single-process is for AWS Lambda's sandbox; here it makes the browser exit when a page's context closes.
  return { source: "npm", executablePath: join(dir, BINARY), args: chromium.args.filter((a) => a !== "--single-process") };
}

/** Runs `f` with os.tmpdir() answering `dir`. */
async function withTmpdir<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  // The package's exports do not list package.json; its main entry is build/cjs/index.cjs.
  const pkg = join(dirname(require.resolve(name)), "..", "..", "package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}
