import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { BBcCoreService } from "@bbc1/core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chainMessage, explainStartError } from "../src/explain.js";

describe("failure messages say each cause once", () => {
  it("chainMessage drops a cause whose text the message already holds", () => {
    const inner = new Error("connect ECONNREFUSED 127.0.0.1:1");
    const outer = new Error("cannot connect to 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1", { cause: inner });
    expect(chainMessage(outer)).toBe("cannot connect to 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1");
    expect(chainMessage(new Error("a", { cause: new Error("b") }))).toBe("a: b");
  });

  it("a busy client port: the address once, what it means, and --coreport", async () => {
    const blocker = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, "127.0.0.1", () => r((blocker.address() as { port: number }).port)));
    const dir = mkdtempSync(join(tmpdir(), "bbc1-explain-"));
    try {
      const err = await BBcCoreService.start({ workingDir: dir, corePort: port, p2pPort: 0, p2pHost: "127.0.0.1", useNodeKey: false, logLevel: "silent" }).then(
        async (n) => {
          await n.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      const msg = explainStartError(err);
      expect(msg).toBe(`cannot listen on 127.0.0.1:${port}: the port is already in use (another bbc1-core or another program listens there); stop it or choose another port with --coreport N`);
      expect(msg.split("EADDRINUSE").length).toBe(1);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("a busy HTTP endpoint port: named as such, with --http_port and --no_http", async () => {
    const blocker = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, "127.0.0.1", () => r((blocker.address() as { port: number }).port)));
    const dir = mkdtempSync(join(tmpdir(), "bbc1-explain-"));
    try {
      const err = await BBcCoreService.start({ workingDir: dir, corePort: 0, useNodeKey: false, logLevel: "silent", http: { port } }).then(
        async (n) => {
          await n.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(explainStartError(err)).toBe(
        `cannot listen on 127.0.0.1:${port} (http endpoint): the port is already in use (another bbc1-core or another program listens there); stop it or choose another port with --http_port N (or turn the endpoint off with --no_http)`,
      );
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
