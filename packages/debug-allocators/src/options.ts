import { InvalidArgumentError, describe } from "@memkit/core";

/** Reads an integer option in [min, max], or throws InvalidArgumentError naming it. */
export function intOption(who: string, option: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${who}: option ${option} must be an integer from ${min} to ${max}, received ${describe(value)}.`);
  }
  return v;
}

/** Reads a byte option (0..255). */
export function byteOption(who: string, option: string, value: number | undefined, fallback: number): number {
  return intOption(who, option, value, fallback, 0, 255);
}
