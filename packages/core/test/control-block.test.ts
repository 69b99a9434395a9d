import { describe, expect, it } from "vitest";
import { AddressSpace, InvalidArgumentError, checkControlHeader, magic, writeControlHeader } from "@memkit/core";

describe("control block headers", () => {
  const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 65536 });

  it("accepts the magic and version it wrote", () => {
    writeControlHeader(space, 64, magic("TEST"), 3);
    expect(() => checkControlHeader(space, 64, magic("TEST"), 3, "attach")).not.toThrow();
  });

  it("refuses a wrong pointer, a wrong magic and an old layout with clear messages", () => {
    writeControlHeader(space, 128, magic("TEST"), 2);
    expect(() => checkControlHeader(space, 256, magic("TEST"), 2, "attach")).toThrow(/no control block at 0x00000100/);
    expect(() => checkControlHeader(space, 128, magic("TEST"), 3, "attach")).toThrow(/layout version 2, this build reads version 3/);
    expect(() => checkControlHeader(space, 130, magic("TEST"), 2, "attach")).toThrow(InvalidArgumentError);
    expect(() => checkControlHeader(space, 1 << 20, magic("TEST"), 2, "attach")).toThrow(InvalidArgumentError);
    expect(() => magic("TOOLONG")).toThrow(InvalidArgumentError);
  });
});
