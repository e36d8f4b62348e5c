/**
 * The metrics scrape of a live bbc1-core process: /metrics answers in Prometheus format, an
 * insert through @bbc1/client moves the insert counter and the latency histogram, a refused
 * oversized frame moves the refusal counter of its limit, /healthz and /readyz answer, and
 * --no_http turns the endpoint off.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, getNewId, makeTransaction, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { encodeHeader } from "@bbc1/wire";
import { ensureBuilt, startNode, type NodeProc } from "./helpers.js";

/** Value of one sample of a Prometheus exposition (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((p) => [p[1], p[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe("metrics of a live bbc1-core", () => {
  let cwd: string;
  let node: NodeProc;
  beforeAll(async () => {
    await ensureBuilt();
    cwd = mkdtempSync(join(tmpdir(), "bbc1-metrics-"));
    node = await startNode(cwd, ["--no_nodekey"]);
  }, 120_000);
  afterAll(async () => {
    await node?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const scrape = async () => {
    const r = await fetch(`${node.http}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return r.text();
  };

  it("the ready line names the endpoint; /healthz and /readyz answer", async () => {
    expect(node.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${node.http}/healthz`)).status).toBe(200);
    const ready = await fetch(`${node.http}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("an insert moves bbc1_inserts_total and the latency histogram", async () => {
    const domainId = getNewId("metrics domain");
    const userId = getNewId("metrics user");
    const c = await BBcAppClient.connect({ port: node.port, domainId, userId, requestTimeoutMs: 10_000 });
    await c.domainSetup(domainId);
    await c.register();
    const before = await scrape();
    const keys = KeyPair.generate();
    const tx = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx, 0, getNewId("g"), userId, { assetBody: "counted" });
    tx.witness!.addWitness(userId);
    tx.addSignature(userId, tx.sign(keys));
    await c.insertTransaction(tx);
    const after = await scrape();
    expect(sample(after, "bbc1_inserts_total")).toBe(sample(before, "bbc1_inserts_total")! + 1);
    expect(sample(after, "bbc1_insert_duration_seconds_count")).toBe(sample(before, "bbc1_insert_duration_seconds_count")! + 1);
    expect(sample(after, "bbc1_insert_duration_seconds_sum")).toBeGreaterThan(sample(before, "bbc1_insert_duration_seconds_sum")!);
    expect(sample(after, "bbc1_verify_duration_seconds_count")).toBe(sample(before, "bbc1_verify_duration_seconds_count")! + 1);
    expect(sample(after, "bbc1_registered_users", { domain: toHex(domainId) })).toBe(1);
    expect(sample(after, "bbc1_ledger_transactions", { domain: toHex(domainId) })).toBeGreaterThanOrEqual(0);
    expect(sample(after, "bbc1_client_received_bytes_total")).toBeGreaterThan(sample(before, "bbc1_client_received_bytes_total")!);
    expect(sample(after, "process_resident_memory_bytes")).toBeGreaterThan(1e6);
    await c.close();
  });

  it("concurrent inserts are verified off the event loop and every one is stored; signature batches are off by default", async () => {
    const domainId = getNewId("batch domain");
    const keys = KeyPair.generate();
    const group = getNewId("batch group");
    const clients = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const userId = getNewId(`batch user ${i}`);
        const c = await BBcAppClient.connect({ port: node.port, domainId, userId, requestTimeoutMs: 10_000 });
        if (i === 0) await c.domainSetup(domainId);
        return { c, userId };
      }),
    );
    for (const { c } of clients) await c.register();
    const ids = (
      await Promise.all(
        clients.map(async ({ c, userId }) => {
          const out: string[] = [];
          for (let k = 0; k < 6; k++) {
            const tx = makeTransaction({ eventNum: 1, witness: true });
            addEventAsset(tx, 0, group, userId, { assetBody: `batched ${k}` });
            tx.witness!.addWitness(userId);
            tx.addSignature(userId, tx.sign(keys));
            out.push(toHex((await c.insertTransaction(tx)).transactionId));
          }
          return out;
        }),
      )
    ).flat();
    const stats = await clients[0]!.c.getStats();
    // verifyBatches is an embedding option, off in bbc1-core: no batch counters
    expect(stats.verify).toBeUndefined();
    expect(stats.transaction?.invalid ?? 0).toBe(0);
    for (const id of ids) expect(toHex((await clients[1]!.c.searchTransaction(Buffer.from(id, "hex"))).transactionId)).toBe(id);
    for (const { c } of clients) await c.close();
  });

  it("a refused oversized frame moves bbc1_refusals_total{limit=\"frame_size\"}", async () => {
    const before = sample(await scrape(), "bbc1_refusals_total", { limit: "frame_size" }) ?? 0;
    await new Promise<void>((resolve, reject) => {
      const s = connect(node.port, "127.0.0.1", () => s.write(encodeHeader({ payloadType: 2, formatVersion: 0, length: 0xffffff00 })));
      s.on("error", () => undefined);
      s.on("close", () => resolve());
      setTimeout(() => reject(new Error("the node kept the connection of an oversized frame")), 10_000).unref();
    });
    expect(sample(await scrape(), "bbc1_refusals_total", { limit: "frame_size" })).toBe(before + 1);
  });

  it("--no_http: no endpoint", async () => {
    mkdirSync(join(cwd, "nohttp"));
    const other = await startNode(join(cwd, "nohttp"), ["--no_nodekey", "--no_http"]);
    try {
      expect(other.http).toBe("");
    } finally {
      expect(await other.stop()).toBe(0);
    }
  });
});
