/** `0x0012a040`: a pointer as 8 hex digits (more when it needs them). */
export function hex(ptr: number): string {
  if (!Number.isFinite(ptr)) return String(ptr);
  if (ptr < 0 || !Number.isInteger(ptr)) return String(ptr);
  return "0x" + ptr.toString(16).padStart(8, "0");
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** `4.0 KiB`, `96 B`, `1.25 GiB`: binary units, one decimal above bytes (two under 10). */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? "-" : "";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${sign}${value} B`;
  return `${sign}${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** `4,000`: an integer with thousands separators, independent of locale. */
export function formatCount(n: number): string {
  const s = Math.trunc(Math.abs(n)).toString();
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ",";
    out += s[i];
  }
  return (n < 0 ? "-" : "") + out;
}

/**
 * A request size as the user typed it, with the binary figure beside it when
 * that helps: `67,112,961 B (64.0 MiB)`, `96 B`. Every out-of-memory message
 * names the size asked for this way.
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const exact = `${formatCount(bytes)} B`;
  return Math.abs(bytes) < 1024 ? exact : `${exact} (${formatBytes(bytes)})`;
}
