import { formatCount } from "@memkit/core";

/** Where progress goes: a stream, and whether it is a terminal (one line rewritten) or not (a few lines). */
export interface ProgressStream {
  write(text: string): void;
  readonly isTTY: boolean;
}

/** How often a terminal's progress line is rewritten (ms). */
const TTY_INTERVAL_MS = 200;
/** Lines printed when the output is not a terminal: at 25%, 50%, 75% and 100%. */
const LINES = 4;

/**
 * The progress line of the play stage: frames done and frames per second.
 * On a terminal one line is rewritten a few times a second; otherwise a few
 * plain lines are printed. `tick` is called every frame and costs a compare
 * unless it prints.
 */
export class Progress {
  readonly #out: ProgressStream;
  readonly #label: string;
  readonly #total: number;
  readonly #start: number;
  #nextTime: number;
  #nextFrame: number;
  #line = 0;
  #shown = false;

  constructor(out: ProgressStream, label: string, total: number, start: number) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
    this.#start = start;
    this.#nextTime = start + TTY_INTERVAL_MS;
    this.#nextFrame = Math.max(1, Math.ceil(total / LINES));
  }

  /** Reports `frame` frames done at time `now` (performance.now()). */
  tick(frame: number, now: number): void {
    if (this.#out.isTTY) {
      if (now < this.#nextTime && frame < this.#total) return;
      this.#nextTime = now + TTY_INTERVAL_MS;
      this.#out.write(`\r${this.#text(frame, now)}\x1b[K`);
      this.#shown = true;
      return;
    }
    if (frame < this.#nextFrame) return;
    this.#line++;
    this.#nextFrame = this.#line >= LINES - 1 ? this.#total : Math.ceil((this.#total * (this.#line + 1)) / LINES);
    this.#out.write(`${this.#text(frame, now)}\n`);
  }

  /** Clears a terminal's progress line. */
  done(): void {
    if (this.#out.isTTY && this.#shown) this.#out.write("\r\x1b[K");
  }

  #text(frame: number, now: number): string {
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0 ? formatCount(Math.round(frame / seconds)) : "-";
    const percent = Math.floor((100 * frame) / this.#total);
    return `  ${this.#label}: frame ${formatCount(frame)}/${formatCount(this.#total)} (${percent}%), ${rate} frames/s`;
  }
}
