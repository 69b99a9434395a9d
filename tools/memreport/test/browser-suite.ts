import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium } from "../src/chromium.js";

/** Where the browser tests write pages and screenshots. */
export const OUT = join(import.meta.dirname, "..", ".vitest-out");

/**
 * One Chromium for the test file (src/chromium.ts picks it): started before
 * its tests, closed after. The returned function gives the browser, or
 * throws with the reason it did not start: every test then fails with it
 * (not skipped: CI must notice).
 */
export function useChromium(): () => Browser {
  let browser: Browser | undefined;
  let launchError: unknown;
  beforeAll(async () => {
    mkdirSync(join(OUT, "html"), { recursive: true });
    mkdirSync(join(OUT, "screenshots"), { recursive: true });
    try {
      browser = (await launchChromium()).browser;
    } catch (err) {
      launchError = err;
    }
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === undefined) throw new Error("chromium did not start", { cause: launchError });
    return browser;
  };
}
