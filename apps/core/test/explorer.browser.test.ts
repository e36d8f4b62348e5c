/// <reference lib="dom" />
/**
 * The ledger explorer in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against a live bbc1-core process: transactions with references, pointers
 * and an asset file are inserted with @bbc1/client; the page lists them, looks one up through
 * its form, shows every field (compared with `bbc1 tx get`'s renderer), says in the browser that
 * the signatures are valid, draws the graph with the expected nodes and edges, downloads the
 * asset file byte for byte, and calls a transaction tampered in the database invalid.
 * Screenshots go to test/output/ (explorer.png: a transaction; explorer-latest.png, explorer-node.png).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import {
  KeyPair,
  addEventAsset,
  addReferenceToTransaction,
  addRelationAsset,
  addRelationPointer,
  getNewId,
  makeTransaction,
  toHex,
  type BBcTransaction,
} from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { describeTransaction } from "../src/cli/render.js";
import { appDir, ensureBuilt, startNode, type NodeProc } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const outputDir = join(appDir, "test", "output");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package (apt-get install -y chromium)`);

/** Leaves of a JSON tree as the page lists them: path -> text (nulls and empty lists shown). */
function flatten(v: unknown, path = "", out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) out.set(path, v.length === 0 ? "(none)" : v.map(String).join(", "));
    else v.forEach((x, i) => flatten(x, path === "" ? String(i) : `${path}.${i}`, out));
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) flatten(x, path === "" ? k : `${path}.${k}`, out);
  } else out.set(path, v === null ? "(null)" : String(v));
  return out;
}

describe.skipIf(!haveChromium)("ledger explorer in headless Chromium", () => {
  let cwd: string;
  let node: NodeProc;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const domainId = getNewId("explorer domain");
  const alice = getNewId("alice");
  const bob = getNewId("bob");
  const aliceKey = KeyPair.generate();
  const bobKey = KeyPair.generate();
  const group = getNewId("explorer group");
  const file = new TextEncoder().encode("the asset file of tx1\n".repeat(50));
  let tx1: BBcTransaction;
  let tx2: BBcTransaction;
  let tx3: BBcTransaction;
  let tampered: BBcTransaction;
  const hex = (tx: BBcTransaction) => toHex(tx.transactionId!);

  beforeAll(async () => {
    await ensureBuilt();
    cwd = mkdtempSync(join(tmpdir(), "bbc1-explorer-"));
    node = await startNode(cwd, ["--no_nodekey"]);
    const c = await BBcAppClient.connect({ port: node.port, domainId, userId: alice, requestTimeoutMs: 10_000 });
    await c.domainSetup(domainId);
    await c.register();
    // tx1: an event with an asset file, alice its mandatory approver
    tx1 = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx1, 0, group, alice, { assetBody: "first: with a file", assetFile: file });
    tx1.events[0]!.add({ mandatoryApprover: alice });
    tx1.witness!.addWitness(alice);
    tx1.addSignature(alice, tx1.sign(aliceKey));
    await c.insertTransaction(tx1); // the asset keeps its file: the client sends it along
    // tx2: references tx1's event (alice signs), bob witnesses
    tx2 = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tx2, 0, group, bob, { assetBody: "second: references the first" });
    tx2.events[0]!.add({ mandatoryApprover: bob, referenceIndex: 0 });
    addReferenceToTransaction(tx2, group, tx1, 0);
    tx2.witness!.addWitness(bob);
    tx2.addSignature(alice, tx2.sign(aliceKey));
    tx2.addSignature(bob, tx2.sign(bobKey));
    await c.insertTransaction(tx2);
    // tx3: a relation pointing to tx2 and to tx1's asset
    tx3 = makeTransaction({ relationNum: 1, witness: true });
    addRelationAsset(tx3, 0, getNewId("another group"), bob, { assetBody: "third: points to the second" });
    addRelationPointer(tx3, 0, tx2.transactionId, null);
    addRelationPointer(tx3, 0, tx1.transactionId, tx1.events[0]!.asset!.assetId);
    tx3.witness!.addWitness(bob);
    tx3.addSignature(bob, tx3.sign(bobKey));
    await c.insertTransaction(tx3);
    // a fourth, changed in the database below
    tampered = makeTransaction({ eventNum: 1, witness: true });
    addEventAsset(tampered, 0, group, alice, { assetBody: "an honest body" });
    tampered.witness!.addWitness(alice);
    tampered.addSignature(alice, tampered.sign(aliceKey));
    await c.insertTransaction(tampered);
    await c.close();
    expect(await node.stop()).toBe(0);
    const db = new Database(join(cwd, ".bbc1", toHex(domainId), "bbc_ledger.sqlite"));
    const row = db.prepare("SELECT transaction_data FROM transaction_table WHERE transaction_id = ?").get(Buffer.from(tampered.transactionId!)) as { transaction_data: Buffer };
    const forged = Buffer.from(row.transaction_data.toString("latin1").replace("an honest body", "a forged body!"), "latin1");
    expect(forged.equals(row.transaction_data)).toBe(false);
    db.prepare("UPDATE transaction_table SET transaction_data = ? WHERE transaction_id = ?").run(forged, Buffer.from(tampered.transactionId!));
    db.close();
    node = await startNode(cwd, ["--no_nodekey"]);

    userDataDir = mkdtempSync(join(tmpdir(), "bbc1-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("pageerror", (e) => {
      throw e;
    });
    mkdirSync(outputDir, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await node?.stop();
    for (const d of [cwd, userDataDir]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  });

  const fields = () =>
    page.$$eval("#fields tr[data-field]", (rows) => rows.map((r) => [r.getAttribute("data-field")!, (r.querySelector("td")!.textContent ?? "").trim()] as [string, string]));

  it("lists the latest transactions of the domain, newest first, with in-browser verdicts", async () => {
    await page.goto(`${node.http}/explorer/`);
    await page.waitForSelector("body[data-ready=true] #tx-list tbody tr[data-txid]");
    expect(await page.$eval("#domain", (s) => (s as HTMLSelectElement).value)).toBe(toHex(domainId));
    const rows = await page.$$eval("#tx-list tbody tr[data-txid]", (trs) => trs.map((t) => [t.getAttribute("data-txid"), t.querySelector("[data-verdict]")?.getAttribute("data-verdict")]));
    expect(rows).toEqual([
      [hex(tampered), "invalid"],
      [hex(tx3), "valid"],
      [hex(tx2), "valid"],
      [hex(tx1), "valid"],
    ]);
    await page.screenshot({ path: join(outputDir, "explorer-latest.png"), fullPage: true });
  });

  it("looks a transaction up by id: every field, valid signatures, the graph", async () => {
    await page.selectOption("#search-kind", "tx");
    await page.fill("#search-id", hex(tx2));
    await page.click("#search-go");
    await page.waitForSelector("#verdict");
    await page.waitForSelector("svg#graph");
    expect(await page.$eval("#tx-id", (e) => e.textContent)).toBe(hex(tx2));
    expect(await page.$eval("#verdict", (e) => e.getAttribute("data-verdict"))).toBe("valid");
    expect(await page.$eval("#verdict", (e) => e.textContent)).toContain("2 of 2 signature(s) verify");
    expect(await page.$eval("#verdict", (e) => e.textContent)).toContain("noble");

    const shown = new Map(await fields());
    const expected = flatten(describeTransaction(tx2));
    for (const [path, value] of expected) expect(shown.get(path), path).toBe(value);
    // and nothing but those, plus one verdict per signature
    const extra = [...shown.keys()].filter((k) => !expected.has(k));
    expect(extra).toEqual(["signatures.0.verdict", "signatures.1.verdict"]);
    expect(shown.get("signatures.0.verdict")).toMatch(/^valid/);
    expect(shown.get("signatures.1.verdict")).toMatch(/^valid/);
    // a few values straight from how the test built it
    expect(shown.get("references.0.transaction_id")).toBe(hex(tx1));
    expect(shown.get("events.0.asset.body.text")).toBe("second: references the first");
    expect(shown.get("events.0.mandatory_approvers")).toBe(toHex(bob));
    expect(shown.get("witness.user_ids")).toBe(toHex(bob));

    const nodes = await page.$$eval("svg#graph a.node", (as) => as.map((a) => [a.getAttribute("data-txid"), Number(a.getAttribute("data-hop"))]));
    expect(new Map(nodes as [string, number][])).toEqual(new Map([[hex(tx1), -1], [hex(tx2), 0], [hex(tx3), 1]]));
    const edges = await page.$$eval("svg#graph path.edge", (ps) => ps.map((p) => `${p.getAttribute("data-from")}>${p.getAttribute("data-to")}:${p.getAttribute("data-kind")}`));
    expect(edges.sort()).toEqual([`${hex(tx2)}>${hex(tx1)}:reference`, `${hex(tx3)}>${hex(tx2)}:pointer`].sort());
    await page.screenshot({ path: join(outputDir, "explorer.png"), fullPage: true });
  });

  it("follows the graph to tx1 and downloads its asset file, checked against its digest in the browser", async () => {
    await page.click(`svg#graph a.node[data-txid="${hex(tx1)}"]`);
    await page.waitForFunction((id) => document.querySelector("#tx-id")?.textContent === id, hex(tx1));
    await page.waitForSelector(".file-check.ok");
    expect(await page.$eval(".file-check", (e) => e.textContent)).toBe("file matches its digest");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("a.download")]);
    expect(download.suggestedFilename()).toBe(`${toHex(tx1.events[0]!.asset!.assetId!)}.bin`);
    expect(new Uint8Array(readFileSync(await download.path()))).toEqual(file);
    const shown = new Map(await fields());
    expect(shown.get("events.0.asset.file_size")).toBe(String(file.length));
    expect(shown.get("events.0.asset.file_digest")).toBe(toHex(tx1.events[0]!.asset!.assetFileDigest!));
  });

  it("a transaction tampered in the database is shown invalid", async () => {
    await page.fill("#search-id", hex(tampered));
    await page.selectOption("#search-kind", "tx");
    await page.click("#search-go");
    await page.waitForFunction((id) => document.querySelector("#tx-id")?.textContent === id, hex(tampered));
    expect(await page.$eval("#verdict", (e) => e.getAttribute("data-verdict"))).toBe("invalid");
    expect(await page.$eval("#verdict", (e) => e.textContent)).toContain("the stored data was changed");
    const shown = new Map(await fields());
    expect(shown.get("events.0.asset.body.text")).toBe("a forged body!");
    expect(shown.get("signatures.0.verdict")).toMatch(/^invalid/);
  });

  it("looks up by asset group and by user, and shows the node", async () => {
    await page.selectOption("#search-kind", "group");
    await page.fill("#search-id", toHex(group));
    await page.click("#search-go");
    await page.waitForFunction(() => location.hash.includes("/find/group/"));
    await page.waitForSelector("#tx-list tbody tr[data-txid]");
    expect(await page.$$eval("#tx-list tbody tr[data-txid]", (trs) => trs.map((t) => t.getAttribute("data-txid")))).toEqual([hex(tampered), hex(tx2), hex(tx1)]);
    await page.selectOption("#search-kind", "user");
    await page.fill("#search-id", toHex(bob));
    await page.click("#search-go");
    await page.waitForFunction(() => location.hash.includes("/find/user/"));
    await page.waitForFunction(() => document.querySelectorAll("#tx-list tbody tr[data-txid]").length === 2);
    expect(await page.$$eval("#tx-list tbody tr[data-txid]", (trs) => trs.map((t) => t.getAttribute("data-txid")))).toEqual([hex(tx3), hex(tx2)]);
    await page.click("#nav-node");
    await page.waitForSelector("#domains");
    expect(await page.$eval(`#domains tr[data-domain="${toHex(domainId)}"] td:nth-child(3)`, (td) => td.textContent)).toBe("4");
    expect(await page.$eval("#neighbours", (e) => e.textContent)).toMatch(/no neighbours|without a P2P layer/);
    expect(await page.$eval("#stats", (e) => e.textContent)).toContain("num_domains");
    await page.screenshot({ path: join(outputDir, "explorer-node.png"), fullPage: true });
  });
});
