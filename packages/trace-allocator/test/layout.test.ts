import { describe, expect, it } from "vitest";
import { CONTROL_BLOCK_HEADER_WORDS } from "@memkit/core";
import * as L from "../src/layout.js";

// The layout is spelled out as literals (so a bundler inlines them into the hot paths):
// every field must have its own words, inside its entry.
function expectDisjoint(entryWords: number, fields: [string, number, number][]): void {
  const owner = new Map<number, string>();
  for (const [name, word, words] of fields) {
    for (let w = word; w < word + words; w++) {
      expect(w, `${name} lies outside its ${entryWords}-word entry`).toBeLessThan(entryWords);
      expect(owner.get(w), `${name} overlaps ${owner.get(w)} at word ${w}`).toBeUndefined();
      owner.set(w, name);
    }
  }
}

const byPrefix = (prefix: string, words: number, scale: number): [string, number, number][] =>
  Object.entries(L)
    .filter(([k, v]) => k.startsWith(prefix) && typeof v === "number")
    .map(([k, v]) => [k, (v as number) * scale, words]);

describe("layout", () => {
  it("a row's words and float64 slots never overlap", () => {
    expectDisjoint(L.ROW_WORDS, [...byPrefix("S_", 1, 1), ...byPrefix("D_", 2, 2)]);
  });

  it("sites, chain entries, tallies and retained entries: every field in its own words", () => {
    expectDisjoint(L.ENTRY_BYTES[L.T_SITES]! / 4, [["TAG", 0, 1], ["NEXT", 1, 1], ...byPrefix("SITE_", 1, 1).filter(([k]) => !k.includes("_D_") && k !== "SITE_BYTES"), ...byPrefix("SITE_D_", 2, 2)]);
    expectDisjoint(L.CHAIN_BYTES / 4, [["TAG", 0, 1], ["NEXT", 1, 1], ["ROW", L.CHAIN_ROW, 1], ["GEN", L.CHAIN_GEN, 1], ...byPrefix("CHAIN_D_", 2, 2)]);
    expectDisjoint(L.ENTRY_BYTES[L.T_TALLIES]! / 4, [["TAG", 0, 1], ["NEXT", 1, 1], ["LABEL", L.TALLY_LABEL, 1], ["ROW", L.TALLY_ROW, 1], ...byPrefix("TALLY_D_", 2, 2)]);
    expectDisjoint(L.ENTRY_BYTES[L.T_RETAINED]! / 4, [["TAG", 0, 1], ["NEXT", 1, 1], ...byPrefix("RET_", 1, 1)]);
  });

  it("the control block's words: header, fixed and state words, table descriptors and the ring apart", () => {
    const fields: [string, number, number][] = [["header", 0, 4], ...byPrefix("W_", 1, 1).filter(([k]) => !["W_TABLES", "W_RING", "W_REC_PTR", "W_REC_CAP", "W_REC_COUNT", "W_ROWS_PTR", "W_ROWS_USED", "W_CHAINS_PTR", "W_SITES_PTR"].includes(k))];
    for (let t = 0; t < L.TABLE_COUNT; t++) fields.push([L.TABLE_NAMES[t]!, L.tableWord(t, 0), L.TABLE_WORDS]);
    expectDisjoint(L.W_RING, fields);
    expect(L.W_FLAGS).toBe(CONTROL_BLOCK_HEADER_WORDS);
    expect(L.TRACE_LAYOUT.fixedWords).toBe(L.W_NEXT_STACK - L.W_FLAGS);
    expect([L.W_REC_PTR, L.W_REC_CAP, L.W_REC_COUNT]).toEqual([0, 1, 2].map((f) => L.tableWord(L.T_RECORDS, f)));
    expect([L.W_ROWS_PTR, L.W_ROWS_USED, L.W_CHAINS_PTR, L.W_SITES_PTR]).toEqual([L.tableWord(L.T_ROWS, L.TW_PTR), L.tableWord(L.T_ROWS, L.TW_USED), L.tableWord(L.T_CHAINS, L.TW_PTR), L.tableWord(L.T_SITES, L.TW_PTR)]);
    expect([L.SITE_BYTES, L.CHAIN_BYTES]).toEqual([L.ENTRY_BYTES[L.T_SITES], L.ENTRY_BYTES[L.T_CHAINS]]);
    // The words every allocate and free reads share one cache line, not the block's first.
    for (const w of [L.W_FRAME, L.W_RING_AT, L.W_EPOCH, L.W_REC_PTR, L.W_REC_CAP, L.W_REC_COUNT]) expect(w >> 4).toBe(3);
  });
});
