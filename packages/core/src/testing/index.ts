/**
 * The allocator conformance kit. Import from `@memkit/core/testing` in tests
 * (it needs vitest); the checks themselves throw and can run anywhere.
 */
export { describeAllocatorContract } from "./describe-contract.js";
export {
  contractChecks,
  runAllocatorContract,
  expectError,
  resolveOptions,
  toSubject,
  type ContractCheckName,
  type ContractFactory,
  type ContractOptions,
  type ContractSubject,
  type ResolvedContractOptions,
  type Check,
} from "./contract-checks.js";
export { runAttachMutations, type AttachMutationTarget, type MutationOutcome, type MutationOptions, type MutationSubject } from "./attach-mutations.js";
export { LiveBlocks, ContractViolation, ContractSkip, expect as expectContract, fillPattern, findPatternMismatch, patternByte, type LiveBlock } from "./live-blocks.js";
export { HOSTILE_ARGUMENTS, thrownBy } from "./hostile.js";
