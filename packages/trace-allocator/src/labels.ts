import { InvalidArgumentError, describe } from "@memkit/core";

/*
 * Block labels: the name an allocation's caller gives what it holds (a
 * container's `HashMap<u32, u32> "entities"`), so a scope's bytes split by
 * what holds them in reports, leak reports and folded stacks.
 *
 * Texts are interned per tree to small ids (0: no label). A block's label
 * lives in its site (sites.ts), which is a (scope, call stack, label)
 * triple; at "counts" a labelled block gets a label-only site (stack 0), so
 * unlabelled blocks keep site 0 and the inline paths stay as they were.
 *
 * Per (owner scope row, label) a LabelTally sums the live bytes and blocks
 * and keeps their high-water mark. A site points at the tally of its own
 * scope; a block adopted by an ancestor (its scope disposed, the block
 * retained) is counted in the ancestor's tally from then on.
 */

/** Distinct labels a tree can hold (a site key packs the stack id and the label id into one number below 2^53). */
export const MAX_LABELS = 1 << 21;

/** Live bytes and blocks of one label in one scope, and their peak. */
export class LabelTally {
  liveBytes = 0;
  liveCount = 0;
  /** Highest `liveBytes` since the scope was created or its peak reset. */
  peakBytes = 0;
  /** Frame (markFrame) in which `peakBytes` was reached. */
  peakFrame = 0;

  constructor(
    /** The label id. */
    readonly label: number,
  ) {}

  add(size: number, frame: number): void {
    const live = this.liveBytes + size;
    this.liveBytes = live;
    this.liveCount++;
    if (live > this.peakBytes) {
      this.peakBytes = live;
      this.peakFrame = frame;
    }
  }

  remove(size: number): void {
    this.liveBytes -= size;
    this.liveCount--;
  }
}

/** The label texts of a tree and the tallies of every (scope row, label) pair. */
export class LabelTable {
  /** Texts by id (index 0, "no label", is empty). */
  private readonly texts: string[] = [""];
  private readonly ids = new Map<string, number>();
  /** Tallies by row, then by label id. */
  private readonly rows: (Map<number, LabelTally> | undefined)[] = [];

  /** Labels interned so far. */
  get size(): number {
    return this.texts.length - 1;
  }

  /** The id of `text`, interned on first use. Throws InvalidArgumentError for a text that is not a non-empty string. */
  idOf(who: string, text: unknown): number {
    if (typeof text !== "string" || text.length === 0) {
      throw new InvalidArgumentError(`${who}.labelId: a label is a non-empty string (a container's name), received ${describe(text)}.`);
    }
    let id = this.ids.get(text);
    if (id === undefined) {
      if (this.texts.length >= MAX_LABELS) {
        throw new InvalidArgumentError(
          `${who}.labelId: the tree already holds ${MAX_LABELS - 1} distinct labels, the most it can.\n` +
            `  Labels name what holds memory (a container per subsystem), not each object: reuse names.`,
        );
      }
      id = this.texts.length;
      this.texts.push(text);
      this.ids.set(text, id);
    }
    return id;
  }

  /** The text of label `id` (undefined for 0 and unknown ids). */
  text(id: number): string | undefined {
    return id > 0 ? this.texts[id] : undefined;
  }

  /** True when `id` is 0 or a label of this table: an integer the hot path may store. */
  isValid(id: unknown): boolean {
    return typeof id === "number" && Number.isInteger(id) && id >= 0 && id < this.texts.length;
  }

  /** The tally of `label` in `row`, created when missing. */
  tally(row: number, label: number): LabelTally {
    let byLabel = this.rows[row];
    if (byLabel === undefined) {
      byLabel = new Map();
      this.rows[row] = byLabel;
    }
    let t = byLabel.get(label);
    if (t === undefined) {
      t = new LabelTally(label);
      byLabel.set(label, t);
    }
    return t;
  }

  /** Every tally of `row` (cold: reports and checks). */
  talliesOf(row: number): LabelTally[] {
    const byLabel = this.rows[row];
    return byLabel === undefined ? [] : [...byLabel.values()];
  }

  /** Starts a new stage for `row`: each label's peak becomes its current use. */
  resetPeaks(row: number, frame: number): void {
    for (const t of this.talliesOf(row)) {
      t.peakBytes = t.liveBytes;
      t.peakFrame = frame;
    }
  }

  /** Forgets the tallies of a row given back (its blocks were adopted by an ancestor first). */
  dropRow(row: number): void {
    this.rows[row] = undefined;
  }
}
