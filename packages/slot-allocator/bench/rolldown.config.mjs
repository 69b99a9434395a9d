// Bundles bench/slot.bench.ts (and the workspace packages it imports, from
// source) into out/slot.bench.mjs so plain Node can run it: `npm run bench`.
export default {
  input: "bench/slot.bench.ts",
  platform: "node",
  resolve: { conditionNames: ["@memkit/source", "import", "default"] },
  output: { file: "out/slot.bench.mjs", format: "esm" },
};
