import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import base from "../../../vitest.config.js";

// Manual interop run against original v1.1.1 nodes (BBC1_REF, or BBC1_PYREF); not part of CI.
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL("../../..", import.meta.url)),
  test: { ...base.test, include: ["packages/bbc-net/interop/**/*.test.ts"], testTimeout: 120_000, fileParallelism: false },
});
