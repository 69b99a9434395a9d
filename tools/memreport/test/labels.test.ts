import { MemoryGlobals } from "@memkit/memory-globals";
import { describe, expect, test } from "vitest";
import { buildFlameTree, diffMemoryReports, formatMemoryDiff, formatText, layoutFlame, renderHtml, scopePaths, splitStack, validateReport } from "../src/index.js";
import type { MemoryReport } from "../src/report-types.js";

/*
 * Block labels (a container's type and name, which it passes to a trace
 * scope with every allocation) in a real memory snapshot: the text report,
 * the HTML scope table and its hover text, the flame graph and the diff show
 * them. The containers package does exactly what `grow` does here.
 */

const GRID = 'HashMap<u32, u32> "grid"';

function game(tracing: "counts" | "callstacks"): { report: (label: string) => MemoryReport; grow: () => void; done: () => void } {
  const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 32 << 20, tracing });
  const physics = memory.scope("physics");
  const grid = physics.labelId(GRID);
  const ids = physics.labelId('DynamicArray<u32> "ids"');
  const blocks = [physics.allocate(4000, 8, grid), physics.allocate(512, 8, ids), physics.allocate(100)];
  function grow(): void {
    blocks[0] = physics.reallocate(blocks[0]!, 12_000);
  }
  return {
    report: (label) => validateReport(JSON.parse(JSON.stringify(memory.snapshot(label))), label),
    grow,
    done: () => {
      for (const p of blocks) physics.deallocate(p);
      physics.dispose();
      memory.shutdown();
    },
  };
}

describe.each(["counts", "callstacks"] as const)('labels in a real snapshot at tracing "%s"', (tracing) => {
  test("the snapshot carries them; the text report lists them under their scope", () => {
    const g = game(tracing);
    const report = g.report("labels");
    const physics = report.scopes.children.find((c) => c.name === "physics")!;
    expect(physics.labels!.map((l) => [l.label, l.liveBytes, l.liveCount])).toEqual([
      [GRID, 4000, 1],
      ['DynamicArray<u32> "ids"', 512, 1],
    ]);
    const text = formatText(report);
    expect(text).toMatch(new RegExp(`\\n\\s+· HashMap<u32, u32> "grid"\\s+3\\.91 KiB\\s+1\\s+3\\.91 KiB\\n`));
    g.done();
  });

  test("the HTML page shows them: a row per label under the scope, in the scope's hover text and in the flame graph", () => {
    const g = game(tracing);
    const report = g.report("labels");
    const html = renderHtml(report);
    const row = /<tr class="label-row" title="([^"]*)" data-path="root\/physics" data-label="HashMap&lt;u32, u32&gt; &quot;grid&quot;">(.*?)<\/tr>/.exec(html);
    expect(row).not.toBeNull();
    expect(row![1]).toContain("live: 3.91 KiB (4,000 B) in 1 block");
    expect(row![2]).toContain("· </span>HashMap&lt;u32, u32&gt; &quot;grid&quot;</td>");
    expect(html).toMatch(/<tr title="root\/physics[^"]*own blocks by label \(container\):\n {2}HashMap&lt;u32, u32&gt; &quot;grid&quot;: 3\.91 KiB \(4,000 B\) in 1 block/);
    // The flame graph: the label frame sits right under the scope, green, named a block label.
    const layout = layoutFlame(buildFlameTree(report.folded.liveBytes, scopePaths(report.scopes)));
    const frame = layout.rects.find((r) => r.name === `[${GRID}]`)!;
    expect(frame).toMatchObject({ isLabel: true, isScope: false, value: 4000 });
    expect(frame.stack.slice(0, 3)).toEqual(["all", "root", "physics"]);
    expect(html).toContain(`data-n="[HashMap&lt;u32, u32&gt; &quot;grid&quot;]"><title>[HashMap&lt;u32, u32&gt; &quot;grid&quot;] (block label`);
    expect(html).toContain("A green frame after the scope path is a block label");
    g.done();
  });

  test("the diff names the label of a stack that grew", () => {
    const g = game(tracing);
    const before = g.report("before");
    g.grow();
    const after = g.report("after");
    const diff = diffMemoryReports(before, after);
    if (tracing === "callstacks") {
      const change = diff.stacks!.grew.find((c) => c.label === GRID)!;
      expect(change).toMatchObject({ scope: "root/physics", delta: 12_000 });
      expect(formatMemoryDiff(diff)).toContain(`root/physics [${GRID}]: `);
    } else {
      expect(diff.grew.map((c) => [c.path, c.deltaBytes])).toEqual([["root/physics", 8000]]);
    }
    g.done();
  });
});

describe("splitStack with a label", () => {
  test("the label frame after the scope path is the label, not a scope or a call", () => {
    const paths = new Set(["root", "root/physics"]);
    expect(splitStack(["root", "physics", "[grid]", "main (m.ts:1)"], paths)).toEqual({ scope: "root/physics", label: "grid", calls: ["main (m.ts:1)"] });
    expect(splitStack(["root", "physics", '[HashMap<u32, u32> "a: b (c)"]'], paths)).toEqual({ scope: "root/physics", label: 'HashMap<u32, u32> "a: b (c)"', calls: [] });
    // A scope disposed since the report: the scope frames still end at the label.
    expect(splitStack(["root", "gone", "[grid]"], paths)).toEqual({ scope: "root/gone", label: "grid", calls: [] });
  });
});

describe("validateReport and labels", () => {
  test("a report without labels is read as before; a malformed label is refused naming the field", () => {
    const g = game("counts");
    const report = JSON.parse(JSON.stringify(g.report("x"))) as { scopes: { children: { labels?: unknown[] }[] } };
    g.done();
    const physics = report.scopes.children.find((c) => c.labels !== undefined)!;
    expect(() => validateReport(report)).not.toThrow();
    (physics.labels![0] as { liveBytes: unknown }).liveBytes = "lots";
    expect(() => validateReport(report)).toThrow(/scopes\.children\[0\] \(root\/physics\)\.labels\[0\]\.liveBytes must be an integer >= 0, found string "lots"/);
    physics.labels = "none" as never;
    expect(() => validateReport(report)).toThrow(/\(root\/physics\)\.labels must be an array/);
  });
});
