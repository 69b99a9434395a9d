// Bundles bench/moves.bench.ts (and @memkit/core from source) into
// out/moves.bench.mjs so plain Node can run it: `npm run bench`.
export default {
  input: "bench/moves.bench.ts",
  platform: "node",
  resolve: { conditionNames: ["@memkit/source", "import", "default"] },
  output: { file: "out/moves.bench.mjs", format: "esm" },
};
