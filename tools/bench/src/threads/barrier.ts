/**
 * A reusable barrier for a fixed set of worker threads over one shared int32
 * word: each `wait()` returns once every party has called it the same number
 * of times. The last to arrive wakes the others (they sleep in
 * `Atomics.wait`, workers may block), so the parties leave within tens of
 * microseconds of each other: their timed loops overlap.
 */
export class Barrier {
  private readonly i32: Int32Array;
  private readonly parties: number;
  private round = 0;

  /** `buffer`: at least 4 zeroed bytes shared by all parties; every party passes the same `parties`. */
  constructor(buffer: SharedArrayBuffer, parties: number) {
    this.i32 = new Int32Array(buffer, 0, 1);
    this.parties = parties;
  }

  wait(): void {
    const target = this.parties * ++this.round;
    const arrived = Atomics.add(this.i32, 0, 1) + 1;
    if (arrived === target) {
      Atomics.notify(this.i32, 0);
      return;
    }
    for (;;) {
      const seen = Atomics.load(this.i32, 0);
      if (seen >= target) return;
      Atomics.wait(this.i32, 0, seen, 5);
    }
  }
}
