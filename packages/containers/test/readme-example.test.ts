import { expect, it } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import { DynamicArray, HandlePool, HashMap, StaleHandleError, StructArray, defineStruct, offsetOf, sizeOf } from "../src/index.js";

it("the README example runs as written", () => {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  const root = new TraceAllocator(new PageAllocator(space, { pageSize: 4096 }));
  const physics = root.child("physics");

  const Body = defineStruct({ x: "f32", y: "f32", hp: "u16", flags: "u8" });
  expect([sizeOf(Body), offsetOf(Body, "hp")]).toEqual([12, 8]);

  const bodies = new StructArray(physics, Body, { name: "bodies" });
  const x = bodies.field("x");
  for (let i = 0; i < 100; i++) x.set(bodies.push(), i * 0.5);

  const cells = new HashMap(physics, { key: "u32", value: "u32", name: "grid" });
  cells.set(42, 7);
  const body = cells.get(42, -1);

  const ids = new DynamicArray(physics, "u32", { name: "visible" });
  ids.push(body);
  ids.sort();

  const Entity = defineStruct({ hp: "u16", team: "u8" });
  const entities = new HandlePool(physics, Entity, { name: "entities" });
  const e = entities.create();
  entities.set(e, "hp", 100);
  entities.destroy(e);
  expect(entities.isAlive(e)).toBe(false);
  expect(() => entities.get(e, "hp")).toThrow(StaleHandleError);

  expect(physics.formatReport()).toContain("physics");
  expect(physics.stats().liveCount).toBe(4);

  for (const c of [entities, ids, cells, bodies]) c.dispose();
  physics.dispose();
  expect(x.get.bind(x, 0)).toThrow(/used after dispose/);
});
