/**
 * Hot paths of bbclib on a 1-event transaction like the reference's benchmark (about 440 bytes
 * in the binary format): serialize, deserialize (including the id), digest, sign, verify.
 * Every BBcFormat: formats.bench.ts.
 */
import { measure, type BenchRow } from "../../../bench/harness.js";
import {
  KeyPair,
  addEventAsset,
  deserialize,
  getNewId,
  makeTransaction,
  validateTransaction,
} from "../src/index.js";
import { nodeBackend } from "../src/crypto/node-backend.js";
import { nobleBackend } from "../src/crypto/noble-backend.js";
import { sha256 } from "../src/crypto/sha256-node.js";

function oneEventTx(formatType: 0) {
  const keys = KeyPair.generate();
  const user = getNewId("user", false);
  const tx = makeTransaction({ eventNum: 1, witness: true, formatType });
  addEventAsset(tx, 0, getNewId("asset group", false), user, { assetBody: "a string body of the benchmark transaction!" });
  tx.events[0].add({ mandatoryApprover: user });
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(keys));
  return { tx, keys, bytes: tx.serialize() };
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const { tx, keys, bytes } = oneEventTx(0);
  const note = `binary, ${bytes.length} B`;
  rows.push(measure("serialize (binary, 1 event)", () => tx.serialize(), { batch: 100, note }));
  rows.push(measure("deserialize incl. id (binary, 1 event)", () => deserialize(bytes), { batch: 50, note }));
  rows.push(measure("digest (binary, 1 event)", () => tx.digest(), { batch: 50, note }));
  rows.push(measure("validate (1 signature)", () => validateTransaction(deserialize(bytes)), { batch: 10, note: "deserialize + verify" }));
  const message = tx.forIdBytes();
  rows.push(measure("sha256 of the for-id bytes", () => sha256(message), { batch: 100, note: `${message.length} B` }));
  rows.push(measure("tx.sign (default backend, P-256)", () => tx.sign(keys), { batch: 20, ms: 700 }));
  for (const [label, curve] of [["P-256", 2], ["secp256k1", 1]] as const) {
    const k = KeyPair.generate(curve);
    for (const b of [nodeBackend, nobleBackend]) {
      const sig = b.signMessage(curve, k.privateKey!, message);
      rows.push(measure(`sign ${label} (${b.name})`, () => b.signMessage(curve, k.privateKey!, message), { batch: 20, ms: 700 }));
      rows.push(measure(`verify ${label} (${b.name})`, () => b.verifyMessage(curve, k.publicKey!, message, sig), { batch: 20, ms: 700 }));
    }
  }
  return rows;
}
