// Bundles bench/defrag.bench.ts (and the workspace packages it imports, from
// source) into out/defrag.bench.mjs so plain Node runs it: `npm run bench`.
// Plain Node, not vitest: vitest's module runner turns every cross-module
// call into a namespace lookup, which would dominate a bump allocator's cost.
export default {
  input: "bench/defrag.bench.ts",
  platform: "node",
  resolve: { conditionNames: ["@memkit/source", "import", "default"] },
  output: { file: "out/defrag.bench.mjs", format: "esm" },
};
