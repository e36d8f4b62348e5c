/** Runs the README's example as written (the code block after the title). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as net from "../src/index.js";

describe("README", () => {
  it("the example runs and prints true", async () => {
    const md = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const code = /```ts\n([\s\S]*?)```/.exec(md)![1]!;
    const body = code.replace(/^import .*$/m, "");
    const logs: unknown[] = [];
    const fn = new Function("BBcNetwork", "console", `return (async () => {${body}})();`) as (b: unknown, c: unknown) => Promise<void>;
    await fn(net.BBcNetwork, { log: (...a: unknown[]) => logs.push(...a) });
    expect(logs).toEqual([true]);
  });
});
