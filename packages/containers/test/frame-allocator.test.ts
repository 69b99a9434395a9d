import { describe, expect, it } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { FrameAllocator } from "@memkit/temp-allocator";
import { DynamicArray, HashMap } from "../src/index.js";

describe("containers over the frame allocator (per-frame scratch, no dispose)", () => {
  it("grow, serve and vanish with their frame", () => {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 256 });
    const frame = new FrameAllocator(pages);
    for (let f = 0; f < 20; f++) {
      frame.beginFrame();
      // debug: false — frame containers are dropped, never disposed, on purpose.
      const contacts = new DynamicArray(frame, "u32", { debug: false });
      const seen = new HashMap(frame, { key: "u32", value: "u32", debug: false });
      for (let i = 0; i < 500 + f * 50; i++) {
        contacts.push(i * 3 + f);
        seen.set(i * 3 + f, i);
      }
      for (let i = 0; i < contacts.length; i++) expect(seen.get(contacts.get(i), -1)).toBe(i);
    }
  });
});
