import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import {
  KeyPair,
  addEventAsset,
  addRelationAsset,
  addRelationPointer,
  getNewId,
  makeTransaction,
  type BBcTransaction,
} from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { BBcCoreService, type BBcCoreServiceOptions } from "../../src/index.js";
import { RawClient } from "./raw-client.js";

export interface TestNode {
  node: BBcCoreService;
  dir: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts a node in a fresh temp working dir on an ephemeral loopback port, logging silently. */
export async function startNode(options: BBcCoreServiceOptions = {}, dir?: string): Promise<TestNode> {
  const wd = dir ?? mkdtempSync(join(tmpdir(), "bbc1-core-"));
  const node = await BBcCoreService.start({
    workingDir: wd,
    corePort: 0,
    p2pPort: 0,
    p2pHost: "127.0.0.1",
    useNodeKey: false,
    resolveTimeoutMs: 300,
    logger: pino({ level: process.env.BBC1_TEST_LOG ?? "silent" }),
    ...options,
  });
  return {
    node,
    dir: wd,
    port: node.port,
    async stop() {
      await node.close();
      if (dir === undefined) rmSync(wd, { recursive: true, force: true });
    },
  };
}

/** A client connected to `port`, with domain and user set (not yet registered). */
export async function client(port: number, domainId: Uint8Array | null, userId: Uint8Array | null = getNewId("user " + Math.random())): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.domainId = domainId;
  c.userId = userId;
  return c;
}

/** REQUEST_SETUP_DOMAIN through an admin client and wait for the answer. */
export async function setupDomain(port: number, domainId: Uint8Array, nodeKey: KeyPair | null = null): Promise<void> {
  const c = await RawClient.connect(port);
  c.nodeKey = nodeKey;
  const req = c.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: domainId, random: new Uint8Array(32) });
  const res = await c.answer(req);
  if (res.result !== true && res.reason === undefined) throw new Error("setup failed");
  await c.close();
}

export interface SignedTx {
  tx: BBcTransaction;
  data: Uint8Array;
  id: Uint8Array;
}

/** A one-event transaction with a witness signature by `key` for `user`. */
export function signedTx(
  key: KeyPair,
  user: Uint8Array,
  assetGroupId: Uint8Array,
  options: { body?: string; file?: Uint8Array; pointTo?: Uint8Array[] } = {},
): SignedTx {
  const tx = makeTransaction({ eventNum: 1, relationNum: options.pointTo ? 1 : 0, witness: true });
  addEventAsset(tx, 0, assetGroupId, user, { assetBody: options.body ?? "body " + Math.random(), assetFile: options.file });
  if (options.pointTo) {
    addRelationAsset(tx, 0, assetGroupId, user, { assetBody: "rel" });
    for (const p of options.pointTo) addRelationPointer(tx, 0, p, null);
  }
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(key));
  const data = tx.serialize();
  tx.digest();
  return { tx, data, id: tx.transactionId! };
}
