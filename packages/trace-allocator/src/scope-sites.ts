import { MAX_LABELS } from "./labels.js";
import type { Registry } from "./registry.js";

/**
 * The sites (sites.ts) one scope allocates into: one per (call stack, label)
 * pair, opened on first use. The unsampled, unlabelled site (stack 0, label
 * 0) is kept apart; blocks at "counts" without a label have no site at all.
 */
export class ScopeSites {
  /** stack id * MAX_LABELS + label id -> site id. */
  private readonly ids = new Map<number, number>();
  /** Site of (stack 0, label 0): allocations at "callstacks" that were not sampled; 0 until opened. */
  private unsampled = 0;

  constructor(
    private readonly reg: Registry,
    private readonly path: string,
  ) {}

  /** The id of the site for (`stack`, `label`) of the scope at `row`, opened on first use. */
  idOf(row: number, stack: number, label: number): number {
    if (stack === 0 && label === 0) {
      if (this.unsampled === 0) this.unsampled = this.reg.openSite(row, this.path, 0, 0).id;
      return this.unsampled;
    }
    const key = stack * MAX_LABELS + label;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.reg.openSite(row, this.path, stack, label).id;
      this.ids.set(key, id);
    }
    return id;
  }

  /** Every site id opened. */
  all(): number[] {
    const out = [...this.ids.values()];
    if (this.unsampled !== 0) out.push(this.unsampled);
    return out;
  }

  /** The scope is disposed: its sites are kept only while blocks or peak snapshots need them. */
  orphanAll(): void {
    for (const id of this.all()) {
      const site = this.reg.sites[id];
      if (site === undefined) continue;
      site.orphan = true;
      this.reg.orphans.add(site);
    }
  }
}
