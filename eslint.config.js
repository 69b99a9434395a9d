// Flat config: typescript-eslint's type-checked rules over every package.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**", "**/.vitest-out/**", "**/out/**", "**/build/**", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ["*.js", "*.mjs", "scripts/*.mjs", ".ci/*.mjs"],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // Principle 7: packages run in browsers and workers too.
    files: ["packages/*/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["node:*"], message: "packages/ must run in a browser: no node: imports" }] }],
      "no-restricted-globals": ["error", "process", "Buffer", "require", "__dirname", "__filename"],
      "@typescript-eslint/explicit-module-boundary-types": "error",
    },
  },
  {
    // The page's code runs in a browser only.
    files: ["samples/web-game/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["node:*"], message: "samples/web-game/src runs in a browser page: no node: imports" }] }],
      "no-restricted-globals": ["error", "process", "Buffer", "require", "__dirname", "__filename"],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
