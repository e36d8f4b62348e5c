/**
 * `bbc1 migrate` over real processes and real servers: SQLite → PostgreSQL → SQLite and
 * SQLite → MariaDB, each with --update-config, the node restarted on the new back end serving the
 * same transactions in the same order. A missing server fails loudly in CI.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, getNewId, makeTransaction, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { bbc1, ensureBuilt, freePort, startNode } from "./helpers.js";
import { dropMysqlDatabase, dropPgSchema, mysqlDatabaseExists, pgSchemaExists } from "./servers.js";

const PG = process.env.BBC1_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MY = process.env.BBC1_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
let root: string;

beforeAll(async () => {
  await ensureBuilt();
  root = mkdtempSync(join(tmpdir(), "bbc1-migrate-"));
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function ledger(name: string) {
  const cwd = join(root, name);
  mkdirSync(cwd, { recursive: true });
  const node = await startNode(cwd);
  const domain = getNewId(`migrate ${name}`);
  const user = getNewId("migrate user");
  const keys = KeyPair.generate();
  const c = await BBcAppClient.connect({ port: node.port, domainId: domain, userId: user, nodeKey: readFileSync(join(cwd, ".bbc1", "node_key.pem"), "utf8") });
  await c.domainSetup(domain);
  await c.register();
  for (let i = 0; i < 40; i++) {
    const tx = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx, 0, getNewId("g"), user, { assetBody: `m ${i}` });
    tx.witness!.addWitness(user);
    tx.addSignature(user, tx.sign(keys));
    await c.insertTransaction(tx);
  }
  await c.close();
  await node.stop();
  return { cwd, domain: toHex(domain), user: toHex(user) };
}

async function newestFive(cwd: string, domain: string, user: string): Promise<string[]> {
  const node = await startNode(cwd);
  try {
    const r = await bbc1(cwd, "-p", String(node.port), "tx", "search", domain, "--user", user, "-n", "5", "--json");
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out).transactions.map((t: { transaction_id: string }) => t.transaction_id);
  } finally {
    await node.stop();
  }
}

/** Each target names a fresh schema / database, and drops it again (the servers are shared). */
const targets = [
  {
    name: "postgres",
    fresh: () => {
      const schema = `bbc1_m_${randomBytes(4).toString("hex")}`;
      return { url: `${PG}?schema=${schema}`, drop: () => dropPgSchema(PG, schema), exists: () => pgSchemaExists(PG, schema) };
    },
  },
  {
    name: "mariadb",
    fresh: () => {
      const db = `bbc1_m_${randomBytes(4).toString("hex")}`;
      const u = new URL(MY);
      u.pathname = `/${db}`;
      return { url: u.toString(), drop: () => dropMysqlDatabase(MY, db), exists: () => mysqlDatabaseExists(MY, db) };
    },
  },
];

describe("bbc1 migrate", () => {
  for (const t of targets) {
    it(`sqlite -> ${t.name} -> sqlite with --update-config: verified, the node serves the same answers`, async () => {
      const l = await ledger(t.name);
      const before = await newestFive(l.cwd, l.domain, l.user);
      const target = t.fresh();
      const to = target.url;
      const r = await bbc1(l.cwd, "migrate", l.domain, "--to", to, "--update-config", "--batch", "7", "--json");
      if (r.code !== 0 && /CONNECT_FAILED|cannot connect|ECONNREFUSED/.test(r.err)) {
        if (process.env.CI) throw new Error(`${t.name} is not reachable: ${r.err}`);
        process.stderr.write(`!!!!!!!!!! migrate to ${t.name} SKIPPED: server not reachable: ${r.err}\n`);
        return;
      }
      try {
        expect(r.code, r.err).toBe(0);
        const rep = JSON.parse(r.out);
        expect(rep.verified).toBe(true);
        expect(rep.tables.transaction_table).toMatchObject({ source_rows: 40, target_rows: 40, digests_equal: true });
        const conf = JSON.parse(readFileSync(join(l.cwd, ".bbc1", "config.json"), "utf8"));
        expect(conf.domains[l.domain].db.db_type).toBe(t.name === "postgres" ? "postgres" : "mysql");
        expect(await newestFive(l.cwd, l.domain, l.user)).toEqual(before);
        // and back to a new SQLite file
        const back = await bbc1(l.cwd, "migrate", l.domain, "--to", "sqlite:back.sqlite", "--update-config", "--json");
        expect(back.code, back.err).toBe(0);
        expect(JSON.parse(back.out).verified).toBe(true);
        expect(await newestFive(l.cwd, l.domain, l.user)).toEqual(before);
        // a second run resumes and copies nothing new
        const again = JSON.parse((await bbc1(l.cwd, "migrate", l.domain, "--to", to, "--json")).out);
        expect(again.tables.transaction_table).toMatchObject({ copied: 0, resumed: true });
      } finally {
        await target.drop();
        expect(await target.exists()).toBe(false);
      }
    }, 120_000);
  }

  it("a domain of several databases: export and migrate read database 0 and say so; a target of several gets a verified copy in each", async () => {
    const schemas = Array.from({ length: 4 }, () => `bbc1_m_${randomBytes(4).toString("hex")}`);
    const cwd = join(root, "several");
    mkdirSync(join(cwd, ".bbc1"), { recursive: true });
    const domain = getNewId("several databases");
    const hex = toHex(domain);
    const servers = (s: string[]) => s.map((db_schema) => ({ db_url: PG, db_schema }));
    writeFileSync(join(cwd, ".bbc1", "config.json"), JSON.stringify({ domains: { [hex]: { db: { db_type: "postgres", replication_strategy: "all", db_servers: servers(schemas.slice(0, 2)) } } } }));
    try {
      let node;
      try {
        node = await startNode(cwd, ["--no_nodekey"]);
      } catch (e) {
        if (process.env.CI || !/ECONNREFUSED|CONNECT_FAILED|cannot connect/.test(String(e))) throw e;
        process.stderr.write(`!!!!!!!!!! several databases SKIPPED: PostgreSQL not reachable\n`);
        return;
      }
      const user = getNewId("several user");
      const keys = KeyPair.generate();
      const c = await BBcAppClient.connect({ port: node.port, domainId: domain, userId: user });
      await c.register();
      for (let i = 0; i < 12; i++) {
        const tx = makeTransaction({ eventNum: 1, witness: true });
        addEventAsset(tx, 0, getNewId("g"), user, { assetBody: `s ${i}` });
        tx.witness!.addWitness(user);
        tx.addSignature(user, tx.sign(keys));
        await c.insertTransaction(tx);
      }
      await c.close();
      expect(await node.stop()).toBe(0);

      const exp = await bbc1(cwd, "export", hex, join(cwd, "several.jsonl.gz"));
      expect(exp.code, exp.err).toBe(0);
      expect(exp.err).toContain("exported 12 transaction(s)");
      expect(exp.err).toContain("note: the domain has 2 databases; database 0 was exported");

      const one = await bbc1(cwd, "migrate", hex, "--to", "sqlite:one.sqlite");
      expect(one.code, one.err).toBe(0);
      expect(one.err).toContain("note: the domain has 2 databases; database 0 is copied");
      expect(one.err).toContain("counts and digests verified");

      const two = await bbc1(cwd, "migrate", hex, "--to", JSON.stringify({ db_type: "postgres", db_servers: servers(schemas.slice(2)) }), "--json");
      expect(two.code, two.err).toBe(0);
      const rep = JSON.parse(two.out);
      expect(rep).toMatchObject({ source_databases: 2, target_databases: 2, verified: true });
      expect(rep.databases.map((d: { db_num: number; verified: boolean; tables: { transaction_table: { target_rows: number } } }) => [d.db_num, d.verified, d.tables.transaction_table.target_rows])).toEqual([
        [0, true, 12],
        [1, true, 12],
      ]);
    } finally {
      for (const s of schemas) await dropPgSchema(PG, s).catch(() => undefined);
      for (const s of schemas) expect(await pgSchemaExists(PG, s).catch(() => false)).toBe(false);
    }
  }, 120_000);

  it("--update-config refuses while the node runs", async () => {
    const l = await ledger("running");
    // a fixed port: config.json records it, and migrate probes the port it finds there
    const node = await startNode(l.cwd, ["--coreport", String(await freePort())]);
    try {
      // the node listens on the port written in config.json
      const r = await bbc1(l.cwd, "migrate", l.domain, "--to", "sqlite:other.sqlite", "--update-config");
      expect(r.code).toBe(2);
      expect(r.err).toContain("the node is running");
    } finally {
      await node.stop();
    }
  }, 60_000);
});
