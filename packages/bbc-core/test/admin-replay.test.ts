import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { KeyPair, getNewId, sha256 } from "@bbc1/bbclib";
import { MsgType, encodeTlv } from "@bbc1/wire";
import { AdminReplayCache, ADMIN_REPLAY_FILE } from "../src/admin-replay.js";
import { startNode } from "./helpers/node.js";
import { RawClient } from "./helpers/raw-client.js";

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), "bbc1-replay-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const info = () => new Uint8Array(randomBytes(40));

describe("AdminReplayCache", () => {
  it("accepts an admin_info once, and still refuses it after reopening", () => {
    const dir = freshDir();
    const a = info();
    const b = info();
    const c = new AdminReplayCache(dir, 100);
    expect(c.accept(a)).toBe(true);
    expect(c.accept(a)).toBe(false);
    expect(c.accept(b)).toBe(true);
    c.close();
    const again = new AdminReplayCache(dir, 100);
    expect(again.size).toBe(2);
    expect(again.accept(a)).toBe(false);
    expect(again.accept(b)).toBe(false);
    expect(again.accept(info())).toBe(true);
    again.close();
  });

  it("cuts a torn last record (crash while appending) and keeps the whole ones", () => {
    const dir = freshDir();
    const a = info();
    const c = new AdminReplayCache(dir, 100);
    c.accept(a);
    c.close();
    appendFileSync(join(dir, ADMIN_REPLAY_FILE), sha256(info()).subarray(0, 13));
    const again = new AdminReplayCache(dir, 100);
    expect(statSync(join(dir, ADMIN_REPLAY_FILE)).size).toBe(32);
    expect(again.accept(a)).toBe(false);
    const b = info();
    expect(again.accept(b)).toBe(true);
    again.close();
    expect(new AdminReplayCache(dir, 100).accept(b)).toBe(false);
  });

  it("is bounded: the oldest digests are forgotten first and the file is compacted", () => {
    const dir = freshDir();
    const c = new AdminReplayCache(dir, 10);
    const all = Array.from({ length: 35 }, info);
    for (const x of all) expect(c.accept(x)).toBe(true);
    expect(c.size).toBe(10);
    expect(statSync(join(dir, ADMIN_REPLAY_FILE)).size).toBeLessThanOrEqual(21 * 32);
    expect(c.accept(all[34]!)).toBe(false);
    expect(c.accept(all[0]!)).toBe(true);
    c.close();
    const again = new AdminReplayCache(dir, 10);
    expect(again.size).toBe(10);
    expect(again.accept(all[33]!)).toBe(false);
    again.close();
    expect(readFileSync(join(dir, ADMIN_REPLAY_FILE)).length % 32).toBe(0);
  });

  it("capacity 0 disables it", () => {
    const c = new AdminReplayCache(freshDir(), 0);
    const a = info();
    expect(c.accept(a)).toBe(true);
    expect(c.accept(a)).toBe(true);
  });
});

describe("admin replay on a node with the node key", () => {
  it("drops a replayed or spliced admin_info, logs the reason and counts it", async () => {
    const lines: string[] = [];
    const pino = (await import("pino")).default;
    const logger = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    const t = await startNode({ useNodeKey: true, logger });
    try {
      const nodeKey = new KeyPair().fromPrivateKeyPem(readFileSync(join(t.dir, "node_key.pem"), "utf8"));
      const c = await RawClient.connect(t.port);
      const domainId = getNewId("replayed " + Math.random());
      const adminInfo = encodeTlv({ domain_id: domainId, random: new Uint8Array(randomBytes(32)) });
      const sig = nodeKey.sign(sha256(adminInfo));
      const send = (command: number) => {
        const m = { ...c.base(command), admin_info: adminInfo, nodekey_signature: sig };
        c.send(m);
        return m;
      };
      expect((await c.answer(send(MsgType.REQUEST_SETUP_DOMAIN))).result).toBe(true);
      send(MsgType.REQUEST_CLOSE_DOMAIN);
      send(MsgType.REQUEST_SETUP_DOMAIN);
      expect(await c.nothing(300)).toBe(true);
      expect(t.node.domains.size).toBe(1);
      expect(t.node.stats.get("limits", "admin_replay")).toBe(2);
      expect(lines.some((l) => l.includes("replayed admin_info"))).toBe(true);
      expect(lines.some((l) => l.includes("admin command served"))).toBe(true);
      // a wrong signature is logged with its reason
      c.send({ ...c.base(MsgType.REQUEST_GET_STATS), admin_info: encodeTlv({ random: new Uint8Array(32) }), nodekey_signature: new Uint8Array(64) });
      expect(await c.nothing(200)).toBe(true);
      expect(lines.some((l) => l.includes("bad signature"))).toBe(true);
      await c.close();
    } finally {
      await t.stop();
    }
  });
});
