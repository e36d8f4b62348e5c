/**
 * Sign and verify on both crypto backends, P-256 and secp256k1: over a 32-byte digest
 * (signDigest / verifyDigest) and over a 440-byte message, the size of a small binary
 * transaction (signMessage / verifyMessage: SHA-256 included).
 * Targets on the node backend, P-256: sign >= 30k/s, verify >= 15k/s.
 */
import { measure, type BenchRow } from "../../../bench/harness.js";
import type { CryptoBackend, CurveType } from "../src/crypto/backend.js";
import { nobleBackend } from "../src/crypto/noble-backend.js";
import { nodeBackend } from "../src/crypto/node-backend.js";

const CURVES: [CurveType, string][] = [
  [2, "P-256"],
  [1, "secp256k1"],
];

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const message = Uint8Array.from({ length: 440 }, (_, i) => (i * 31 + 7) & 0xff);
  const digest = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 1) & 0xff);
  for (const backend of [nodeBackend, nobleBackend] as CryptoBackend[]) {
    const ms = backend.name === "node" ? 1000 : 600;
    for (const [curve, curveName] of CURVES) {
      const priv = backend.generatePrivateKey(curve);
      const pub = backend.getPublicKey(curve, priv, false);
      const sigM = backend.signMessage(curve, priv, message);
      const sigD = backend.signDigest(curve, priv, digest);
      const fallback = backend.name === "node" ? "node:crypto cannot sign a raw digest: @noble fallback" : undefined;
      const p = `crypto ${backend.name} ${curveName}`;
      rows.push(measure(`${p} signMessage 440B`, () => backend.signMessage(curve, priv, message), { ms }));
      rows.push(measure(`${p} verifyMessage 440B`, () => backend.verifyMessage(curve, pub, message, sigM), { ms }));
      rows.push(measure(`${p} signDigest 32B`, () => backend.signDigest(curve, priv, digest), { ms, note: fallback }));
      rows.push(measure(`${p} verifyDigest 32B`, () => backend.verifyDigest(curve, pub, digest, sigD), { ms, note: fallback }));
    }
  }
  return rows;
}
