/**
 * Repair between nodes (p2p-protocol.md §10): the REPAIR_TRANSACTION_DATA frames of
 * fixtures/p2p-frames.json (cases selected by their fields, never by name) built and answered
 * byte for byte, the requester's checks (nonce, requested data, first valid answer wins, forged
 * answers counted per peer), the limits (pending, answers per request, rate, expiry) on a test
 * clock, and fast-check properties of the handler.
 */
import fc from "fast-check";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { deserialize, fromHex, sha256, toHex } from "@bbc1/bbclib";
import { encodeMsgpack, splitFrame, isWireError, type WireMessage } from "@bbc1/wire";
import {
  ManualScheduler,
  NetStats,
  Repair,
  buildRepairResponse,
  isNetError,
  type ReceiveContext,
  type RepairLedger,
  type RepairLimits,
  type RepairLogEntry,
  type RepairVerdict,
} from "../src/index.js";
import { loadFrames, tagMessage, untagMessage, type FrameCase } from "./helpers.js";

const file = loadFrames();
const repairCases = file.cases.filter((c) => c.category === "DATA" && "bytes" in c.decoded.infra_command! && (c.decoded.infra_command as { bytes: string }).bytes === "0005");
const commandOf = (c: FrameCase) => (c.decoded.command as { int: number }).int;
const bytesOf = (c: FrameCase, key: string) => fromHex((c.decoded[key] as { bytes: string }).bytes);
const requests = repairCases.filter((c) => commandOf(c) === 2 || commandOf(c) === 4);
const responses = repairCases.filter((c) => commandOf(c) === 3 || commandOf(c) === 5);

/** The plaintext msgpack of a captured frame. */
function plaintextHex(c: FrameCase): string {
  return c.payload_type === 3 ? c.encryption!.plaintext : toHex(splitFrame(fromHex(c.frame)).body);
}

/** A NetworkDomain's sending side that records each copy as the wire would carry it. */
class FakeNet {
  readonly sent: Array<{ to: string; msg: WireMessage }> = [];
  constructor(
    readonly myId: Uint8Array,
    readonly neighbors: Uint8Array[],
  ) {}
  broadcast(msg: WireMessage): number {
    for (const n of this.neighbors) {
      msg.destination_node_id = n;
      msg.source_node_id = this.myId;
      this.sent.push({ to: toHex(n), msg: { ...msg } });
    }
    return this.neighbors.length;
  }
  sendToNode(nodeId: Uint8Array, msg: WireMessage): "udp4" {
    if (msg.destination_node_id === undefined) msg.destination_node_id = nodeId;
    msg.source_node_id = this.myId;
    this.sent.push({ to: toHex(nodeId), msg: { ...msg } });
    return "udp4";
  }
}

/** A ledger double: answers from `held`, verdicts from `verdict`, and records calls. */
class FakeLedger implements RepairLedger {
  readonly held = new Map<string, Uint8Array>();
  readonly replaced: Array<{ key: string; data: Uint8Array }> = [];
  lookups = 0;
  verdict: (data: Uint8Array) => RepairVerdict = () => "repaired";
  async validTransactionData(_d: Uint8Array, txid: Uint8Array): Promise<Uint8Array | null> {
    this.lookups++;
    return this.held.get(toHex(txid)) ?? null;
  }
  async validAssetFile(_d: Uint8Array, ag: Uint8Array, aid: Uint8Array): Promise<Uint8Array | null> {
    this.lookups++;
    return this.held.get(toHex(ag) + toHex(aid)) ?? null;
  }
  async replaceTransaction(_d: Uint8Array, txid: Uint8Array, data: Uint8Array): Promise<RepairVerdict> {
    this.replaced.push({ key: toHex(txid), data });
    return this.verdict(data);
  }
  async replaceAssetFile(_d: Uint8Array, ag: Uint8Array, aid: Uint8Array, f: Uint8Array): Promise<RepairVerdict> {
    this.replaced.push({ key: toHex(ag) + toHex(aid), data: f });
    return this.verdict(f);
  }
}

const silent = pino({ level: "silent" });

function make(opts: { myId: Uint8Array; neighbors?: Uint8Array[]; domainId?: Uint8Array; nonce?: Uint8Array; limits?: Partial<RepairLimits>; scheduler?: ManualScheduler }) {
  const net = new FakeNet(opts.myId, opts.neighbors ?? []);
  const ledger = new FakeLedger();
  const stats = new NetStats();
  const scheduler = opts.scheduler ?? new ManualScheduler();
  const log: RepairLogEntry[] = [];
  let counter = 0;
  const repair = new Repair({
    domainId: opts.domainId ?? new Uint8Array(32).fill(7),
    ledger,
    net,
    scheduler,
    stats,
    logger: silent,
    limits: opts.limits,
    randomBytes: (n) => (opts.nonce !== undefined && counter++ === 0 ? opts.nonce.slice() : sha256(new Uint8Array([counter++])).slice(0, n)),
    onRepaired: (e) => log.push(e),
  });
  return { repair, net, ledger, stats, scheduler, log };
}

const ctxFrom = (sourceNodeId: Uint8Array, domainId: Uint8Array): ReceiveContext => ({
  domainId,
  sourceNodeId,
  from: { address: "127.0.0.1", port: 6641, family: 4, transport: "udp" },
  encrypted: false,
});

/** The captured request a response answers (same nonce, the other direction). */
function requestOf(resp: FrameCase): FrameCase | undefined {
  const nonce = (resp.decoded.nonce as { bytes: string }).bytes;
  return requests.find((r) => (r.decoded.nonce as { bytes: string }).bytes === nonce && r.sender_node_id === resp.receiver_node_id && r.receiver_node_id === resp.sender_node_id);
}

describe("p2p-frames.json: REPAIR_TRANSACTION_DATA", () => {
  it("has transaction and asset-file requests and answers", () => {
    expect(new Set(requests.map(commandOf))).toEqual(new Set([2, 4]));
    expect(new Set(responses.map(commandOf))).toEqual(new Set([3, 5]));
    for (const r of responses) expect(requestOf(r), r.name).toBeDefined();
  });

  it.each(requests.map((c) => [c.name, c] as const))("%s: our request is the captured one, key order and bytes", async (_n, c) => {
    const domainId = fromHex(c.domain_id);
    const { repair, net } = make({ myId: fromHex(c.sender_node_id), neighbors: [fromHex(c.receiver_node_id!)], domainId, nonce: bytesOf(c, "nonce") });
    const r = commandOf(c) === 2 ? repair.requestTransaction(bytesOf(c, "transaction_id")) : repair.requestAssetFile(bytesOf(c, "asset_group_id"), bytesOf(c, "asset_id"));
    expect(r.outcome).toBe("sent");
    expect(net.sent).toHaveLength(1);
    expect(tagMessage(net.sent[0]!.msg)).toEqual(Object.entries(c.decoded));
    expect(toHex(encodeMsgpack(net.sent[0]!.msg))).toBe(plaintextHex(c));
  });

  it.each(responses.map((c) => [c.name, c] as const))("%s: answering the captured request builds the captured answer", async (_n, resp) => {
    const req = requestOf(resp)!;
    const domainId = fromHex(resp.domain_id);
    const { repair, net, ledger, stats } = make({ myId: fromHex(resp.sender_node_id), domainId });
    const isTx = commandOf(resp) === 3;
    const payload = bytesOf(resp, isTx ? "transaction_data" : "asset_file");
    ledger.held.set(isTx ? toHex(bytesOf(req, "transaction_id")) : toHex(bytesOf(req, "asset_group_id")) + toHex(bytesOf(req, "asset_id")), payload);
    await repair.handle(untagMessage(req.decoded), ctxFrom(fromHex(req.sender_node_id), domainId));
    expect(net.sent).toHaveLength(1);
    expect(net.sent[0]!.to).toBe(req.sender_node_id);
    expect(tagMessage(net.sent[0]!.msg)).toEqual(Object.entries(resp.decoded));
    expect(toHex(encodeMsgpack(net.sent[0]!.msg))).toBe(plaintextHex(resp));
    expect(stats.get("repair", isTx ? "answered_transaction" : "answered_asset_file")).toBe(1);
  });

  it.each(responses.map((c) => [c.name, c] as const))("%s: the requester verifies it through the ledger and logs who repaired", async (_n, resp) => {
    const req = requestOf(resp)!;
    const domainId = fromHex(resp.domain_id);
    const { repair, net, ledger, stats, log } = make({ myId: fromHex(req.sender_node_id), neighbors: [fromHex(req.receiver_node_id!)], domainId, nonce: bytesOf(req, "nonce") });
    const isTx = commandOf(resp) === 3;
    if (isTx) repair.requestTransaction(bytesOf(req, "transaction_id"));
    else repair.requestAssetFile(bytesOf(req, "asset_group_id"), bytesOf(req, "asset_id"));
    expect(net.sent).toHaveLength(1);
    await repair.handle(untagMessage(resp.decoded), ctxFrom(fromHex(resp.sender_node_id), domainId));
    expect(ledger.replaced).toHaveLength(1);
    expect(toHex(ledger.replaced[0]!.data)).toBe(toHex(bytesOf(resp, isTx ? "transaction_data" : "asset_file")));
    expect(stats.get("repair", isTx ? "repaired_transaction" : "repaired_asset_file")).toBe(1);
    expect(repair.pending).toBe(0);
    expect(log).toHaveLength(1);
    expect(toHex(log[0]!.repairedBy)).toBe(resp.sender_node_id);
    // the same answer again is unsolicited now: nothing more is replaced
    await repair.handle(untagMessage(resp.decoded), ctxFrom(fromHex(resp.sender_node_id), domainId));
    expect(ledger.replaced).toHaveLength(1);
    expect(stats.get("repair", "unsolicited_answer")).toBe(1);
  });

  it("the captured transaction answer holds the requested transaction; the asset answer matches its digest in a captured transaction", () => {
    for (const resp of responses.filter((c) => commandOf(c) === 3)) {
      const tx = deserialize(bytesOf(resp, "transaction_data"));
      tx.digest();
      expect(toHex(tx.transactionId!)).toBe(toHex(bytesOf(resp, "transaction_id")));
    }
    const txs = file.cases
      .filter((c) => c.decoded.transaction_data !== undefined)
      .map((c) => {
        try {
          return deserialize(bytesOf(c, "transaction_data"));
        } catch {
          return undefined;
        }
      });
    for (const resp of responses.filter((c) => commandOf(c) === 5)) {
      const aid = toHex(bytesOf(resp, "asset_id"));
      const holder = txs.flatMap((t) => (t === undefined ? [] : [...t.events, ...t.relations])).find((h) => h.asset?.assetId !== null && h.asset?.assetId !== undefined && toHex(h.asset.assetId) === aid);
      expect(holder, "a captured transaction holds the asset").toBeDefined();
      expect(toHex(holder!.asset!.assetFileDigest!)).toBe(toHex(sha256(bytesOf(resp, "asset_file"))));
    }
  });
});

const ME = new Uint8Array(32).fill(1);
const PEER = new Uint8Array(32).fill(2);
const EVIL = new Uint8Array(32).fill(3);
const DOMAIN = new Uint8Array(32).fill(7);
const TXID = sha256(new Uint8Array([9]));

function answerTo(nonce: Uint8Array, data: Uint8Array, txid = TXID): WireMessage {
  return { domain_id: DOMAIN, infra_msg_type: new Uint8Array([0, 3]), infra_command: new Uint8Array([0, 5]), command: 3, transaction_id: txid, nonce, destination_node_id: ME, source_node_id: PEER, transaction_data: data };
}

describe("Repair: requester checks and limits", () => {
  it("a forged answer is ignored and counted for its peer; a later valid one repairs", async () => {
    const { repair, ledger, stats, log } = make({ myId: ME, neighbors: [PEER, EVIL] });
    const r = repair.requestTransaction(TXID);
    if (r.outcome !== "sent") throw new Error("not sent");
    ledger.verdict = (d) => (d[0] === 0xee ? "rejected" : "repaired");
    await repair.handle(answerTo(r.nonce, new Uint8Array([0xee])), ctxFrom(EVIL, DOMAIN));
    expect(stats.get("repair", "forged_answer")).toBe(1);
    expect(repair.forgedAnswersFrom(EVIL)).toBe(1);
    expect(repair.pending).toBe(1);
    expect(log).toHaveLength(0);
    await repair.handle(answerTo(r.nonce, new Uint8Array([1])), ctxFrom(PEER, DOMAIN));
    expect(log).toHaveLength(1);
    expect(repair.forgedAnswersFrom(PEER)).toBe(0);
    expect(repair.pending).toBe(0);
  });

  it("an answer to our nonce about another transaction is forged and never reaches the ledger (v1.1.1 accepted it, Q31)", async () => {
    const { repair, ledger, stats } = make({ myId: ME, neighbors: [PEER] });
    const r = repair.requestTransaction(TXID);
    if (r.outcome !== "sent") throw new Error("not sent");
    await repair.handle(answerTo(r.nonce, new Uint8Array([1]), sha256(new Uint8Array([10]))), ctxFrom(EVIL, DOMAIN));
    expect(ledger.replaced).toHaveLength(0);
    expect(stats.get("repair", "forged_answer")).toBe(1);
    expect(repair.pending).toBe(1);
  });

  it("answers are examined at most maxAnswersPerRequest times; concurrent valid answers replace once", async () => {
    const { repair, ledger, stats, log } = make({ myId: ME, neighbors: [PEER], limits: { maxAnswersPerRequest: 2 } });
    const r = repair.requestTransaction(TXID);
    if (r.outcome !== "sent") throw new Error("not sent");
    ledger.verdict = () => "rejected";
    await Promise.all([1, 2, 3, 4].map((i) => repair.handle(answerTo(r.nonce, new Uint8Array([i])), ctxFrom(EVIL, DOMAIN))));
    expect(ledger.replaced).toHaveLength(2);
    expect(stats.get("repair", "refused.answers")).toBe(2);
    const { repair: r2, ledger: l2, log: log2 } = make({ myId: ME, neighbors: [PEER] });
    const s2 = r2.requestTransaction(TXID);
    if (s2.outcome !== "sent") throw new Error("not sent");
    await Promise.all([1, 2, 3].map((i) => r2.handle(answerTo(s2.nonce, new Uint8Array([i])), ctxFrom(PEER, DOMAIN))));
    expect(l2.replaced).toHaveLength(1);
    expect(log2).toHaveLength(1);
    expect(log).toHaveLength(0);
  });

  it("pending requests are bounded, deduplicated, resent after resendAfterMs with the same nonce, and expire", async () => {
    const scheduler = new ManualScheduler();
    const { repair, net, stats } = make({ myId: ME, neighbors: [PEER], scheduler, limits: { maxPending: 2, resendAfterMs: 1000, requestTimeoutMs: 5000 } });
    const a = repair.requestTransaction(TXID);
    expect(a.outcome).toBe("sent");
    expect(repair.requestTransaction(TXID).outcome).toBe("pending");
    expect(repair.requestAssetFile(TXID, TXID).outcome).toBe("sent");
    expect(repair.requestTransaction(sha256(new Uint8Array([11]))).outcome).toBe("full");
    expect(stats.get("repair", "refused.pending")).toBe(1);
    expect(net.sent).toHaveLength(2);
    scheduler.advance(1000);
    const again = repair.requestTransaction(TXID);
    expect(again.outcome).toBe("sent");
    if (again.outcome === "sent" && a.outcome === "sent") expect(toHex(again.nonce)).toBe(toHex(a.nonce));
    scheduler.advance(4001);
    expect(repair.pending).toBe(0);
    expect(stats.get("repair", "expired")).toBe(2);
    if (a.outcome === "sent") await repair.handle(answerTo(a.nonce, new Uint8Array([1])), ctxFrom(PEER, DOMAIN));
    expect(stats.get("repair", "unsolicited_answer")).toBe(1);
  });
});

describe("Repair: responder", () => {
  const request = (txid: Uint8Array): WireMessage => ({ domain_id: DOMAIN, infra_msg_type: new Uint8Array([0, 3]), infra_command: new Uint8Array([0, 5]), command: 2, transaction_id: txid, nonce: new Uint8Array(4), destination_node_id: ME, source_node_id: PEER });

  it("a request for a transaction we do not hold is a counted no-op (H16)", async () => {
    const { repair, net, stats } = make({ myId: ME });
    await repair.handle(request(TXID), ctxFrom(PEER, DOMAIN));
    expect(net.sent).toHaveLength(0);
    expect(stats.get("repair", "not_held")).toBe(1);
  });

  it("requests are rate-limited per peer: beyond the burst nothing is looked up", async () => {
    const scheduler = new ManualScheduler();
    const { repair, ledger, stats } = make({ myId: ME, scheduler, limits: { ratePerPeer: 1, burstPerPeer: 3 } });
    ledger.held.set(toHex(TXID), new Uint8Array([1]));
    for (let i = 0; i < 10; i++) await repair.handle(request(TXID), ctxFrom(PEER, DOMAIN));
    expect(ledger.lookups).toBe(3);
    expect(stats.get("repair", "refused.rate")).toBe(7);
    // another peer has its own budget
    await repair.handle(request(TXID), ctxFrom(EVIL, DOMAIN));
    expect(ledger.lookups).toBe(4);
    scheduler.advance(2000);
    await repair.handle(request(TXID), ctxFrom(PEER, DOMAIN));
    expect(ledger.lookups).toBe(5);
  });

  it("look-ups in flight are bounded", async () => {
    const { repair, ledger, stats } = make({ myId: ME, limits: { maxInFlight: 2 } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    ledger.validTransactionData = async () => {
      ledger.lookups++;
      await gate;
      return null;
    };
    const ps = [1, 2, 3, 4].map(() => repair.handle(request(TXID), ctxFrom(PEER, DOMAIN)));
    expect(ledger.lookups).toBe(2);
    expect(stats.get("repair", "refused.in_flight")).toBe(2);
    release();
    await Promise.all(ps);
  });
});

describe("Repair: properties", () => {
  const keyArb = fc.constantFrom("domain_id", "infra_msg_type", "infra_command", "command", "transaction_id", "asset_group_id", "asset_id", "nonce", "destination_node_id", "source_node_id", "transaction_data", "asset_file", "message", "status");
  const valueArb = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.integer({ min: -3, max: 8 }),
    fc.boolean(),
    fc.constant(null),
    fc.string({ maxLength: 8 }),
  );
  const msgArb = fc.dictionary(keyArb, valueArb, { maxKeys: 12 }) as fc.Arbitrary<WireMessage>;

  it("any message: a typed drop or handled; the ledger replaces only for a pending nonce and the requested id", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(msgArb, { maxLength: 12 }), fc.boolean(), async (msgs, aimed) => {
        const { repair, ledger } = make({ myId: ME, neighbors: [PEER], nonce: new Uint8Array([1, 2, 3, 4]) });
        repair.requestTransaction(TXID);
        for (const m of msgs) {
          if (aimed) m.nonce = new Uint8Array([1, 2, 3, 4]);
          try {
            await repair.handle(m, ctxFrom(EVIL, DOMAIN));
          } catch (e) {
            if (!isNetError(e) && !isWireError(e)) throw e;
          }
        }
        for (const r of ledger.replaced) expect(r.key).toBe(toHex(TXID));
        expect(ledger.replaced.length).toBeLessThanOrEqual(repair.limits.maxAnswersPerRequest);
      }),
      { numRuns: 200 },
    );
  });

  it("a sequence of answers: the first valid one within the answer budget repairs, once; every rejected one is counted", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }), async (valid) => {
        const { repair, ledger, stats, log } = make({ myId: ME, neighbors: [PEER] });
        const r = repair.requestTransaction(TXID);
        if (r.outcome !== "sent") throw new Error("not sent");
        ledger.verdict = (d) => (d[0] === 1 ? "repaired" : "rejected");
        for (const v of valid) await repair.handle(answerTo(r.nonce, new Uint8Array([v ? 1 : 0])), ctxFrom(PEER, DOMAIN));
        const examined = valid.slice(0, repair.limits.maxAnswersPerRequest);
        const firstValid = examined.indexOf(true);
        expect(log.length).toBe(firstValid >= 0 ? 1 : 0);
        const rejected = firstValid >= 0 ? firstValid : examined.length;
        expect(stats.get("repair", "forged_answer")).toBe(rejected);
        expect(ledger.replaced.length).toBe(firstValid >= 0 ? firstValid + 1 : examined.length);
      }),
      { numRuns: 200 },
    );
  });

  it("buildRepairResponse keeps only the protocol's keys of the request, in its order, and addresses the requester", () => {
    fc.assert(
      fc.property(msgArb, fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), (req, requester, tx) => {
        const out = buildRepairResponse(req, requester, tx ? { transactionData: new Uint8Array([5]) } : { assetFile: new Uint8Array([6]) });
        const keys = Object.keys(out);
        const echoed = Object.keys(req).filter((k) => ["domain_id", "infra_msg_type", "infra_command", "command", "transaction_id", "asset_group_id", "asset_id", "nonce", "destination_node_id", "source_node_id"].includes(k) && req[k as keyof WireMessage] !== undefined);
        const expected = [...echoed];
        if (!expected.includes("command")) expected.push("command");
        expected.push(tx ? "transaction_data" : "asset_file");
        if (!expected.includes("destination_node_id")) expected.push("destination_node_id");
        expect(keys).toEqual(expected);
        expect(out.command).toBe(tx ? 3 : 5);
        expect(out.destination_node_id).toEqual(requester);
      }),
      { numRuns: 300 },
    );
  });
});
