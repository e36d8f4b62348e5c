/**
 * KeyPair with v1.1.1 semantics, and key encodings compared byte for byte with OpenSSL
 * (node:crypto's export and the openssl CLI).
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { BbcLibError } from "../src/errors.js";
import type { CurveType } from "../src/crypto/backend.js";
import {
  privateKeyFromDer,
  privateKeyFromPem,
  privateKeyToDer,
  privateKeyToPem,
  publicKeyFromDer,
  publicKeyFromPem,
  publicKeyToDer,
  publicKeyToPem,
} from "../src/crypto/keys.js";
import { base64Decode, base64Encode, pemDecode } from "../src/crypto/pem.js";
import { nobleBackend } from "../src/crypto/noble-backend.js";
import { nodeBackend } from "../src/crypto/node-backend.js";
import { KeyPair } from "../src/keypair.js";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const curveName = (c: CurveType): string => (c === 2 ? "prime256v1" : "secp256k1");

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
})();
const tmp = mkdtempSync(join(tmpdir(), "bbclib-keypair-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
function openssl(args: string[], input: string | Uint8Array): Buffer {
  const f = join(tmp, `in${fileNo++}`);
  writeFileSync(f, input);
  return execFileSync("openssl", [...args, "-in", f], { stdio: ["pipe", "pipe", "pipe"] });
}

/**
 * A node:crypto private KeyObject for a raw scalar, imported as a JWK (public point from
 * noble), so that exporting it shows what OpenSSL's own writers produce. (Imported from SEC1
 * without the public key, OpenSSL 3 would export without the [1] field.)
 */
function nodePrivate(curve: CurveType, d: Uint8Array) {
  const pad = new Uint8Array(32);
  pad.set(d, 32 - d.length);
  const pub = nobleBackend.getPublicKey(curve, pad, false);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  return createPrivateKey({
    key: { kty: "EC", crv: curve === 2 ? "P-256" : "secp256k1", d: b64(pad), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) },
    format: "jwk",
  });
}

interface VectorCase {
  name: string;
  keys: { curve: CurveType; private_key: string; public_key: string }[];
}
const vectors = JSON.parse(
  readFileSync(fileURLToPath(new URL("./fixtures/bbclib-transactions.json", import.meta.url)), "utf8"),
) as { cases: VectorCase[] };

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BbcLibError);
    expect((e as BbcLibError).code).toBe(code);
    return;
  }
  throw new Error(`expected a BbcLibError ${code}`);
}

describe("KeyPair basics", () => {
  it("defaults to P-256, uncompressed, no keys", () => {
    const kp = new KeyPair();
    expect(kp.curveType).toBe(2);
    expect(kp.compressed).toBe(false);
    expect(kp.privateKey).toBeNull();
    expect(kp.publicKey).toBeNull();
    expect(kp.verify(new Uint8Array(32), new Uint8Array(64))).toBe(false);
    expect(kp.verifyMessage(new Uint8Array(3), new Uint8Array(64))).toBe(false);
    expectCode(() => kp.sign(new Uint8Array(32)), "BAD_KEY");
    expectCode(() => kp.signMessage(new Uint8Array(3)), "BAD_KEY");
    expectCode(() => kp.getPrivateKeyDer(), "BAD_KEY");
    expectCode(() => kp.getPrivateKeyPem(), "BAD_KEY");
    expectCode(() => kp.getPublicKeyPem(), "BAD_KEY");
    expectCode(() => kp.fromPrivateKey(), "BAD_KEY");
    expectCode(() => new KeyPair({ curveType: 3 as CurveType }), "BAD_CURVE");
  });

  for (const curveType of [2, 1] as CurveType[]) {
    for (const compressed of [false, true]) {
      it(`generates, signs and verifies (curve ${curveType}, compressed ${compressed})`, () => {
        const kp = KeyPair.generate(curveType, compressed);
        expect(kp.curveType).toBe(curveType);
        expect(kp.privateKey!.length).toBe(32);
        expect(kp.publicKey!.length).toBe(compressed ? 33 : 65);
        const inPlace = new KeyPair({ curveType, compressed }).generate();
        expect(inPlace.publicKey!.length).toBe(compressed ? 33 : 65);
        const digest = new Uint8Array(32).fill(7);
        const message = new TextEncoder().encode("a message");
        const sig = kp.sign(digest);
        expect(kp.verify(digest, sig)).toBe(true);
        expect(kp.verify(new Uint8Array(32), sig)).toBe(false);
        const msig = kp.signMessage(message);
        expect(kp.verifyMessage(message, msig)).toBe(true);
        expect(kp.verifyMessage(message, sig)).toBe(false);
        // a verify-only pair (v1.1.1 BBcSignature's KeyPair(pubkey=...)) on either backend
        for (const backend of [nodeBackend, nobleBackend]) {
          const v = new KeyPair({ curveType, publicKey: kp.publicKey, backend });
          expect(v.verifyMessage(message, msig)).toBe(true);
          expect(v.verify(digest, sig)).toBe(true);
        }
      });
    }
  }

  it("takes a private key in the constructor and derives the public key", () => {
    const d = nobleBackend.generatePrivateKey(1);
    const kp = new KeyPair({ curveType: 1, compressed: true, privateKey: d });
    expect(toHex(kp.publicKey!)).toBe(toHex(nobleBackend.getPublicKey(1, d, true)));
    const given = new KeyPair({ curveType: 1, privateKey: d, publicKey: Uint8Array.of(9) });
    expect(toHex(given.publicKey!)).toBe("09"); // kept as given
    expectCode(() => new KeyPair({ privateKey: new Uint8Array(32) }), "BAD_KEY");
  });

  it("fromPrivateKey derives the vectors' public keys (in the pair's form)", () => {
    for (const c of vectors.cases) {
      for (const k of c.keys) {
        const compressed = k.public_key.length === 66;
        const kp = new KeyPair({ curveType: k.curve, compressed });
        kp.privateKey = hex(k.private_key);
        kp.fromPrivateKey();
        expect(toHex(kp.publicKey!), c.name).toBe(k.public_key);
        const other = new KeyPair({ curveType: k.curve, compressed: !compressed }).fromPrivateKey(hex(k.private_key));
        expect(other.publicKey!.length).toBe(compressed ? 65 : 33);
      }
    }
  });

  it("pads a private key with a leading zero byte (31 bytes given) to 32", () => {
    const short = hex("7f" + "22".repeat(30));
    const kp = new KeyPair({ privateKey: short });
    expect(kp.privateKey!.length).toBe(32);
    expect(toHex(kp.privateKey!)).toBe("00" + toHex(short));
    const der = kp.getPrivateKeyDer();
    // OpenSSL writes the private key as 32 bytes, leading zero included
    expect(toHex(der)).toContain("0420" + "00" + toHex(short));
    expect(toHex(der)).toBe(toHex(nodePrivate(2, short).export({ format: "der", type: "sec1" })));
    expect(kp.verifyMessage(Uint8Array.of(1), kp.signMessage(Uint8Array.of(1)))).toBe(true);
  });
});

describe("key encodings match OpenSSL byte for byte", () => {
  for (const curve of [2, 1] as CurveType[]) {
    it(`private key DER/PEM and public key PEM equal node:crypto's export (curve ${curve})`, () => {
      for (let i = 0; i < 5; i++) {
        const kp = KeyPair.generate(curve);
        const ko = nodePrivate(curve, kp.privateKey!);
        expect(toHex(kp.getPrivateKeyDer())).toBe(toHex(ko.export({ format: "der", type: "sec1" })));
        expect(kp.getPrivateKeyPem()).toBe(ko.export({ format: "pem", type: "sec1" }));
        expect(kp.getPublicKeyPem()).toBe(createPublicKey(ko).export({ format: "pem", type: "spki" }));
        expect(toHex(publicKeyToDer(curve, kp.publicKey!))).toBe(toHex(createPublicKey(ko).export({ format: "der", type: "spki" })));
        // a compressed pair still writes the uncompressed point (libbbcsig's fresh EC_KEY)
        const c = new KeyPair({ curveType: curve, compressed: true, privateKey: kp.privateKey });
        expect(c.publicKey!.length).toBe(33);
        expect(c.getPublicKeyPem()).toBe(kp.getPublicKeyPem());
        // DER layout: SEQUENCE { 1, OCTET STRING(32), [0] OID, [1] BIT STRING(65) }
        const der = kp.getPrivateKeyDer();
        expect(toHex(der.subarray(0, 7))).toBe(curve === 2 ? "30770201010420" : "30740201010420");
      }
    });

    it.skipIf(!hasOpenssl)(`openssl ec / pkey re-write our keys unchanged (curve ${curve})`, () => {
      const kp = KeyPair.generate(curve);
      const pem = kp.getPrivateKeyPem();
      expect(openssl(["ec"], pem).toString("latin1")).toBe(pem);
      expect(toHex(openssl(["ec", "-outform", "DER"], pem))).toBe(toHex(kp.getPrivateKeyDer()));
      expect(openssl(["ec", "-pubout"], pem).toString("latin1")).toBe(kp.getPublicKeyPem());
      expect(openssl(["pkey", "-pubin", "-pubout"], kp.getPublicKeyPem()).toString("latin1")).toBe(kp.getPublicKeyPem());
    });

    it.skipIf(!hasOpenssl)(`reads keys the openssl CLI makes: ecparam -genkey (with EC PARAMETERS), genpkey PKCS#8 (curve ${curve})`, () => {
      const ecparam = execFileSync("openssl", ["ecparam", "-name", curveName(curve), "-genkey"]).toString("latin1");
      expect(ecparam).toContain("BEGIN EC PARAMETERS");
      const a = new KeyPair().fromPrivateKeyPem(ecparam);
      expect(a.curveType).toBe(curve);
      const dump = openssl(["ec", "-text", "-noout"], ecparam).toString("latin1");
      const privHex = /priv:\s*([\s0-9a-f:]+)pub:/.exec(dump)![1].replace(/[\s:]/g, "");
      expect(toHex(a.privateKey!)).toBe(privHex.padStart(64, "0").slice(-64));
      const pkcs8 = execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curveName(curve)}`]).toString("latin1");
      expect(pkcs8).toContain("BEGIN PRIVATE KEY");
      const b = new KeyPair({ compressed: true }).fromPrivateKeyPem(pkcs8);
      expect(b.curveType).toBe(curve);
      expect(b.publicKey!.length).toBe(33);
      expect(b.getPrivateKeyPem()).toBe(openssl(["ec"], pkcs8).toString("latin1"));
      const pkcs8der = openssl(["pkey", "-outform", "DER"], pkcs8);
      const c = new KeyPair().fromPrivateKeyDer(Uint8Array.from(pkcs8der));
      expect(toHex(c.privateKey!)).toBe(toHex(b.privateKey!));
    });
  }

  it("round-trips DER and PEM, adopting the key's curve (v1.1.1 kept the pair's)", () => {
    const k1 = KeyPair.generate(1, true);
    const p = new KeyPair({ curveType: 2 }).fromPrivateKeyDer(k1.getPrivateKeyDer());
    expect(p.curveType).toBe(1);
    expect(toHex(p.privateKey!)).toBe(toHex(k1.privateKey!));
    expect(p.publicKey!.length).toBe(65); // the pair's form
    const q = new KeyPair({ compressed: true }).fromPrivateKeyPem(k1.getPrivateKeyPem());
    expect(toHex(q.publicKey!)).toBe(toHex(k1.publicKey!));
    // PKCS#8 from node:crypto
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
    const r = new KeyPair().fromPrivateKeyPem(privateKey.export({ format: "pem", type: "pkcs8" }) as string);
    expect(r.curveType).toBe(1);
    expect(r.getPrivateKeyPem()).toBe(privateKey.export({ format: "pem", type: "sec1" }));
    const s = new KeyPair().fromPrivateKeyDer(Uint8Array.from(privateKey.export({ format: "der", type: "pkcs8" })));
    expect(toHex(s.privateKey!)).toBe(toHex(r.privateKey!));
  });

  it("public key DER/PEM readers give back the point in either form", () => {
    for (const curve of [1, 2] as CurveType[]) {
      const kp = KeyPair.generate(curve, true);
      const pem = kp.getPublicKeyPem();
      expect(publicKeyFromPem(pem, true)).toEqual({ curve, publicKey: kp.publicKey });
      expect(publicKeyFromPem(pem).publicKey.length).toBe(65);
      expect(publicKeyFromDer(publicKeyToDer(curve, kp.publicKey!), true).publicKey).toEqual(kp.publicKey);
      expect(publicKeyToPem(curve, kp.publicKey!)).toBe(pem);
      expect(privateKeyToPem(curve, kp.privateKey!)).toBe(kp.getPrivateKeyPem());
    }
  });

  it("refuses bad keys with typed errors", () => {
    const kp = KeyPair.generate();
    const der = kp.getPrivateKeyDer();
    expectCode(() => privateKeyFromDer(der.subarray(0, der.length - 1)), "TRUNCATED");
    expectCode(() => privateKeyFromDer(Uint8Array.of(...der, 0)), "MALFORMED");
    // zero private key
    const zero = der.slice();
    zero.fill(0, 7, 39);
    expectCode(() => privateKeyFromDer(zero), "BAD_KEY");
    // embedded public key off the curve
    const offCurve = der.slice();
    offCurve[offCurve.length - 1] ^= 1;
    expectCode(() => privateKeyFromDer(offCurve), "BAD_KEY");
    // unknown curve OID (P-384: 1.3.132.0.34)
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    expectCode(() => privateKeyFromPem(privateKey.export({ format: "pem", type: "sec1" }) as string), "BAD_CURVE");
    // RSA in PKCS#8
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    expectCode(() => privateKeyFromPem(rsa), "UNKNOWN_FORMAT");
    expectCode(() => privateKeyFromPem("no pem here"), "MALFORMED");
    expectCode(() => privateKeyFromPem(kp.getPublicKeyPem()), "MALFORMED");
    const encrypted = privateKey.export({ format: "pem", type: "sec1", cipher: "aes-128-cbc", passphrase: "x" }) as string;
    expectCode(() => privateKeyFromPem(encrypted), "UNKNOWN_FORMAT");
    expectCode(() => publicKeyToDer(2, Uint8Array.of(4, 1, 2)), "BAD_KEY");
    expectCode(() => new KeyPair({ publicKey: new Uint8Array(65) }).getPublicKeyPem(), "BAD_KEY");
    expectCode(() => privateKeyToDer(2, new Uint8Array(33).fill(1)), "BAD_KEY");
  });

  it("base64 and PEM helpers match Buffer's base64 and reject junk", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const s = base64Encode(b);
        expect(s).toBe(Buffer.from(b).toString("base64"));
        expect(toHex(base64Decode(s))).toBe(toHex(b));
      }),
    );
    expectCode(() => base64Decode("abc"), "MALFORMED");
    expectCode(() => base64Decode("ab!d"), "MALFORMED");
    expectCode(() => base64Decode("a=bc"), "MALFORMED");
    expectCode(() => pemDecode("-----BEGIN EC PRIVATE KEY-----\nAAAA\n", ["EC PRIVATE KEY"]), "TRUNCATED");
  });
});

describe("decoders never throw untyped errors (fast-check)", () => {
  const samples = [KeyPair.generate(2), KeyPair.generate(1)];
  const ders = samples.map((k) => k.getPrivateKeyDer());
  const pkcs8 = samples.map((k) => Uint8Array.from(nodePrivate(k.curveType, k.privateKey!).export({ format: "der", type: "pkcs8" })));
  const spkis = samples.map((k) => publicKeyToDer(k.curveType, k.publicKey!));
  const corpus = [...ders, ...pkcs8, ...spkis];

  const mutated = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.constantFrom(...corpus), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(
      ([b, edits]) => {
        const c = b.slice();
        for (const [i, v] of edits) c[i % c.length] = v;
        return c;
      },
    ),
    fc.tuple(fc.constantFrom(...corpus), fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
  );

  function typedOrOk(fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof BbcLibError)) throw e;
    }
  }

  it("privateKeyFromDer, publicKeyFromDer, privateKeyFromPem, publicKeyFromPem", () => {
    fc.assert(
      fc.property(mutated, (b) => {
        typedOrOk(() => privateKeyFromDer(b));
        typedOrOk(() => publicKeyFromDer(b));
        const pem = `-----BEGIN EC PRIVATE KEY-----\n${base64Encode(b)}\n-----END EC PRIVATE KEY-----\n`;
        typedOrOk(() => privateKeyFromPem(pem));
        typedOrOk(() => new KeyPair().fromPrivateKeyDer(b));
        typedOrOk(() => publicKeyFromPem(`-----BEGIN PUBLIC KEY-----\n${base64Encode(b)}\n-----END PUBLIC KEY-----\n`));
      }),
      { numRuns: 500 },
    );
  });

  it("a decoded key re-encodes to what OpenSSL would write", () => {
    fc.assert(
      fc.property(mutated, (b) => {
        let k;
        try {
          k = privateKeyFromDer(b);
        } catch (e) {
          if (e instanceof BbcLibError) return;
          throw e;
        }
        const again = privateKeyToDer(k.curve, k.privateKey);
        expect(toHex(privateKeyFromDer(again).privateKey)).toBe(toHex(k.privateKey));
        expect(toHex(again)).toBe(toHex(nodePrivate(k.curve, k.privateKey).export({ format: "der", type: "sec1" })));
      }),
      { numRuns: 300 },
    );
  });

  it("strings that are not PEM give typed errors", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        typedOrOk(() => privateKeyFromPem(s));
        typedOrOk(() => privateKeyFromPem(`-----BEGIN PRIVATE KEY-----\n${s}\n-----END PRIVATE KEY-----`));
      }),
    );
  });
});
