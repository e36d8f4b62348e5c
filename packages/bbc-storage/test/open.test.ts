/** Opening stores: unreachable servers, external storage, SQLite file settings. */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { toHex } from "@bbc1/bbclib";
import { openLedgerStore, StorageError } from "@bbc1/storage";
import { makeTx, newId } from "./txs.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bbc1-open-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return (e as StorageError).code;
  }
  return "resolved";
}

describe("openLedgerStore", () => {
  it("fails with CONNECT_FAILED when a server is not reachable", async () => {
    const domainId = newId();
    expect(await code(openLedgerStore({ domainId, workingDir: tmp(), config: { db: { db_type: "postgres", db_servers: [{ db_url: "postgres://x@127.0.0.1:1/db" }] } } }))).toBe("CONNECT_FAILED");
    expect(await code(openLedgerStore({ domainId, workingDir: tmp(), config: { db: { db_type: "mysql", db_servers: [{ db_url: "mysql://x@127.0.0.1:1/db" }] } } }))).toBe("CONNECT_FAILED");
    expect(await code(openLedgerStore({ domainId, workingDir: tmp(), config: { db: { db_type: "mysql", db_name: "bad name!", db_servers: [{}] } } }))).toBe("BAD_CONFIG");
  });

  it("creates the SQLite ledger (default config: bbc_ledger.sqlite) in WAL mode with the v1.1.1 tables", async () => {
    const workingDir = tmp();
    const domainId = newId();
    const store = await openLedgerStore({ domainId, workingDir });
    const file = join(workingDir, toHex(domainId), "bbc_ledger.sqlite");
    expect(existsSync(file)).toBe(true);
    const db = new Database(file, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(["transaction_table", "asset_info_table", "topology_table", "cross_ref_table", "merkle_branch_table", "merkle_leaf_table", "merkle_root_table"]));
    db.close();
    await store.close();
  });

  it("does not write asset files for storage.type external, but still reads under the storage root", async () => {
    const workingDir = tmp();
    const store = await openLedgerStore({ domainId: newId(), workingDir, config: { storage: { type: "external" }, db: { db_type: "sqlite" } } });
    expect(store.useExternalStorage).toBe(true);
    const g = newId(), u = newId();
    const file = new Uint8Array([1, 2, 3, 4]);
    const tx = makeTx({ assetGroupId: g, userId: u, file });
    const assetId = tx.events[0].asset!.assetId!;
    expect((await store.insertTransaction(tx, { assetFiles: { [toHex(assetId)]: file } })).inserted).toBe(true);
    expect(existsSync(store.assetFiles.pathOf(g, assetId))).toBe(false);
    expect(await store.assetFiles.write(g, assetId, file)).toBe(false);
    expect(await store.assetFiles.read(g, assetId)).toBeNull();
    await store.close();
  });
});

describe("a SQLite ledger created by v1.1.1 itself", () => {
  // The schema exactly as v1.1.1's SqliteAdaptor.create_table writes it (data_handler.py), with one stored row.
  const V111_SCHEMA = [
    ["transaction_table", "transaction_id BLOB, transaction_data BLOB", "transaction_id", ["transaction_id"]],
    ["asset_info_table", "id INTEGER, transaction_id BLOB, asset_group_id BLOB, asset_id BLOB, user_id BLOB", "id", ["id", "transaction_id", "asset_group_id", "asset_id", "user_id"]],
    ["topology_table", "id INTEGER, base BLOB, point_to BLOB", "id", ["id", "base", "point_to"]],
    ["cross_ref_table", "id INTEGER, transaction_id BLOB, outer_domain_id BLOB, txid_having_cross_ref BLOB", "id", ["transaction_id"]],
  ] as const;

  it("opens, keeps the old rows and stores new transactions", async () => {
    const workingDir = tmp();
    const domainId = newId();
    const dir = join(workingDir, toHex(domainId));
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "bbc_ledger.sqlite");
    const g = newId(), u = newId();
    const old = makeTx({ assetGroupId: g, userId: u });
    {
      const db = new Database(file);
      for (const [tbl, cols, pk, idx] of V111_SCHEMA) {
        db.exec(`CREATE TABLE ${tbl} (${cols}, PRIMARY KEY (${pk}));`);
        idx.forEach((c, i) => db.exec(`CREATE INDEX ${tbl}_idx_${i} ON ${tbl} (${c});`));
      }
      const data = old.serialize();
      db.prepare("INSERT INTO transaction_table (transaction_id, transaction_data) VALUES (?, ?)").run(Buffer.from(old.transactionId!), Buffer.from(data));
      db.prepare("INSERT INTO asset_info_table (transaction_id, asset_group_id, asset_id, user_id) VALUES (?, ?, ?, ?)").run(
        Buffer.from(old.transactionId!),
        Buffer.from(g),
        Buffer.from(old.events[0].asset!.assetId!),
        Buffer.from(u),
      );
      db.close();
    }
    const store = await openLedgerStore({ domainId, workingDir, config: { db: { db_type: "sqlite", db_name: "bbc_ledger.sqlite" } } });
    try {
      const fresh = makeTx({ assetGroupId: g, userId: u });
      expect((await store.insertTransaction(fresh)).inserted).toBe(true);
      expect((await store.getTransaction(old.transactionId!))?.data).toEqual(old.serialize());
      expect(await store.countTransactions({ assetGroupId: g })).toBe(2);
    } finally {
      await store.close();
    }
  });
});
