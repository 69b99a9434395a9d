import { describe, expect, it, vi } from "vitest";
import { OutOfMemoryError } from "@memkit/core";
import { fillPattern, findPatternMismatch } from "@memkit/core/testing";
import type { BudgetWarning } from "../src/index.js";
import { makeRoot, thrown } from "./helpers.js";

describe("budgets", () => {
  it("throws OutOfMemoryError naming the scope, its budget and its use; nothing changes; smaller requests still fit", () => {
    const { root } = makeRoot();
    const physics = root.child("physics", { budget: 1000 });
    const a = physics.allocate(600);
    fillPattern(physics, a, 600, 1);
    const before = root.report();
    const err = thrown(() => physics.allocate(500));
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err.message).toContain("root/physics");
    expect(err.message).toContain("1000 B budget");
    expect(err.message).toContain("600 B of its");
    expect(err.message).toContain("allocating 500 B");
    expect(root.report()).toEqual(before);
    expect(findPatternMismatch(physics, a, 600, 1)).toBe(-1);
    const b = physics.allocate(400); // exactly at the budget is allowed
    expect(physics.report()).toMatchObject({ totalLiveBytes: 1000, budgetBytes: 1000, budgetAction: "throw" });
    physics.deallocate(a);
    physics.deallocate(b);
    root.check();
  });

  it("a budget covers the whole subtree: a grandchild's allocation is refused by its ancestor's budget", () => {
    const { root } = makeRoot();
    const level = root.child("level", { budget: 4096 });
    const streaming = level.child("streaming");
    const textures = streaming.child("textures", { budget: 1 << 20 });
    const a = streaming.allocate(3000);
    const err = thrown(() => textures.allocate(2000));
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err.message).toMatch(/^root\/level\/streaming\/textures: .*budget of scope root\/level:/);
    expect(textures.stats().allocCount).toBe(0);
    streaming.deallocate(a);
    textures.deallocate(textures.allocate(2000));
    root.check();
  });

  it("a reallocate that grows past the budget fails and keeps the old block; shrinking always works", () => {
    const { root } = makeRoot();
    const s = root.child("s", { budget: 2048 });
    const p = s.allocate(1000);
    fillPattern(s, p, 1000, 7);
    expect(thrown(() => s.reallocate(p, 3000))).toBeInstanceOf(OutOfMemoryError);
    expect(s.owns(p)).toBe(true);
    expect(findPatternMismatch(s, p, 1000, 7)).toBe(-1);
    expect(s.stats().liveBytes).toBe(1000);
    const q = s.reallocate(p, 2048);
    const r = s.reallocate(q, 10);
    expect(s.stats().liveBytes).toBe(10);
    s.setBudget(5);
    // Over budget now (10 > 5): shrinking and freeing still work, growing does not.
    expect(thrown(() => s.allocate(1))).toBeInstanceOf(OutOfMemoryError);
    const t = s.reallocate(r, 4);
    s.setBudget(undefined);
    expect(s.report().budgetBytes).toBeUndefined();
    const u = s.allocate(10_000);
    s.deallocate(t);
    s.deallocate(u);
    root.check();
  });

  it('"warn" lets the allocation through and calls the hook once, until resetPeak or setBudget re-arms it', () => {
    const warnings: BudgetWarning[] = [];
    const { root } = makeRoot({ onBudgetWarning: (w) => warnings.push(w) });
    const audio = root.child("audio", { budget: { bytes: 1000, onExceed: "warn" } });
    const blocks = [audio.allocate(800)];
    expect(warnings).toHaveLength(0);
    blocks.push(audio.allocate(300));
    expect(warnings).toHaveLength(1);
    // (toBe, not a deep match: a scope reaches the whole address space through its backing)
    expect(warnings[0]!.allocator).toBe(audio);
    expect(warnings[0]).toMatchObject({ scope: "root/audio", budgetBytes: 1000, liveBytes: 1100, requestedBytes: 300 });
    expect(warnings[0]!.message).toContain("root/audio");
    blocks.push(audio.allocate(300));
    expect(warnings).toHaveLength(1);
    expect(audio.stats().liveBytes).toBe(1400);
    audio.resetPeak("next stage");
    blocks.push(audio.allocate(1));
    expect(warnings).toHaveLength(2);
    audio.setBudget({ bytes: 1000, onExceed: "warn" });
    blocks.push(audio.allocate(1));
    expect(warnings).toHaveLength(3);
    for (const b of blocks) audio.deallocate(b);
    root.check();
  });

  it("a hook that throws turns the warning into an error: nothing is allocated and the next attempt warns again", () => {
    const hook = vi.fn((w: BudgetWarning) => {
      throw new Error(`over budget: ${w.scope}`);
    });
    const { root } = makeRoot({ onBudgetWarning: hook });
    const ai = root.child("ai", { budget: { bytes: 100, onExceed: "warn" } });
    const before = root.report();
    expect(thrown(() => ai.allocate(200)).message).toBe("over budget: root/ai");
    expect(root.report()).toEqual(before);
    expect(thrown(() => ai.allocate(200)).message).toBe("over budget: root/ai");
    expect(hook).toHaveBeenCalledTimes(2);
  });

  it("the default hook writes the message with console.warn", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const { root } = makeRoot({ budget: { bytes: 10, onExceed: "warn" } });
      const p = root.allocate(20);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain("root");
      root.deallocate(p);
    } finally {
      warn.mockRestore();
    }
  });

  it("an inner throw budget wins over an outer warn budget", () => {
    const warnings: BudgetWarning[] = [];
    const { root } = makeRoot({ onBudgetWarning: (w) => warnings.push(w), budget: { bytes: 100, onExceed: "warn" } });
    const inner = root.child("inner", { budget: 150 });
    expect(thrown(() => inner.allocate(200))).toBeInstanceOf(OutOfMemoryError);
    expect(warnings).toHaveLength(0);
    const p = inner.allocate(120);
    expect(warnings.map((w) => w.scope)).toEqual(["root"]);
    inner.deallocate(p);
  });
});
