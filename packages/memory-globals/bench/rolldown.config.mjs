// Bundles bench/timeline.bench.ts (and the workspace packages it imports, from
// source) into out/timeline.bench.mjs so plain Node runs it: `npm run bench`.
// Plain Node, not vitest: vitest's module runner turns every cross-module call
// into a namespace lookup, which would distort a per-frame cost.
export default {
  input: "bench/timeline.bench.ts",
  platform: "node",
  resolve: { conditionNames: ["@memkit/source", "import", "default"] },
  output: { file: "out/timeline.bench.mjs", format: "esm" },
};
