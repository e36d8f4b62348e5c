import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import base from "../../../vitest.config.js";

// Manual interop run against the original Python node; not part of CI.
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL("../../..", import.meta.url)),
  test: { ...base.test, include: ["packages/bbc-client/interop/**/*.test.ts"], testTimeout: 60_000 },
});
