// Build, sign, serialize, deserialize and validate a BBc-1 transaction offline with @bbc1/bbclib.
// Run from the repository root: npm run example
import {
  BBcFormat,
  KeyPair,
  addEventAsset,
  deserialize,
  getNewId,
  makeTransaction,
  toHex,
  validateTransaction,
} from "@bbc1/bbclib";

const keys = KeyPair.generate(); // ECDSA P-256, like the v1.1.1 default
const user = getNewId("alice"); // sha256("alice" + timestamp), 32 bytes
const assetGroup = getNewId("my asset group");

const tx = makeTransaction({ eventNum: 1, witness: true, formatType: BBcFormat.FORMAT_BINARY });
addEventAsset(tx, 0, assetGroup, user, { assetBody: "hello, ledger" });
tx.events[0].add({ mandatoryApprover: user });
tx.witness.addWitness(user);
tx.addSignature(user, tx.sign(keys)); // signs sha256 of the for-id serialization

const bytes = tx.serialize(); // 2-byte format prefix + v1.1.1 binary body
const back = deserialize(bytes);
const verdict = validateTransaction(back);

console.log(`transaction_id ${toHex(back.transactionId)}`);
console.log(`asset_id       ${toHex(back.events[0].asset.assetId)}`);
console.log(`serialized     ${bytes.length} bytes`);
console.log(`valid          ${verdict.valid}`);
if (!verdict.valid) process.exit(1);
