import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium as playwright, type Browser } from "playwright-core";

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
  // executablePath() unpacks into os.tmpdir() and reuses whatever `chromium` it finds there; give it a
  // folder of its own per package version, and unpack again when an earlier unpack did not finish.
  const version = packageVersion("@sparticuz/chromium");
  const dir = join(tmpdir(), `memkit-sparticuz-chromium-${version}`);
  const done = join(dir, ".unpacked");
  if (!existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  let executablePath: string;
  try {
    executablePath = await chromium.executablePath();
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
  writeFileSync(done, version);
  // --single-process is for AWS Lambda's sandbox; here it makes the browser exit when a page's context closes.
  return { source: "npm", executablePath, args: chromium.args.filter((a) => a !== "--single-process") };
}

function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  // The package's exports do not list package.json; its main entry is build/cjs/index.cjs.
  const pkg = join(dirname(require.resolve(name)), "..", "..", "package.json");
  return (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
}
