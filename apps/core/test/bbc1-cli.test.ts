/**
 * The bbc1 CLI as an operator runs it: a real bbc1-core process on an ephemeral port with a real
 * SQLite ledger, the CLI as separate processes. Ledger commands (tx ...), export/import, backup
 * of a running node, key commands, the P2P admin commands' request/answer path, --help and errors.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, addEventAsset, addRelationPointer, fromHex, getNewId, makeTransaction, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { bbc1, ensureBuilt, startNode, type NodeProc } from "./helpers.js";

const te = new TextEncoder();
let root: string;

beforeAll(async () => {
  await ensureBuilt();
  root = mkdtempSync(join(tmpdir(), "bbc1-cli-"));
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A node in its own directory with one domain holding `n` chained transactions (the last ones with an asset file). */
async function nodeWithLedger(name: string, n: number) {
  const cwd = join(root, name);
  mkdirSync(cwd, { recursive: true });
  const node = await startNode(cwd);
  const domain = getNewId(`cli domain ${name}`);
  const user = getNewId("cli user");
  const group = getNewId("cli group");
  const keys = KeyPair.generate();
  const c = await BBcAppClient.connect({ port: node.port, domainId: domain, userId: user, nodeKey: readFileSync(join(cwd, ".bbc1", "node_key.pem"), "utf8") });
  await c.domainSetup(domain);
  await c.register();
  const ids: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const tx = makeTransaction({ eventNum: 1, relationNum: i > 0 ? 1 : 0, witness: true });
    addEventAsset(tx, 0, group, user, { assetBody: `entry ${i}`, ...(i >= n - 2 ? { assetFile: te.encode(`file ${i} `.repeat(50)) } : {}) });
    if (i > 0) {
      tx.relations[0]!.assetGroupId = group;
      addRelationPointer(tx, 0, ids[i - 1]!, null);
    }
    tx.witness!.addWitness(user);
    tx.addSignature(user, tx.sign(keys));
    ids.push((await c.insertTransaction(tx)).transactionId);
  }
  await c.close();
  return { cwd, node, domain: toHex(domain), user: toHex(user), group: toHex(group), ids: ids.map(toHex) };
}

describe("bbc1 CLI", () => {
  let a: Awaited<ReturnType<typeof nodeWithLedger>>;
  let cli: (...args: string[]) => ReturnType<typeof bbc1>;
  beforeAll(async () => {
    a = await nodeWithLedger("a", 6);
    cli = (...args) => bbc1(a.cwd, "-p", String(a.node.port), ...args);
  }, 60_000);
  afterAll(async () => {
    await a?.node.stop();
  });

  it("every command has --help; bad usage exits 2 with the reason", async () => {
    const top = await cli("--help");
    expect(top.code).toBe(0);
    for (const cmd of ["stat", "tx", "export", "import", "backup", "migrate", "key", "domain-key", "neighbors", "ping", "static-node", "id-create", "domain"]) {
      expect(top.out).toContain(cmd);
    }
    for (const sub of [["tx", "get"], ["tx", "search"], ["tx", "count"], ["tx", "traverse"], ["tx", "verify"], ["key", "rotate"], ["domain-key", "setup"], ["migrate"], ["export"]]) {
      const h = await cli(...sub, "--help");
      expect(h.code, sub.join(" ")).toBe(0);
      expect(h.out).toContain(`bbc1 ${sub.join(" ")}`);
    }
    const bad = await cli("tx", "get", "xyz", a.ids[0]!);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("must be 64 hex digits");
    const unknown = await cli("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command");
    const noConditions = await cli("tx", "count", a.domain);
    expect(noConditions.code).toBe(2);
    expect(noConditions.err).toContain("--asset-group");
  });

  it("tx get / search / count / traverse, human and --json", async () => {
    const got = JSON.parse((await cli("tx", "get", a.domain, a.ids[5]!, "--json")).out);
    expect(got.transaction_id).toBe(a.ids[5]);
    expect(got.events[0].asset.body).toEqual({ text: "entry 5" });
    expect(got.relations[0].pointers[0].transaction_id).toBe(a.ids[4]);
    expect(Object.values(got.asset_files)).toEqual([350]);
    const human = await cli("tx", "get", a.domain, a.ids[5]!);
    expect(human.code).toBe(0);
    expect(human.out).toContain(`transaction_id: ${a.ids[5]}`);
    expect(human.out).toContain("text: entry 5");

    const search = JSON.parse((await cli("tx", "search", a.domain, "--user", a.user, "-n", "3", "--json")).out);
    expect(search.transactions.map((t: { transaction_id: string }) => t.transaction_id)).toEqual([a.ids[5], a.ids[4], a.ids[3]]);
    const oldest = await cli("tx", "search", a.domain, "-g", a.group, "-n", "2", "--oldest-first");
    expect(oldest.out.split("\n").filter(Boolean).map((l) => l.split(" ")[0])).toEqual([a.ids[0], a.ids[1]]);
    expect(oldest.err).toContain("2 transaction(s)");

    expect((await cli("tx", "count", a.domain, "--user", a.user)).out.trim()).toBe("6");
    expect(JSON.parse((await cli("tx", "count", a.domain, "-g", a.group, "--json")).out)).toEqual({ count: 6 });

    const past = JSON.parse((await cli("tx", "traverse", a.domain, a.ids[5]!, "--hops", "3", "--json")).out);
    expect(past.levels.map((l: Array<{ transaction_id: string }>) => l.map((t) => t.transaction_id))).toEqual([[a.ids[5]], [a.ids[4]], [a.ids[3]]]);
    const future = await cli("tx", "traverse", a.domain, a.ids[0]!, "-d", "future", "--hops", "2");
    expect(future.out).toContain("level 1:");
    expect(future.out).toContain(a.ids[1]);

    const missing = await cli("tx", "get", a.domain, toHex(getNewId("nothing")));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("is not in domain");
  });

  it("tx verify: a good transaction passes; bytes changed in the ledger file fail with the check that caught it", async () => {
    const ok = await cli("tx", "verify", a.domain, a.ids[5]!, "--json");
    expect(ok.code).toBe(0);
    const v = JSON.parse(ok.out);
    expect(v.ok).toBe(true);
    expect(v.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(["decode", "transaction_id", "signature[0]"]));
    expect(v.checks.some((c: { name: string; ok: boolean }) => c.name.startsWith("asset_file") && c.ok)).toBe(true);
    // tamper with a stored transaction (the node stopped), then ask again
    await a.node.stop();
    const file = join(a.cwd, ".bbc1", a.domain, "bbc_ledger.sqlite");
    const db = new Database(file);
    const row = db.prepare("SELECT transaction_data FROM transaction_table WHERE transaction_id = ?").get(Buffer.from(a.ids[2]!, "hex")) as { transaction_data: Buffer };
    const data = Buffer.from(row.transaction_data);
    data[data.length - 5]! ^= 0xff; // inside the last signature
    db.prepare("UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?").run(data, Buffer.from(a.ids[2]!, "hex"));
    db.close();
    a.node = await startNode(a.cwd);
    const bad = await bbc1(a.cwd, "-p", String(a.node.port), "tx", "verify", a.domain, a.ids[2]!);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL/);
    expect(bad.out).toContain("is NOT valid");
    cli = (...args) => bbc1(a.cwd, "-p", String(a.node.port), ...args);
  });

  it("export, then import into another node: the invalid one is refused, every valid one and its asset files arrive; a re-run resumes", async () => {
    const out = join(root, "a-export.jsonl.gz");
    const ex = await cli("export", a.domain, out, "--json");
    expect(ex.code, ex.err).toBe(0);
    const totals = JSON.parse(ex.out);
    expect(totals).toMatchObject({ transactions: 6, asset_files: 2 });
    expect((await cli("export", a.domain, out)).code).toBe(2); // never overwrites

    const b = await nodeWithLedger("b", 0);
    const bcli = (...args: string[]) => bbc1(b.cwd, "-p", String(b.node.port), ...args);
    try {
      const im = await bcli("import", out, "--setup", "--json");
      expect(im.code).toBe(1); // the tampered transaction 2 is reported
      const r = JSON.parse(im.out);
      expect(r).toMatchObject({ read: 6, imported: 5, invalid: 1, failed: 0, asset_files: 2, complete: true });
      expect(im.err).toContain(`transaction ${a.ids[2]} is invalid and was not stored`);
      expect((await bcli("tx", "count", a.domain, "--user", a.user)).out.trim()).toBe("5");
      expect((await bcli("tx", "get", a.domain, a.ids[2]!)).code).toBe(1);
      const withFile = JSON.parse((await bcli("tx", "get", a.domain, a.ids[5]!, "--json")).out);
      expect(Object.values(withFile.asset_files)).toEqual([350]);
      // same order as the source: newest first
      const s = JSON.parse((await bcli("tx", "search", a.domain, "--user", a.user, "-n", "2", "--json")).out);
      expect(s.transactions.map((t: { transaction_id: string }) => t.transaction_id)).toEqual([a.ids[5], a.ids[4]]);
      // a second run finds everything there
      const again = JSON.parse((await bcli("import", out, "--json")).out);
      expect(again).toMatchObject({ imported: 0, already_present: 5, invalid: 1 });
      // a truncated file: what it holds is imported, the run fails and says so
      const plain = join(root, "a-export.jsonl");
      expect((await cli("export", a.domain, plain)).code).toBe(0);
      const lines = readFileSync(plain, "utf8").split("\n");
      writeFileSync(join(root, "cut.jsonl"), lines.slice(0, 3).join("\n") + "\n");
      const cut = await bcli("import", join(root, "cut.jsonl"));
      expect(cut.code).toBe(1);
      expect(cut.err).toContain("truncated");
      const format = JSON.parse(lines[0]!);
      expect(format).toMatchObject({ format: "bbc1-domain-export", version: 1, domain_id: a.domain });
    } finally {
      await b.node.stop();
    }
  }, 60_000);

  it("backup of the running node while a client inserts: the backup runs as a node and holds every transaction acknowledged before it", async () => {
    const c = await BBcAppClient.connect({ port: a.node.port, domainId: fromHex(a.domain), userId: fromHex(a.user) });
    await c.register();
    const keys = KeyPair.generate();
    const acked: string[] = [];
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        const tx = makeTransaction({ eventNum: 1, witness: true });
        addEventAsset(tx, 0, fromHex(a.group), fromHex(a.user), { assetBody: `during backup ${Math.random()}` });
        tx.witness!.addWitness(fromHex(a.user));
        tx.addSignature(fromHex(a.user), tx.sign(keys));
        acked.push(toHex((await c.insertTransaction(tx)).transactionId));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const ackedBefore = acked.length;
    const dest = join(root, "backup-a");
    const r = await cli("backup", dest, "--json");
    stop = true;
    await writer;
    await c.close();
    expect(r.code, r.err).toBe(0);
    const manifest = JSON.parse(r.out);
    expect(manifest.domains[a.domain]).toMatchObject({ integrity: "ok", asset_files: 2 });
    expect(readdirSync(dest).sort()).toEqual(expect.arrayContaining(["BACKUP.json", "config.json", "node_key.pem", a.domain]));
    // restore: copy the backup into a working directory and start a node there
    const restoreCwd = join(root, "restored");
    cpSync(dest, join(restoreCwd, ".bbc1"), { recursive: true });
    const restored = await startNode(restoreCwd);
    try {
      const rc = await BBcAppClient.connect({ port: restored.port, domainId: fromHex(a.domain), userId: getNewId("checker") });
      await rc.register();
      for (const id of acked.slice(0, ackedBefore)) expect((await rc.searchTransaction(fromHex(id))).transactionData).not.toBeNull();
      const n = await rc.countTransactions({ userId: fromHex(a.user) });
      expect(n).toBeGreaterThanOrEqual(6 + ackedBefore);
      await rc.close();
    } finally {
      await restored.stop();
    }
    expect((await cli("backup", dest)).code).toBe(2); // not empty
  }, 60_000);

  it("key show, key rotate with --pid: the node accepts the new key, the old one is kept aside", async () => {
    const shown = JSON.parse((await cli("key", "show", "--json")).out);
    expect(shown.public_key).toMatch(/^04[0-9a-f]{128}$/);
    const rot = await cli("key", "rotate", "--pid", String(a.node.child.pid), "--json");
    expect(rot.code, rot.err).toBe(0);
    const r = JSON.parse(rot.out);
    expect(r.node_accepts_new_key).toBe(true);
    expect(r.public_key).not.toBe(shown.public_key);
    const old = readFileSync(r.old_key_kept_as, "utf8");
    expect(old).toContain("EC PRIVATE KEY");
    expect((await cli("stat")).code).toBe(0);
    const stale = await cli("-k", r.old_key_kept_as, "--timeout", "800", "domains");
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("signature does not verify");
    expect(a.node.stderr()).toContain("node key reloaded");
  });

  it("domain-key setup writes a P-256 SEC1 key under domain_key.directory and notifies the node; notify alone works", async () => {
    const r = await cli("domain-key", "setup", a.domain, "--json");
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.file).toBe(join(a.cwd, ".bbc1", "domain_keys", `${a.domain}.pem`));
    expect(out.notified).toBe(true);
    const pem = readFileSync(out.file, "utf8");
    expect(pem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+\n-----END EC PRIVATE KEY-----\n$/);
    const k = new KeyPair().fromPrivateKeyPem(pem);
    expect(k.curveType).toBe(2);
    expect(toHex(k.publicKey!)).toBe(out.public_key);
    expect((await cli("domain-key", "setup", a.domain)).code).toBe(1); // exists: never silently replaced
    const forced = JSON.parse((await cli("domain-key", "setup", a.domain, "--force", "--json")).out);
    expect(readFileSync(forced.old_key_kept_as, "utf8")).toBe(pem);
    expect((await cli("domain-key", "notify", a.domain)).out.trim()).toBe("sent");
  });

  it("neighbors, static-node and ping against a real domain of three nodes", async () => {
    // b and c serve a's domain; fast protocol timers (network.timings is a test knob)
    const peer = async (name: string) => {
      const cwd = join(root, name);
      mkdirSync(join(cwd, ".bbc1"), { recursive: true });
      writeFileSync(join(cwd, ".bbc1", "config.json"), JSON.stringify({ network: { timings: { advertise_delay_ms: 300, key_exchange_invoke_min_ms: 100, key_exchange_invoke_max_ms: 300 } } }));
      const node = await startNode(cwd);
      const run = (...args: string[]) => bbc1(cwd, "-p", String(node.port), ...args);
      expect((await run("domain", "setup", a.domain)).code).toBe(0);
      const nodeId = (await run("node-id", a.domain)).out.trim();
      return { node, run, nodeId };
    };
    const b = await peer("nb-b");
    const c = await peer("nb-c");
    try {
      const n = JSON.parse((await cli("neighbors", a.domain, "--json")).out);
      expect(n.domain_id).toBe(a.domain);
      expect(n.neighbors).toHaveLength(1);
      expect(n.neighbors[0]).toMatchObject({ ipv4: "127.0.0.1", port: a.node.p2pPort });
      const listed = async (run: typeof cli, want: string[]) => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const rows = JSON.parse((await run("neighbors", a.domain, "--json")).out).neighbors as Array<{ node_id: string; port: number; ipv4: string }>;
          if (want.every((id) => rows.some((r) => r.node_id === id))) return rows;
          if (Date.now() > deadline) throw new Error(`neighbours ${JSON.stringify(rows)} lack ${want.join(", ")}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      // a static node: a links with b, b learns a from a's neighbour list
      const sn = await cli("static-node", a.domain, b.nodeId, "127.0.0.1", "::", String(b.node.p2pPort));
      expect(sn.code, sn.err).toBe(0);
      expect(sn.out.trim()).toBe("success");
      const rowsA = await listed(cli, [b.nodeId]);
      expect(rowsA.find((r) => r.node_id === b.nodeId)).toMatchObject({ ipv4: "127.0.0.1", port: b.node.p2pPort });
      await listed(b.run, [(await cli("node-id", a.domain)).out.trim()]);
      // kept in config.json for the next start
      const conf = JSON.parse(readFileSync(join(a.cwd, ".bbc1", "config.json"), "utf8"));
      expect(conf.domains[a.domain].static_nodes[b.nodeId]).toEqual(["127.0.0.1", null, b.node.p2pPort]);
      // a domain ping: c answers a's ping, both list each other, then the mesh closes
      const ping = await cli("ping", a.domain, "127.0.0.1", String(c.node.p2pPort));
      expect(ping.code, ping.err).toBe(0);
      expect(ping.out.trim()).toBe("sent");
      const aId = (await cli("node-id", a.domain)).out.trim();
      expect((await listed(cli, [c.nodeId])).find((r) => r.node_id === c.nodeId)).toMatchObject({ port: c.node.p2pPort });
      await listed(c.run, [aId, b.nodeId]);
      await listed(b.run, [aId, c.nodeId]);
      const all = await cli("neighbors");
      expect(all.out).toContain(`domain ${a.domain}: 3 node(s)`);
      const badPort = await cli("ping", a.domain, "127.0.0.1", "70000");
      expect(badPort.code).toBe(2);
    } finally {
      await b.node.stop();
      await c.node.stop();
    }
  }, 90_000);

  it("without the node key: admin commands fail within seconds and say where the key was looked for", async () => {
    const other = mkdtempSync(join(root, "elsewhere-"));
    const started = Date.now();
    const r = await bbc1(other, "-p", String(a.node.port), "stat");
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.err).toContain(join(other, ".bbc1", "node_key.pem"));
    expect(r.err).toContain("-k PATH");
    const missing = await bbc1(other, "-p", String(a.node.port), "-k", "nope.pem", "stat");
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(join(other, "nope.pem"));
    const refused = await bbc1(other, "-p", "1", "stat");
    expect(refused.code).toBe(1);
    expect(refused.err.split("127.0.0.1:1").length - 1).toBe(1);
  });
});

export type { NodeProc };
