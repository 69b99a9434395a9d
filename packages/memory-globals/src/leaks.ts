import { LeakError } from "@memkit/core";

/**
 * One LeakError covering two teardown steps (the scopes, then the scratch
 * stack): messages one after the other, reports added up, the first error as
 * the cause of neither (both are in the message and the report).
 */
export function mergeLeaks(first: LeakError, second: LeakError): LeakError {
  const a = first.report;
  const b = second.report;
  return new LeakError(`${first.message}\n${second.message}`, {
    scopes: [...a.scopes, ...b.scopes],
    count: a.count + b.count,
    bytes: a.bytes + b.bytes,
    blocks: [...a.blocks, ...b.blocks],
  });
}
