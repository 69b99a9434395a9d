// Bundles bench/pair.bench.ts (and the workspace packages it imports, from
// source) into out/pair.bench.mjs so plain Node can run it: `npm run bench`.
export default {
  input: "bench/pair.bench.ts",
  platform: "node",
  resolve: { conditionNames: ["@memkit/source", "import", "default"] },
  output: { file: "out/pair.bench.mjs", format: "esm" },
};
