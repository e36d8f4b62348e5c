import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import base from "../../../vitest.config.js";

// Manual mixed-domain runs against original v1.1.1 nodes (BBC1_REF); not part of CI (the root
// config includes only packages/*/test and apps/*/test).
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL("../../..", import.meta.url)),
  test: { ...base.test, include: ["packages/bbc-core/interop/**/*.test.ts"], testTimeout: 180_000, hookTimeout: 120_000, fileParallelism: false },
});
