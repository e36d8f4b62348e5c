/** Property tests: arbitrary requests (well-framed, any keys and value types) never stop the node. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { getNewId } from "@bbc1/bbclib";
import { KEY_TYPE_NAMES, MsgType, encodeMessage, type WireMessage, type WireValue } from "@bbc1/wire";
import { client, setupDomain, startNode, type TestNode } from "./helpers/node.js";
import type { RawClient } from "./helpers/raw-client.js";

const domainId = getNewId("fuzz domain");
const commands = [...new Set(Object.values(MsgType))].filter((c) => c !== MsgType.REQUEST_CLOSE_DOMAIN);

const leaf: fc.Arbitrary<WireValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -300, max: 70000 }),
  fc.uint8Array({ maxLength: 40 }).map((b) => new Uint8Array(b)),
  fc.constant(domainId),
  fc.string({ maxLength: 20 }),
);
const value: fc.Arbitrary<WireValue> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => new Uint8Array(b)), leaf), { maxLength: 3 }).map((es) => new Map<WireValue, WireValue>(es)) },
);
const request: fc.Arbitrary<WireMessage> = fc
  .record({
    command: fc.constantFrom(...commands),
    domain_id: fc.oneof(fc.constant(domainId), fc.constant(null), fc.uint8Array({ maxLength: 33 }).map((b) => new Uint8Array(b))),
    source_user_id: fc.oneof(fc.constant(null), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => new Uint8Array(b))),
    query_id: fc.uint8Array({ minLength: 2, maxLength: 2 }).map((b) => new Uint8Array(b)),
    extra: fc.array(fc.tuple(fc.constantFrom(...KEY_TYPE_NAMES), value), { maxLength: 6 }),
  })
  .map(({ extra, ...base }) => {
    const msg: WireMessage = { ...base };
    for (const [k, v] of extra) if (!(k in msg)) (msg as Record<string, WireValue>)[k] = v;
    return msg;
  });

describe("fuzzed requests", () => {
  let t: TestNode;
  let probe: RawClient;
  beforeAll(async () => {
    t = await startNode({ resolveTimeoutMs: 50 });
    await setupDomain(t.port, domainId);
    probe = await client(t.port, domainId, getNewId("probe"));
    probe.register();
  });
  afterAll(async () => {
    await probe.close();
    await t.stop();
  });

  it("the node keeps serving every client whatever well-framed requests arrive", async () => {
    const fuzzer = await client(t.port, domainId);
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 8 }), async (reqs) => {
        let frames: Uint8Array[];
        try {
          frames = reqs.map((r) => encodeMessage(2, r));
        } catch {
          return true; // not encodable (e.g. a string key in a nested map): nothing to send
        }
        fuzzer.sendRaw(Buffer.concat(frames));
        const r = probe.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) });
        const res = await probe.answer(r, 5000);
        return res.status === -14;
      }),
      { numRuns: 150 },
    );
    await new Promise((r) => setTimeout(r, 200)); // let bounce timers fire
    const r = probe.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: new Uint8Array(32) });
    expect((await probe.answer(r)).status).toBe(-14);
    expect(fuzzer.closed).toBe(false);
    expect(t.node.stats.get("client", "num_message_receive")).toBeGreaterThan(300);
    expect(t.node.domains.has(Buffer.from(domainId).toString("hex"))).toBe(true);
    await fuzzer.close();
  });
});
