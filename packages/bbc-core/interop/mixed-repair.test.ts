/**
 * MANUAL mixed-domain check of issue 10's repair (not in CI): a `bbc1-core` process and an
 * ORIGINAL v1.1.1 node hold the same transaction; it is forged in one side's SQLite file and that
 * side's client asks for a repair (REQUEST_REPAIR); the other side answers. Both ways. Needs
 * `npm run build` and a local v1.1.1 setup:
 *
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-repair
 *
 * Skipped when neither BBC1_REF nor BBC1_PYREF is set. See mixed.ts for what the setup provides.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { deserialize, fromHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { REF, fullMesh, hex, ours, ref, sha, stopAll, until, type OursNode } from "./mixed.js";

afterAll(stopAll, 60_000);

/** The SQLite ledger file under a node's working directory for the domain. */
function ledgerFile(dir: string, domainHex: string): string {
  const d = join(dir, domainHex);
  const f = readdirSync(d).find((x) => x.endsWith(".sqlite") && statSync(join(d, x)).isFile());
  if (f === undefined) throw new Error(`no sqlite file in ${d}`);
  return join(d, f);
}

/** Flips a byte inside the last signature of the stored row (once the row is in the table). */
async function forge(file: string, txid: Uint8Array): Promise<void> {
  await until("the row in the table", () => {
    const db = new Database(file, { fileMustExist: true });
    try {
      db.pragma("busy_timeout = 5000");
      const r = db.prepare("SELECT transaction_data FROM transaction_table WHERE transaction_id = ?").get(Buffer.from(txid)) as { transaction_data: Buffer } | undefined;
      if (r === undefined) return undefined;
      const bad = Buffer.from(r.transaction_data);
      bad[bad.length - 5]! ^= 0xff;
      db.prepare("UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?").run(bad, Buffer.from(txid));
      return true;
    } finally {
      db.close();
    }
  });
}

describe.runIf(REF !== undefined)("mixed domain (issue 10): repair between bbc1-core and v1.1.1", () => {
  it("a transaction forged on either side is repaired from the other", async () => {
    const domain = `mixed-repair-${Date.now()}`;
    const domainHex = hex(sha(domain));
    const r = await ref("r", domain);
    const o: OursNode = await ours("o", domain);
    await o.ping(r.p2pPort);
    await fullMesh([r, o]);
    const cl = await BBcAppClient.connect({ port: o.corePort, domainId: sha(domain), userId: sha("alice"), requestTimeoutMs: 10_000 });
    try {
      /** A transaction made and inserted by the original client on v1.1.1, then inserted on ours (unless replication brought it). */
      const both = async (body: string) => {
        const out = await r.admin("insert", "--user", "alice", "--body", body);
        const txid = fromHex(/^txid ([0-9a-f]+)$/m.exec(out)![1]!);
        const data = fromHex(/^tx ([0-9a-f]+)$/m.exec(out)![1]!);
        await cl.insertTransaction(deserialize(data)).catch(() => undefined);
        await until("ours to hold it", async () => ((await cl.searchTransaction(txid, { acceptCompromised: true }).catch(() => null))?.transactionData ? true : undefined));
        return { txid, data };
      };

      // forged on ours: ours asks, v1.1.1 answers (command 3), ours verifies and replaces
      const a = await both(`repair on ours ${Math.random()}`);
      await forge(ledgerFile(o.dir, domainHex), a.txid);
      expect((await cl.searchTransaction(a.txid, { acceptCompromised: true })).compromised).toBe(true);
      await cl.requestToRepairTransaction(a.txid);
      await until("ours to be repaired from v1.1.1", async () => ((await cl.searchTransaction(a.txid, { acceptCompromised: true })).compromised ? undefined : true), 30_000);
      expect(hex((await cl.searchTransaction(a.txid)).transactionData!)).toBe(hex(a.data));
      expect((await o.stats()).repair?.repaired_transaction).toBe(1);

      // forged on v1.1.1: its client asks, ours answers from its valid copy, v1.1.1 replaces
      const b = await both(`repair on v1.1.1 ${Math.random()}`);
      await forge(ledgerFile(r.dir, domainHex), b.txid);
      expect(await r.admin("search", "--user", "alice", "--txid", hex(b.txid))).toMatch(/^compromised /m);
      await r.admin("repair", "--user", "alice", "--txid", hex(b.txid));
      await until("v1.1.1 to be repaired from ours", async () => (/^found [0-9a-f]+ format=\d+ verified$/m.test(await r.admin("search", "--user", "alice", "--txid", hex(b.txid))) ? true : undefined), 30_000);
      expect((await o.stats()).repair?.answered_transaction).toBeGreaterThanOrEqual(1);
      expect(r.log()).not.toContain("Traceback");
    } finally {
      await cl.close();
    }
  });
});
