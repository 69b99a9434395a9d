import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/*
 * A folder several processes may want to fill at the same moment (the browser
 * tests of two packages, started in parallel on a fresh machine, each needing
 * the unpacked Chromium). Each process fills a private staging folder, then
 * renames it into place: a rename is atomic, and renaming onto a folder that
 * is not empty fails, so the first complete folder wins and no process ever
 * sees, launches from, or deletes a half-filled one.
 */

/** The file written last into a staged folder: a folder without it was never finished. */
export const DONE_MARKER = ".unpacked";

/** Renames tried before giving up (each retry follows a folder that was removed in between). */
const ATTEMPTS = 4;

/**
 * Ensures `dir` holds a complete fill: returns at once when its marker is
 * there, else runs `fill(staging)` on a fresh folder beside `dir` and
 * publishes it. `stamp` is the marker's content (for a person reading the
 * folder). A folder left without a marker (a fill that died before this
 * scheme) is moved aside and removed, never filled into.
 */
export async function unpackOnce(dir: string, stamp: string, fill: (staging: string) => void | Promise<void>): Promise<void> {
  if (existsSync(join(dir, DONE_MARKER))) return;
  const staging = mkdtempSync(`${dir}.staging-`);
  try {
    await fill(staging);
    writeFileSync(join(staging, DONE_MARKER), stamp);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (tryRename(staging, dir)) return;
      if (existsSync(join(dir, DONE_MARKER))) return; // another process published first: use its folder
      setAside(dir);
    }
    throw new Error(`unpackOnce: could not publish ${dir}: it kept reappearing without its ${DONE_MARKER} marker.`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Renames `from` to `to`; false when `to` exists and is not empty. */
function tryRename(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw error;
  }
}

/** Moves an unfinished `dir` out of the way and removes it (a rename first, so a process still reading it keeps its files). */
function setAside(dir: string): void {
  const aside = `${dir}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(dir, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // someone else moved it already
    throw error;
  }
  rmSync(aside, { recursive: true, force: true });
}
