// Lint rules for the whole repository: ESLint's and typescript-eslint's recommended sets.
import { defineConfig } from "eslint/config";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The Node.js globals that plain JavaScript files (scripts/*.mjs) use.
const nodeGlobals = Object.fromEntries(
  [
    "process",
    "console",
    "Buffer",
    "URL",
    "URLSearchParams",
    "setTimeout",
    "clearTimeout",
    "setInterval",
    "clearInterval",
    "fetch",
    "AbortSignal",
  ].map((name) => [name, "readonly"]),
);

export default defineConfig(
  { ignores: ["**/dist/", "**/node_modules/", ".skiff/", "coverage/"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: nodeGlobals },
  },
  {
    rules: {
      // `_`-prefixed names are deliberately unused (a callback's ignored parameter).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
    },
  },
  {
    // The client library and the controllers load "@skiff/api/light": the full "@skiff/api"
    // (schemas, validation, CEL, OpenAPI, protobuf) costs each process ~25 MB of RSS
    // (docs/benchmarks.md, control-plane memory). Types may still come from it.
    files: [
      "packages/client/src/**/*.ts",
      "packages/scheduler/src/**/*.ts",
      "packages/controller-manager/src/**/*.ts",
    ],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "@skiff/api",
              message: 'Import from "@skiff/api/light" (memory: docs/benchmarks.md).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
