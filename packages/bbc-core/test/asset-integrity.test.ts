/**
 * Asset integrity on insert: asset_id must be the asset's digest as bbclib computes it (every
 * BBcFormat, every id_length), supplied files must match their digests, and transactions made by
 * the original Python bbclib (golden vectors in test/fixtures, read case by case) keep the
 * verdicts v1.1.1 gives them.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, deserialize, fromHex, getNewId, makeTransaction, type FormatType } from "@bbc1/bbclib";
import { assetIdsMatch, validateSubmitted } from "../src/validator.js";

interface Case {
  name: string;
  format_type: number;
  id_length: number;
  serialized: string;
  valid: { result: boolean; valid_assets: string[][]; invalid_assets: string[][] };
  asset_files?: Record<string, string>;
}

const dir = join(import.meta.dirname, "fixtures");
const cases: Case[] = readdirSync(dir)
  .filter((f) => /^bbclib-.*\.json$/.test(f))
  .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), "utf8")) as { cases: Case[] }).cases);

describe("asset ids of transactions made by the original Python bbclib", () => {
  it("has vectors of every format and id length", () => {
    expect(new Set(cases.map((c) => c.format_type)).size).toBe(7);
    expect(new Set(cases.map((c) => c.id_length)).size).toBeGreaterThanOrEqual(3);
  });

  it("every golden transaction passes the asset_id check and keeps its v1.1.1 verdict", () => {
    for (const c of cases) {
      const data = fromHex(c.serialized);
      expect(assetIdsMatch(deserialize(data)), c.name).toBe(true);
      const files = new Map<unknown, unknown>(Object.entries(c.asset_files ?? {}).map(([k, v]) => [fromHex(k), fromHex(v)]));
      const verdict = validateSubmitted(data, files);
      const expected = !c.valid.result ? "signature" : c.valid.invalid_assets.length > 0 ? "asset_file" : "ok";
      expect(verdict.ok ? "ok" : verdict.why, c.name).toBe(expected);
    }
  });
});

describe("a forged asset_id is refused in every format and id length", () => {
  const key = KeyPair.generate();
  const user = getNewId("integrity user");
  for (const formatType of [0, 1, 2, 3, 4, 5, 6] as FormatType[]) {
    for (const idLength of [32, 20, 8]) {
      it(`format ${formatType}, id_length ${idLength}`, () => {
        const build = (forge: boolean, body: string | Record<string, unknown>): Uint8Array => {
          const tx = makeTransaction({ formatType, idLength, eventNum: 1, witness: true });
          addEventAsset(tx, 0, getNewId("group"), user, { assetBody: body as never });
          if (forge) tx.events[0]!.asset!.assetId![0] ^= 1;
          tx.witness!.addWitness(user);
          tx.addSignature(user.subarray(0, idLength), tx.sign(key));
          return tx.serialize();
        };
        expect(validateSubmitted(build(false, "honest"), null).ok).toBe(true);
        const forged = validateSubmitted(build(true, "forged"), null);
        expect(forged.ok || forged.why).toBe("asset_id");
        // dictionary bodies with text (msgpack formats read text back as bytes)
        expect(validateSubmitted(build(false, { k: 1, s: "text", n: { t: "inner" } }), null).ok).toBe(true);
        const forgedDict = validateSubmitted(build(true, { k: 1, s: "text" }), null);
        expect(forgedDict.ok || forgedDict.why).toBe("asset_id");
      });
    }
  }

  it("an asset_id of another length than the transaction's id_length is refused", () => {
    const tx = makeTransaction({ formatType: 4, eventNum: 1, witness: true });
    addEventAsset(tx, 0, getNewId("group"), user, { assetBody: "short id" });
    tx.events[0]!.asset!.assetId = tx.events[0]!.asset!.assetId!.subarray(0, 8);
    tx.witness!.addWitness(user);
    tx.addSignature(user, tx.sign(key));
    const v = validateSubmitted(tx.serialize(), null);
    expect(v.ok || v.why).toBe("asset_id");
  });
});

describe("large asset files are hashed off the event loop with the same verdicts", () => {
  it("a 2 MiB file matching its digest is stored; another 2 MiB file for it is refused", async () => {
    const { startNode, setupDomain, client, signedTx } = await import("./helpers/node.js");
    const { MsgType } = await import("@bbc1/wire");
    const t = await startNode();
    try {
      const d = getNewId("big files " + Math.random());
      await setupDomain(t.port, d);
      const key = KeyPair.generate();
      const u = getNewId("big file user");
      const c = await client(t.port, d, u);
      c.register();
      const file = new Uint8Array(2 << 20).map((_, i) => i * 7);
      const s = signedTx(key, u, getNewId("g"), { file });
      const aid = s.tx.events[0]!.asset!.assetId!;
      const bad = file.slice();
      bad[12345] ^= 1;
      const refused = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map([[aid, bad]]) }));
      expect(refused.status).toBe(-1);
      expect(t.node.stats.get("asset_file", "invalid")).toBe(1);
      const ok = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: s.data, all_asset_files: new Map([[aid, file]]) }));
      expect(ok.status).toBe(0);
      const found = await c.answer(c.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: s.id }));
      expect(found.status).toBe(0);
      expect((found.all_asset_files as Map<Uint8Array, Uint8Array>).values().next().value).toEqual(file);
      await c.close();
    } finally {
      await t.stop();
    }
  });
});
