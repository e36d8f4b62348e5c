/**
 * The direct codecs of the BSON and msgpack formats (dict-msgpack.ts, dict-bson.ts) against the
 * generic path through dictionaries (dict.ts), which the golden vectors pin to the reference:
 * the same bytes out, the same transaction (and id) in, the same refusals, on the vectors and on
 * random and mutated transactions, with random budgets too.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BBcAsset,
  BBcCrossRef,
  BBcEvent,
  BBcPointer,
  BBcReference,
  BBcRelation,
  BBcSignature,
  BBcTransaction,
  BBcWitness,
  BbcLibError,
  bz2Decompress,
  deserialize,
  fromHex,
  toHex,
  zlibDecompress,
  type DecodeBudget,
  type FormatType,
} from "../src/index.js";
import { decodeTransactionDictGeneric, dictForIdBytesGeneric, encodeTransactionDictGeneric } from "../src/codec/dict.js";
import { transactionCases } from "./vectors.js";

const RUNS = Number(process.env.BBC1_PROPERTY_RUNS ?? 3000);
const DICT_FORMATS: FormatType[] = [1, 2, 3, 4, 5, 6];

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const idOrNull = (n: number) => fc.option(bytes(n, n), { nil: null, freq: 8 });

/** A random transaction built through the model (every part, every optional field). */
const transaction = (formats: FormatType[]): fc.Arbitrary<BBcTransaction> =>
  fc
    .record({
      formatType: fc.constantFrom(...formats),
      version: fc.constantFrom(0, 1, 1, 1, 2),
      idLength: fc.constantFrom(8, 20, 32, 32),
      timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.constant(2 ** 53 - 1), fc.constant(1_700_000_000)),
      events: fc.array(
        fc.record({
          group: idOrNull(32),
          refs: fc.array(fc.integer({ min: 0, max: 70000 }), { maxLength: 3 }),
          mand: fc.array(bytes(32, 32), { maxLength: 3 }),
          num: fc.integer({ min: 0, max: 300 }),
          den: fc.integer({ min: 0, max: 3 }),
          opt: fc.array(bytes(32, 32), { maxLength: 3 }),
          asset: fc.option(
            fc.record({
              user: bytes(32, 32),
              nonce: bytes(1, 40),
              body: fc.oneof(bytes(0, 80), fc.constant(null), fc.dictionary(fc.constantFrom("a", "b", "c"), fc.integer({ min: 0, max: 9 }))),
              fileSize: fc.integer({ min: 0, max: 2 ** 31 }),
              fileDigest: idOrNull(32),
            }),
            { nil: null, freq: 6 },
          ),
        }),
        { maxLength: 3 },
      ),
      references: fc.array(fc.record({ group: idOrNull(32), txid: idOrNull(32), index: fc.integer({ min: 0, max: 300 }), sig: fc.array(fc.nat({ max: 9 }), { maxLength: 3 }) }), {
        maxLength: 2,
      }),
      relations: fc.array(
        fc.record({
          group: idOrNull(32),
          pointers: fc.array(fc.record({ txid: idOrNull(32), asset: idOrNull(32) }), { maxLength: 3 }),
          asset: fc.option(fc.record({ user: bytes(32, 32), nonce: bytes(32, 32), body: bytes(0, 300) }), { nil: null }),
        }),
        { maxLength: 2 },
      ),
      witness: fc.option(fc.array(bytes(32, 32), { maxLength: 3 }), { nil: null }),
      crossRef: fc.option(fc.record({ domain: bytes(32, 32), txid: bytes(32, 32) }), { nil: null }),
      signatures: fc.array(fc.option(fc.record({ keyType: fc.constantFrom(1, 2), pub: bytes(33, 65), sig: bytes(64, 64) }), { nil: null }), { maxLength: 3 }),
    })
    .map((r) => {
      const f = r.formatType;
      const tx = new BBcTransaction({ formatType: f, idLength: r.idLength, version: r.version, timestamp: r.timestamp });
      for (const e of r.events) {
        const ev = new BBcEvent({ formatType: f, idLength: r.idLength });
        ev.assetGroupId = e.group;
        ev.referenceIndices = e.refs;
        ev.mandatoryApprovers = e.mand;
        ev.optionApproverNumNumerator = e.num;
        ev.optionApproverNumDenominator = e.den;
        ev.optionApprovers = e.opt;
        if (e.asset) {
          const a = new BBcAsset({ formatType: f, idLength: 32, nonce: e.asset.nonce });
          a.userId = e.asset.user;
          if (e.asset.body instanceof Uint8Array) {
            a.assetBody = e.asset.body;
            a.assetBodySize = e.asset.body.length;
          } else if (e.asset.body) {
            a.assetBody = e.asset.body;
            a.assetBodySize = Object.keys(e.asset.body).length;
          }
          a.assetFileSize = e.asset.fileSize;
          a.assetFileDigest = e.asset.fileDigest;
          a.assetId = new Uint8Array(32).fill(7);
          ev.asset = a;
        }
        tx.events.push(ev);
      }
      for (const x of r.references) {
        const ref = new BBcReference({ formatType: f, idLength: r.idLength, transaction: tx });
        ref.assetGroupId = x.group;
        ref.transactionId = x.txid;
        ref.eventIndexInRef = x.index;
        ref.sigIndices = x.sig;
        tx.references.push(ref);
      }
      for (const x of r.relations) {
        const rel = new BBcRelation({ formatType: f, idLength: r.idLength });
        rel.assetGroupId = x.group;
        rel.pointers = x.pointers.map((p) => {
          const ptr = new BBcPointer({ formatType: f, idLength: r.idLength });
          ptr.transactionId = p.txid;
          ptr.assetId = p.asset;
          return ptr;
        });
        if (x.asset) {
          const a = new BBcAsset({ formatType: f, idLength: r.idLength, nonce: x.asset.nonce });
          a.userId = x.asset.user;
          a.assetBody = x.asset.body;
          a.assetBodySize = x.asset.body.length;
          a.assetId = new Uint8Array(r.idLength).fill(9);
          rel.asset = a;
        }
        tx.relations.push(rel);
      }
      if (r.witness) {
        const w = new BBcWitness({ formatType: f, idLength: r.idLength });
        tx.add({ witness: w });
        for (const u of r.witness) w.addWitness(u);
      }
      if (r.crossRef) tx.crossRef = new BBcCrossRef({ formatType: f, domainId: r.crossRef.domain, transactionId: r.crossRef.txid });
      tx.signatures = r.signatures.map((s) => {
        const sig = new BBcSignature({ formatType: f });
        if (s) {
          sig.keyType = s.keyType;
          sig.add({ pubkey: s.pub, signature: s.sig });
        }
        return sig;
      });
      return tx;
    });

function inflated(data: Uint8Array): Uint8Array {
  const f = data[0] | (data[1] << 8);
  const body = data.subarray(2);
  if (f === 2 || f === 5) return bz2Decompress(body);
  if (f === 3 || f === 6) return zlibDecompress(body);
  return body;
}

type Outcome = { ok: true; id: string; bytes: string; forId: string; groups: string } | { ok: false; code: string };

function outcome(decode: () => BBcTransaction): Outcome {
  let tx: BBcTransaction;
  try {
    tx = decode();
  } catch (e) {
    if (!(e instanceof BbcLibError)) throw e;
    return { ok: false, code: e.code };
  }
  const forId = toHex(dictForIdBytesGeneric(tx));
  return {
    ok: true,
    id: toHex(tx.transactionId!),
    bytes: toHex(encodeTransactionDictGeneric(tx)),
    forId,
    groups: JSON.stringify([...tx.assetGroupIds].map(([k, v]) => [k, toHex(v)])),
  };
}

/** deserialize (direct decoder first) and the generic decoder alone give the same outcome. */
function sameDecoding(data: Uint8Array, budget?: DecodeBudget): void {
  const f = (data[0] | (data[1] << 8)) as FormatType;
  const viaDeserialize = outcome(() => deserialize(data, { decodeBudget: budget }));
  let body: Uint8Array;
  try {
    body = inflated(data);
  } catch (e) {
    expect(viaDeserialize).toEqual({ ok: false, code: (e as BbcLibError).code });
    return;
  }
  const generic = outcome(() => decodeTransactionDictGeneric(data, body, f, { decodeBudget: budget }));
  expect(viaDeserialize).toEqual(generic);
}

describe("direct dictionary codecs = the generic path", () => {
  const vectors = transactionCases().filter((c) => c.format_type !== 0);

  it.each(vectors.map((c) => [c.name, c] as const))("vector %s decodes and re-encodes the same way", (_n, c) => {
    const data = fromHex(c.serialized);
    sameDecoding(data);
    if (!c.deserialize_ok) return;
    const tx = deserialize(data);
    expect(toHex(tx.serialize())).toBe(toHex(encodeTransactionDictGeneric(tx)));
    expect(toHex(tx.forIdBytes())).toBe(toHex(dictForIdBytesGeneric(tx)));
  });

  it(`random transactions: the same bytes, for-id bytes and decoding, ${RUNS} runs`, () => {
    fc.assert(
      fc.property(transaction(DICT_FORMATS), (tx) => {
        const generic = encodeTransactionDictGeneric(tx);
        const direct = tx.serialize();
        expect(toHex(inflated(direct))).toBe(toHex(inflated(generic)));
        expect(toHex(direct)).toBe(toHex(generic));
        expect(toHex(tx.forIdBytes())).toBe(toHex(dictForIdBytesGeneric(tx)));
        sameDecoding(direct);
      }),
      { numRuns: RUNS },
    );
  });

  it(`mutated transactions and random budgets: the same outcome, ${RUNS} runs`, () => {
    fc.assert(
      fc.property(
        transaction([4, 1]),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.option(fc.record({ maxElements: fc.integer({ min: 1, max: 300 }), allocationBase: fc.integer({ min: 0, max: 20000 }), allocationRatio: fc.integer({ min: 0, max: 20 }) }), {
          nil: undefined,
        }),
        (tx, sets, budget) => {
          const b = tx.serialize().slice();
          for (const [at, v] of sets) if (b.length > 2) b[2 + (at % (b.length - 2))] = v;
          sameDecoding(b, budget);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("the Node and portable inflate give identical bodies", () => {
  it(`on the zlib vectors and on random format 3 / 6 transactions, ${Math.ceil(RUNS / 3)} runs`, async () => {
    const { inflateZlib: node } = await import("../src/codec/zlib/inflate-node.js");
    const { inflateZlib: portable } = await import("../src/codec/zlib/inflate-portable.js");
    const check = (data: Uint8Array) => {
      const body = data.subarray(2);
      expect(toHex(node(body, 1 << 26))).toBe(toHex(portable(body, 1 << 26)));
    };
    for (const c of transactionCases()) if (c.format_type === 3 || c.format_type === 6) check(fromHex(c.serialized));
    fc.assert(
      fc.property(transaction([3, 6]), (tx) => check(tx.serialize())),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});
