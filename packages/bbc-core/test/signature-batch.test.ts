/**
 * Signatures of concurrent inserts verified in batches on the validator pool's worker threads: the verdicts equal
 * the inline path's for the golden vectors of the original bbclib and for forgeries, concurrent validations really
 * share batches, the packed form round-trips (and a torn one passes nothing), and a pool closed with batches in
 * flight still answers each with its inline verdict. The pool runs from the compiled module (dist/), as in
 * `bbc1-core`: from TypeScript sources it has no workers.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeyPair, cryptoBackend, fromHex, getNewId, toHex, type CurveType } from "@bbc1/bbclib";
import { packSignatureJobs, verifyPackedSignatures } from "../src/signature-batch.js";
import { validateSubmitted, type SignatureJob } from "../src/validator.js";
import { signedTx } from "./helpers/node.js";

interface Case {
  name: string;
  serialized: string;
  asset_files?: Record<string, string>;
}
const fixtures = join(import.meta.dirname, "fixtures");
const cases: Case[] = readdirSync(fixtures)
  .filter((f) => /^bbclib-.*\.json$/.test(f))
  .flatMap((f) => (JSON.parse(readFileSync(join(fixtures, f), "utf8")) as { cases: Case[] }).cases);
const label = (v: { ok: boolean; why?: string }): string => (v.ok ? "ok" : v.why!);

const child = join(import.meta.dirname, "helpers", "batch-child.mjs");
const distPool = join(import.meta.dirname, "..", "dist", "validator-pool.js");

/** Validates `txs` concurrently in a plain Node process through the compiled pool (see helpers/batch-child.mjs). */
function inCompiledPool(mode: "all" | "close" | "deaf", txs: { data: Uint8Array; files: Map<unknown, unknown> | null }[]): { verdicts: string[]; active: boolean; stats: { batches: number; signatures: number; maxBatch: number } } {
  // CI builds before testing; a missing build is a failure, not a skip
  expect(existsSync(distPool), "packages/bbc-core/dist is built").toBe(true);
  const input = JSON.stringify({ mode, txs: txs.map((t) => ({ data: toHex(t.data), files: t.files === null ? null : [...t.files].map(([k, v]) => [toHex(k as Uint8Array), toHex(v as Uint8Array)]) })) });
  const out = execFileSync(process.execPath, [child], { input, env: { ...process.env, NODE_OPTIONS: "" }, maxBuffer: 16 << 20 });
  return JSON.parse(out.toString()) as ReturnType<typeof inCompiledPool>;
}

/** Transactions (bytes + files) with the verdict v1.1.1's validation gives each. */
function corpus(): { name: string; data: Uint8Array; files: Map<unknown, unknown> | null }[] {
  const out: { name: string; data: Uint8Array; files: Map<unknown, unknown> | null }[] = [];
  for (const c of cases) {
    out.push({ name: c.name, data: fromHex(c.serialized), files: new Map<unknown, unknown>(Object.entries(c.asset_files ?? {}).map(([k, v]) => [fromHex(k), fromHex(v)])) });
  }
  const key = KeyPair.generate();
  const user = getNewId("batch forger");
  const group = getNewId("batch group");
  const file = new TextEncoder().encode("the file");
  for (let i = 0; i < 12; i++) {
    const s = signedTx(key, user, group, i % 3 === 0 ? { file } : {});
    const files = i % 3 === 0 ? new Map<unknown, unknown>([[s.tx.events[0]!.asset!.assetId!, i % 2 === 0 ? file : new TextEncoder().encode("other")]]) : null;
    if (i % 4 === 1) s.tx.signatures[0]!.signature![5] ^= 0x10;
    if (i % 4 === 2) s.tx.signatures[0]!.pubkey = KeyPair.generate().publicKey;
    out.push({ name: `generated ${i}`, data: i % 4 === 1 || i % 4 === 2 ? s.tx.serialize() : s.data, files });
  }
  return out;
}

describe("batched signature verification on the worker threads", () => {
  it("gives the inline verdicts for golden and forged transactions validated concurrently, in shared batches", () => {
    const all = corpus();
    expect(all.length).toBeGreaterThan(20);
    const { verdicts, active, stats } = inCompiledPool("all", all);
    expect(active).toBe(true);
    verdicts.forEach((v, i) => expect(v, all[i]!.name).toBe(label(validateSubmitted(all[i]!.data, all[i]!.files))));
    expect(new Set(verdicts)).toEqual(new Set(["ok", "signature", "asset_file", ...verdicts]));
    // every transaction that reached its signature step went through a batch, and they shared batches
    expect(stats.signatures).toBeGreaterThan(20);
    expect(stats.batches).toBeLessThan(stats.signatures);
    expect(stats.maxBatch).toBeGreaterThan(1);
  });

  it("sends nothing to a worker that never listens, and still answers every validation", () => {
    const all = corpus();
    const { verdicts, stats } = inCompiledPool("deaf", all);
    expect(stats.batches).toBe(0);
    verdicts.forEach((v, i) => expect(v, all[i]!.name).toBe(label(validateSubmitted(all[i]!.data, all[i]!.files))));
  });

  it("answers what is in flight with the inline verdicts when the pool closes", () => {
    const all = corpus();
    const { verdicts, stats } = inCompiledPool("close", all);
    expect(stats.batches).toBeGreaterThan(0); // a batch had left for the worker
    verdicts.forEach((v, i) => expect(v, all[i]!.name).toBe(label(validateSubmitted(all[i]!.data, all[i]!.files))));
  });
});

describe("the packed form of a batch", () => {
  const key = KeyPair.generate();
  const message = new TextEncoder().encode("a transaction body");
  const good: SignatureJob = { curve: key.curveType, publicKey: key.publicKey!, message, signature: key.signMessage(message) };

  it("verifies each job as the backend does, whatever is changed in it", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ flip: fc.nat(200), field: fc.constantFrom("none" as const, "signature" as const, "message" as const, "publicKey" as const, "curve" as const) }), { maxLength: 8 }), (mods) => {
        const jobs = mods.map(({ flip, field }) => {
          const j = { ...good, publicKey: good.publicKey.slice(), message: good.message.slice(), signature: good.signature.slice() };
          if (field === "curve") j.curve = flip % 5;
          else if (field !== "none") j[field][flip % j[field].length] ^= 1 + (flip % 255);
          return j;
        });
        const verdicts = verifyPackedSignatures(packSignatureJobs(jobs));
        expect(verdicts.length).toBe(jobs.length);
        jobs.forEach((j, i) => {
          const want = (j.curve === 1 || j.curve === 2) && cryptoBackend.verifyMessage(j.curve as CurveType, j.publicKey, j.message, j.signature);
          expect(verdicts[i] === 1).toBe(want);
        });
      }),
      { numRuns: 60 },
    );
  });

  it("passes nothing that a torn or garbled buffer does not hold whole", () => {
    const packed = packSignatureJobs([good, good, good]);
    expect(Array.from(verifyPackedSignatures(packed))).toEqual([1, 1, 1]);
    fc.assert(
      fc.property(fc.nat(packed.length - 1), (cut) => {
        const v = verifyPackedSignatures(packed.slice(0, cut));
        // only items entirely inside the cut can pass
        const whole = Math.floor(Math.max(0, cut - 4) / (12 + good.publicKey.length + good.signature.length + good.message.length));
        expect(v.length).toBeLessThanOrEqual(3);
        expect(v.reduce((n, b) => n + b, 0)).toBeLessThanOrEqual(whole);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const v = verifyPackedSignatures(bytes);
        expect(v.length).toBeLessThanOrEqual(Math.max(0, Math.floor((bytes.length - 4) / 12)));
      }),
    );
  });
});
