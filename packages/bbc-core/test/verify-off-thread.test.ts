/**
 * Signatures verified off the event loop (OpenSSL on libuv's thread pool) while other inserts are in progress: the
 * verdicts equal those of the inline path for the golden vectors of the original bbclib and for forged
 * transactions, and concurrent inserts through a node take that path with every bad transaction still refused.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, fromHex, getNewId } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { validateSubmitted, validateSubmittedAsync } from "../src/validator.js";
import { ValidatorPool } from "../src/validator-pool.js";
import { client, setupDomain, signedTx, startNode, type TestNode } from "./helpers/node.js";
import type { RawClient } from "./helpers/raw-client.js";

interface Case {
  name: string;
  serialized: string;
  asset_files?: Record<string, string>;
}

const dir = join(import.meta.dirname, "fixtures");
const cases: Case[] = readdirSync(dir)
  .filter((f) => /^bbclib-.*\.json$/.test(f))
  .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), "utf8")) as { cases: Case[] }).cases);

const label = (v: { ok: boolean; why?: string }): string => (v.ok ? "ok" : v.why!);

/** Forgeries of one valid transaction, each with the reason v1.1.1's validation gives. */
function forgeries(): { name: string; data: Uint8Array; files: Map<unknown, unknown> | null; want: string }[] {
  const key = KeyPair.generate();
  const user = getNewId("forger");
  const group = getNewId("forged group");
  const file = new TextEncoder().encode("the file");
  const good = signedTx(key, user, group, { file });
  const out: { name: string; data: Uint8Array; files: Map<unknown, unknown> | null; want: string }[] = [];
  const files = new Map<unknown, unknown>([[good.tx.events[0]!.asset!.assetId!, file]]);
  out.push({ name: "valid with its file", data: good.data, files, want: "ok" });
  out.push({ name: "another file", data: good.data, files: new Map<unknown, unknown>([[good.tx.events[0]!.asset!.assetId!, new TextEncoder().encode("other")]]), want: "asset_file" });
  const flipped = signedTx(key, user, group);
  flipped.tx.signatures[0]!.signature![7] ^= 0x01;
  out.push({ name: "signature bit flipped", data: flipped.tx.serialize(), files: null, want: "signature" });
  const otherKey = signedTx(key, user, group);
  otherKey.tx.signatures[0]!.pubkey = KeyPair.generate().publicKey;
  out.push({ name: "another signer's public key", data: otherKey.tx.serialize(), files: null, want: "signature" });
  const offCurve = signedTx(key, user, group);
  offCurve.tx.signatures[0]!.pubkey![64] ^= 0x01;
  out.push({ name: "public key off the curve", data: offCurve.tx.serialize(), files: null, want: "signature" });
  out.push({ name: "truncated bytes", data: good.data.subarray(0, good.data.length - 9), files: null, want: "decode" });
  return out;
}

describe("off-thread verification gives the inline verdicts", () => {
  it("for every golden transaction of the original bbclib (with its asset files)", async () => {
    expect(cases.length).toBeGreaterThan(10);
    for (const c of cases) {
      const data = fromHex(c.serialized);
      const files = new Map<unknown, unknown>(Object.entries(c.asset_files ?? {}).map(([k, v]) => [fromHex(k), fromHex(v)]));
      const inline = validateSubmitted(data, files);
      expect(label(await validateSubmittedAsync(data, files)), c.name).toBe(label(inline));
    }
  });

  it("for forged transactions, directly and through the validator pool", async () => {
    const pool = new ValidatorPool(0);
    for (const f of forgeries()) {
      expect(label(validateSubmitted(f.data, f.files)), f.name).toBe(f.want);
      expect(label(await validateSubmittedAsync(f.data, f.files)), f.name).toBe(f.want);
      const p = pool.validate(f.data, f.files, true);
      expect(label(await p), f.name).toBe(f.want);
    }
    await pool.close();
  });

  it("the pool's off-thread path does not settle on this thread's turn", async () => {
    const pool = new ValidatorPool(0);
    const s = signedTx(KeyPair.generate(), getNewId("u"), getNewId("g"));
    let settled = false;
    const p = pool.validate(s.data, null, true).then((v) => ((settled = true), v));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false); // the verification is still on libuv's pool
    expect((await p).ok).toBe(true);
    await pool.close();
  });
});

describe("concurrent inserts through a node", () => {
  const domainId = getNewId("off-thread verify domain");
  let t: TestNode;
  const offThread: boolean[] = [];
  const clients: RawClient[] = [];

  beforeAll(async () => {
    t = await startNode();
    await setupDomain(t.port, domainId);
    const validate = t.node.validate.bind(t.node);
    t.node.validate = (data, files, off) => {
      offThread.push(off === true);
      return validate(data, files, off);
    };
    for (let i = 0; i < 12; i++) {
      const c = await client(t.port, domainId, getNewId(`concurrent user ${i}`));
      c.register();
      clients.push(c);
    }
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await t.stop();
  });

  it("are verified off the event loop while others are in progress, and bad ones are still refused", async () => {
    const key = KeyPair.generate();
    const group = getNewId("concurrent group");
    const results = await Promise.all(
      clients.map(async (c, i) => {
        const out: { id: Uint8Array; bad: boolean; status: unknown }[] = [];
        for (let k = 0; k < 6; k++) {
          const s = signedTx(key, c.userId!, group);
          const bad = (i + k) % 4 === 0;
          if (bad) s.tx.signatures[0]!.signature![3] ^= 0x40;
          const req = c.request(MsgType.REQUEST_INSERT, { transaction_data: bad ? s.tx.serialize() : s.data, all_asset_files: new Map() });
          out.push({ id: s.id, bad, status: (await c.answer(req, 20_000)).status });
        }
        return out;
      }),
    );
    const all = results.flat();
    expect(offThread.some((x) => x)).toBe(true);
    for (const r of all) expect(r.status, r.bad ? "forged" : "valid").toBe(r.bad ? -1 : 0);
    // what was acknowledged is stored, what was refused is not
    const c = clients[0]!;
    for (const r of all) {
      const res = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: r.id }));
      expect(res.status, r.bad ? "forged stored" : "valid missing").toBe(r.bad ? -14 : 0);
    }
  });
});
