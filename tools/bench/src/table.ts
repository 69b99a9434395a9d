import { formatCount } from "@memkit/core";

/** A row that spans the columns after its label with a note ("not built yet: ..."). */
export interface NoteRow {
  readonly label: string;
  readonly note: string;
}

/** A table row: one cell per column, or a label with a note. */
export type Row = readonly string[] | NoteRow;

/** Column alignment: left or right. */
export type Align = "l" | "r";

/**
 * Lays rows out as aligned plain text: columns as wide as their widest cell,
 * two spaces apart, a dashed rule under the header. Notes run past the columns.
 */
export function formatTable(header: readonly string[], rows: readonly Row[], align: readonly Align[], indent = "  "): string {
  const widths = header.map((h) => h.length);
  for (const row of rows) {
    if ("note" in row) widths[0] = Math.max(widths[0] ?? 0, row.label.length);
    else row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  const line = (cells: readonly string[]): string =>
    (indent + cells.map((cell, i) => (align[i] === "r" ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join("  ")).trimEnd();
  const out = [line(header), indent + widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of rows) {
    out.push("note" in row ? `${indent}${row.label.padEnd(widths[0] ?? 0)}  ${row.note}` : line(row));
  }
  return out.join("\n");
}

/** ns/op to three significant digits: `2.41`, `21.7`, `542`, `15,900`. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return "-";
  if (ns >= 1000) return formatCount(Math.round(ns));
  if (ns >= 100) return ns.toFixed(0);
  if (ns >= 10) return ns.toFixed(1);
  return ns.toFixed(2);
}

/** A ratio: `0.62`, `13.4`, `1,234`, `0.003`; `-` when unknown. */
export function formatRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return "-";
  if (r >= 100) return formatCount(Math.round(r));
  if (r >= 10) return r.toFixed(1);
  if (r >= 0.01) return r.toFixed(2);
  return r.toPrecision(1);
}
