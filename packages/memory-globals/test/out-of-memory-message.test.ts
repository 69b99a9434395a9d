import { expect, it } from "vitest";
import { AddressSpace, OutOfMemoryError } from "@memkit/core";
import { BootstrapHeap } from "@memkit/memory-globals";

it("the bootstrap heap names the exact byte count asked for, with the human figure beside it", () => {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
  const boot = BootstrapHeap.create(space, 4096, 64 << 10);
  boot.carve(1000);
  let error: unknown;
  try {
    boot.carve(70_001);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(OutOfMemoryError);
  expect((error as Error).message).toContain("cannot carve 70,001 B (68.4 KiB) (align 8)");
  expect(boot.carve(8)).toBeGreaterThan(4096);
});
