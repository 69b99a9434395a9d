import { formatCount } from "@memkit/core";

/** A count with its noun in the right number: `1 frame`, `2 frames`, `1,024 pages`. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${Math.abs(n) === 1 ? one : many}`;
}
