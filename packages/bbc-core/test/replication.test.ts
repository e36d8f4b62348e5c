/**
 * Replication received by the core (p2p-protocol.md §9.3), data-driven on the DATA frames of the
 * replication scenario in p2p-frames.json (captured between v1.1.1 nodes; cases are selected by their
 * fields, never by name): each REQUEST_REPLICATION_INSERT frame decodes, and handed to the domain's
 * DATA dispatch it is verified and stored with its asset files; replays are harmless; tampered
 * copies (signature, asset file) are never stored and are counted.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserialize, fromHex, toHex } from "@bbc1/bbclib";
import { AesCtrStream, decodePayload, splitFrame, type WireMessage, type WireValue } from "@bbc1/wire";
import { decodeReplicationInsert, u16Of, type ReceiveContext } from "@bbc1/net";
import { startNode, type TestNode } from "./helpers/node.js";

interface FrameCase {
  scenario: string;
  category: string;
  domain_id: string;
  sender_node_id: string;
  payload_type: number;
  frame: string;
  transport: string;
  decoded: Record<string, unknown>;
  encryption?: { key: string; initial_counter: string; keystream_offset: number };
}

const file = JSON.parse(readFileSync(new URL("../../bbc-net/test/fixtures/p2p-frames.json", import.meta.url), "utf8")) as { cases: FrameCase[] };
const isReplicationInsert = (c: FrameCase) => c.category === "DATA" && (c.decoded.infra_command as { bytes?: string } | undefined)?.bytes === "0000";
const cases = file.cases.filter((c) => c.scenario === "replication" && isReplicationInsert(c));

/** The captured message: the frame decoded (decrypted at the recorded offset when type 3 and the key was captured). */
function messageOf(c: FrameCase): WireMessage | undefined {
  const f = splitFrame(fromHex(c.frame));
  if (f.payloadType === 2) return decodePayload(2, f.body);
  if (c.encryption === undefined) return undefined;
  const s = new AesCtrStream(fromHex(c.encryption.key), fromHex(c.encryption.initial_counter));
  s.seek(c.encryption.keystream_offset);
  return decodePayload(2, s.update(f.body.subarray(4)));
}

function ctxOf(c: FrameCase): ReceiveContext {
  return { domainId: fromHex(c.domain_id), sourceNodeId: fromHex(c.sender_node_id), from: { transport: c.transport as "udp", address: "127.0.0.1", port: 1, family: 4 }, encrypted: c.payload_type === 3 };
}

describe("REQUEST_REPLICATION_INSERT frames of p2p-frames.json", () => {
  const domains = [...new Set(cases.map((c) => c.domain_id))];
  let t: TestNode;
  beforeAll(async () => {
    t = await startNode();
    for (const d of domains) await t.node.createDomain(fromHex(d));
  });
  afterAll(() => t?.stop());
  const stats = () => t.node.stats.snapshot() as Record<string, Record<string, number> | undefined>;
  const decodable = cases.filter((c) => messageOf(c) !== undefined);

  it("the fixture has replication frames, over UDP and TCP, and most can be decoded", () => {
    expect(cases.length).toBeGreaterThanOrEqual(4);
    expect(new Set(cases.map((c) => c.transport))).toEqual(new Set(["udp", "tcp"]));
    expect(decodable.length).toBeGreaterThanOrEqual(cases.length - 1);
  });

  it.each(decodable.map((c, i) => [i, c] as const))("frame %i: decodes, is verified and stored with its files; a replay stores nothing", async (_i, c) => {
    const msg = messageOf(c)!;
    expect(u16Of(msg.infra_command)).toBe(0);
    const ins = decodeReplicationInsert(msg);
    const tx = deserialize(ins.transactionData);
    tx.digest();
    const domain = t.node.domains.get(c.domain_id)!;
    const before = stats().replication?.stored ?? 0;
    // the same transaction went to B and to C: its second frame is a duplicate here
    const already = (await domain.ledger!.getTransaction(tx.transactionId!)) !== undefined;
    await domain.data!.handle(msg, ctxOf(c));
    await domain.ledger!.settle?.();
    expect(await domain.ledger!.getTransaction(tx.transactionId!)).toEqual(ins.transactionData);
    for (const [assetId, content] of ins.assetFiles ?? new Map()) {
      const holder = [...tx.events, ...tx.relations].find((h) => h.asset !== null && toHex(h.asset.assetId!) === toHex(assetId));
      if (holder === undefined) continue;
      expect(await domain.ledger!.readAssetFile(holder.assetGroupId!, assetId)).toEqual(content);
    }
    const after = before + (already ? 0 : 1);
    expect(stats().replication?.stored ?? 0).toBe(after);
    await domain.data!.handle(msg, ctxOf(c));
    expect(stats().replication?.stored ?? 0).toBe(after);
    expect(stats().replication?.duplicate ?? 0).toBeGreaterThan(0);
  });

  it.each(decodable.map((c, i) => [i, c] as const))("frame %i with its last signature byte flipped: never stored, counted, the node keeps serving", async (_i, c) => {
    const msg = messageOf(c)!;
    const data = (msg.transaction_data as Uint8Array).slice();
    // the signature is at the end of every captured transaction
    data[data.length - 1] ^= 0x01;
    const forged: WireMessage = { ...msg, transaction_data: data };
    const domain = t.node.domains.get(c.domain_id)!;
    const s0 = stats();
    await domain.data!.handle(forged, ctxOf(c));
    const s1 = stats();
    expect(s1.replication?.rejected ?? 0).toBe((s0.replication?.rejected ?? 0) + 1);
    expect((s1.transaction?.invalid ?? 0) + (s1.asset_file?.invalid ?? 0)).toBeGreaterThan((s0.transaction?.invalid ?? 0) + (s0.asset_file?.invalid ?? 0));
    let tx;
    try {
      tx = deserialize(data);
      tx.digest();
    } catch {
      return;
    }
    // same id as the stored original or a new one: the forged bytes are not what is stored
    const stored = await domain.ledger!.getTransaction(tx.transactionId!);
    if (stored !== undefined) expect(toHex(stored)).not.toBe(toHex(data));
  });

  it("an asset file that does not match its digest is refused (transaction and file not stored)", async () => {
    const withFile = decodable.find((c) => {
      const files = messageOf(c)!.all_asset_files;
      return files instanceof Map && files.size > 0;
    });
    if (withFile === undefined) return;
    const msg = messageOf(withFile)!;
    const files = new Map(msg.all_asset_files as Map<WireValue, WireValue>);
    for (const [k, v] of files) files.set(k, new Uint8Array([...(v as Uint8Array), 0x21]));
    // a fresh domain so that the original is not already stored
    const t2 = await startNode();
    try {
      await t2.node.createDomain(fromHex(withFile.domain_id));
      const d = t2.node.domains.get(withFile.domain_id)!;
      await d.data!.handle({ ...msg, all_asset_files: files }, ctxOf(withFile));
      const tx = deserialize(msg.transaction_data as Uint8Array);
      tx.digest();
      expect(await d.ledger!.getTransaction(tx.transactionId!)).toBeUndefined();
      const s = t2.node.stats.snapshot() as Record<string, Record<string, number> | undefined>;
      expect(s.asset_file?.invalid).toBe(1);
      expect(s.replication?.rejected).toBe(1);
    } finally {
      await t2.stop();
    }
  });

  it("a REQUEST_REPLICATION_INSERT without transaction_data is a typed drop (v1.1.1 crashed, H12)", () => {
    const c = decodable[0]!;
    const msg = { ...messageOf(c)! };
    delete msg.transaction_data;
    const d = t.node.domains.get(c.domain_id)!;
    expect(() => d.data!.handle(msg, ctxOf(c))).toThrow(/transaction_data/);
  });

  it("a replay is a duplicate whether or not the verified-bytes cache still holds its bytes (stored once, never verified twice while cached)", async () => {
    const c = decodable[0]!;
    const msg = messageOf(c)!;
    const t2 = await startNode();
    try {
      await t2.node.createDomain(fromHex(c.domain_id));
      const d = t2.node.domains.get(c.domain_id)!;
      const s = () => t2.node.stats.snapshot() as Record<string, Record<string, number> | undefined>;
      await d.data!.handle(msg, ctxOf(c));
      expect(s().replication?.stored).toBe(1);
      // the lag the replica added (received to durable) is observed once per stored transaction
      expect(await t2.node.metrics.registry.getSingleMetricAsString("bbc1_replicated_insert_duration_seconds")).toMatch(/bbc1_replicated_insert_duration_seconds_count 1\b/);
      const verifiedOnce = s().data_handler?.insert_transaction ?? 0;
      // cached: answered from the ledger without the verified insert
      await d.data!.handle(msg, ctxOf(c));
      expect(s().replication?.duplicate).toBe(1);
      expect(s().data_handler?.insert_transaction ?? 0).toBe(verifiedOnce);
      // forgotten by the (bounded) cache: verified again, then refused by the insert
      for (let i = 0; i < 100_000; i++) t2.node.verified.add(`filler ${i}`);
      await d.data!.handle(msg, ctxOf(c));
      expect(s().replication?.duplicate).toBe(2);
      expect(s().replication?.stored).toBe(1);
      expect(s().data_handler?.fail_exec_sql ?? 0).toBe(1);
    } finally {
      await t2.stop();
    }
  });
});
