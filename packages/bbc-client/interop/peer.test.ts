/**
 * MANUAL interop check (not in CI): @bbc1/client and the ORIGINAL Python client as peers through
 * a node (the Python bbc_core.py at BBC1_PYNODE_PORT, or with BBC1_PEER_TS_NODE=1 an in-process
 * @bbc1/core): each gathers the other's signature; the Python signer does not echo the query id
 * (like the file_proof example), which this client matches by signer.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BBcCoreService } from "@bbc1/core";
import { KeyPair, addEventAsset, makeTransaction, sha256, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "../src/index.js";

const PYREF = process.env.BBC1_PYREF ?? "/work/pyref";
const script = fileURLToPath(new URL("./pypeer.py", import.meta.url));

describe("a Python bbc_app peer and @bbc1/client", () => {
  it("gather each other's signatures, insert, and message", async () => {
    const te = new TextEncoder();
    const run = `${Date.now()}`;
    const domainId = sha256(te.encode(`peer domain ${run}`));
    const group = sha256(te.encode(`peer group ${run}`));
    const tsUser = sha256(te.encode(`ts user ${run}`));
    const pyUser = sha256(te.encode(`py user ${run}`));
    let node: BBcCoreService | null = null;
    let port = Number(process.env.BBC1_PYNODE_PORT ?? "9310");
    let pem = process.env.BBC1_PYNODE_KEY ? readFileSync(process.env.BBC1_PYNODE_KEY, "utf8") : null;
    if (process.env.BBC1_PEER_TS_NODE) {
      const dir = mkdtempSync(join(tmpdir(), "peer-"));
      node = await BBcCoreService.start({ workingDir: dir, corePort: 0, p2pPort: 0, p2pHost: "127.0.0.1", logLevel: "silent" });
      port = node.port;
      pem = readFileSync(join(dir, "node_key.pem"), "utf8");
    }
    const c = await BBcAppClient.connect({ port, domainId, userId: tsUser, nodeKey: pem, requestTimeoutMs: 20_000 });
    const unsolicited: unknown[] = [];
    c.on("unsolicited", (m) => unsolicited.push(m));
    c.on("decodeError", (e) => unsolicited.push(e));
    c.on("signatureResponse", (e) => unsolicited.push(e));
    const py = spawn("/usr/bin/python3", [script, String(port), toHex(domainId), toHex(pyUser), toHex(tsUser), toHex(group)], {
      env: { ...process.env, PYTHONPATH: `${PYREF}/shim:${PYREF}/vendor:/work/ref` },
    });
    const lines: string[] = [];
    const waiters: ((l: string) => void)[] = [];
    createInterface({ input: py.stdout }).on("line", (l) => {
      lines.push(l);
      for (const w of waiters.splice(0)) w(l);
    });
    let stderr = "";
    py.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const line = (prefix: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`python peer: no "${prefix}" line; got ${JSON.stringify(lines)}; stderr ${stderr}`)), 25_000);
        const check = (): void => {
          const l = lines.find((x) => x.startsWith(prefix));
          if (l) {
            clearTimeout(t);
            resolve(l);
          } else waiters.push(check);
        };
        check();
      });
    try {
      await c.domainSetup(domainId);
      await c.register();
      // the Python peer's sign request may come at any time after it signed ours: listen from now on
      const signRequest = c.waitFor("signRequest", { timeoutMs: 60_000 });
      await line("ready");
      // wait until the node knows the Python user
      for (let i = 0; !(await c.getUserList()).some((u) => toHex(u) === toHex(pyUser)); i++) {
        if (i > 100) throw new Error("python user never registered");
        await new Promise((r) => setTimeout(r, 50));
      }
      // 1. we gather the Python user's signature
      const key = KeyPair.generate();
      const tx = makeTransaction({ eventNum: 1, witness: true });
      addEventAsset(tx, 0, group, tsUser, { assetBody: "from typescript" });
      tx.witness!.addWitness(tsUser);
      tx.witness!.addWitness(pyUser);
      tx.addSignature(tsUser, tx.sign(key));
      const answers = await c.gatherSignatures(tx, { destinations: [pyUser] });
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatchObject({ status: 0, refIndex: -1 });
      expect(toHex(answers[0]!.signerId!)).toBe(toHex(pyUser));
      tx.addSignature(pyUser, answers[0]!.signature!);
      expect(answers[0]!.signature!.verify(sha256(tx.forIdBytes()))).toBe(true);
      expect(toHex((await c.insertTransaction(tx)).transactionId)).toBe(toHex(tx.transactionId!));
      expect(await line("signed")).toBe(`signed ${toHex(tx.transactionId!)}`);

      // 2. the Python user gathers ours
      const req = await signRequest;
      expect(toHex(req.sourceUserId)).toBe(toHex(pyUser));
      await c.sendbackSignature({ destUserId: req.sourceUserId, transactionId: req.transaction!.transactionId, signature: req.transaction!.sign(key), queryId: req.queryId });
      expect(await line("gathered")).toMatch(new RegExp(`^gathered 0 (True|1) -1 ${toHex(tsUser)}$`));
      expect(await line("inserted")).toMatch(/^inserted 0 [0-9a-f]{64}$/);

      // 3. a message to the Python user
      await c.sendMessage(te.encode("bye"), pyUser);
      expect(await line("message")).toBe(`message ${toHex(te.encode("bye"))}`);
    } finally {
      if (process.env.PEER_DEBUG) console.log(lines, stderr.slice(-3000), c.receivedFrames, unsolicited);
      py.kill();
      await c.close();
      await node?.close();
    }
  });
});
