/**
 * X.509 import with libbbcsig verify_x509 / read_x509 semantics. Fixtures were made with the
 * openssl CLI (test/fixtures/x509/generate.sh); node:crypto.X509Certificate cross-checks.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BbcLibError } from "../src/errors.js";
import { base64Decode, base64Encode, pemEncode } from "../src/crypto/pem.js";
import { parseCertificateDer, parseCertificatePem, readCertificatePublicKey, verifyCertificate } from "../src/crypto/x509.js";
import { KeyPair } from "../src/keypair.js";

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/x509/${name}`, import.meta.url)), "latin1");
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const derOf = (pem: string): Uint8Array => base64Decode(pem.replace(/-----[^-]+-----/g, ""));

const SELF_SIGNED = ["p256-self.pem", "k1-self.pem", "p256-self-sha384.pem", "k1-self-sha512.pem", "p256-self-noext.pem", "ca.pem"];
const KEY_OF: Record<string, string> = {
  "p256-self.pem": "p256-self.key.pem",
  "p256-self-sha384.pem": "p256-self.key.pem",
  "p256-self-noext.pem": "p256-self.key.pem",
  "k1-self.pem": "k1-self.key.pem",
  "k1-self-sha512.pem": "k1-self.key.pem",
  "ca.pem": "ca.key.pem",
};

describe("verifyCertificate (libbbcsig verify_x509)", () => {
  for (const name of SELF_SIGNED) {
    it(`accepts the self-signed, valid ${name}, with and without its private key`, () => {
      const pem = fixture(name);
      expect(verifyCertificate(pem)).toBe(true);
      expect(verifyCertificate(pem, "")).toBe(true); // empty: no key check, as the C code
      expect(verifyCertificate(pem, fixture(KEY_OF[name]))).toBe(true);
      const other = name.startsWith("k1") ? "p256-self.key.pem" : "k1-self.key.pem";
      expect(verifyCertificate(pem, fixture(other))).toBe(false);
      expect(verifyCertificate(pem, fixture("leaf.key.pem"))).toBe(false);
      expect(verifyCertificate(pem, "not a key")).toBe(false);
      // node:crypto (OpenSSL 3) agrees on the signature and the key match
      const x = new X509Certificate(pem);
      expect(x.verify(x.publicKey)).toBe(true);
      expect(x.checkPrivateKey(createPrivateKey(fixture(KEY_OF[name])))).toBe(true);
    });
  }

  it("rejects a certificate issued by someone else (issuer unknown), even with the CA at hand", () => {
    expect(verifyCertificate(fixture("leaf.pem"))).toBe(false);
    expect(verifyCertificate(fixture("leaf.pem"), fixture("leaf.key.pem"))).toBe(false);
    // it is a genuine certificate of that CA
    expect(new X509Certificate(fixture("leaf.pem")).verify(new X509Certificate(fixture("ca.pem")).publicKey)).toBe(true);
  });

  it("checks the validity period with OpenSSL's comparison (notBefore <= now < notAfter)", () => {
    expect(verifyCertificate(fixture("p256-expired.pem"))).toBe(false);
    expect(verifyCertificate(fixture("k1-future.pem"))).toBe(false);
    const expired = parseCertificatePem(fixture("p256-expired.pem"));
    expect(expired.notBefore.toISOString()).toBe("2000-01-01T00:00:00.000Z");
    expect(expired.notAfter.toISOString()).toBe("2001-01-01T00:00:00.000Z");
    expect(verifyCertificate(fixture("p256-expired.pem"), undefined, new Date("2000-06-01T00:00:00Z"))).toBe(true);
    expect(verifyCertificate(fixture("p256-expired.pem"), undefined, new Date("2000-01-01T00:00:00.500Z"))).toBe(true);
    expect(verifyCertificate(fixture("p256-expired.pem"), undefined, new Date("1999-12-31T23:59:59.999Z"))).toBe(false);
    expect(verifyCertificate(fixture("p256-expired.pem"), undefined, new Date("2000-12-31T23:59:59.999Z"))).toBe(true);
    expect(verifyCertificate(fixture("p256-expired.pem"), undefined, new Date("2001-01-01T00:00:00Z"))).toBe(false);
    expect(verifyCertificate(fixture("k1-future.pem"), fixture("k1-self.key.pem"), new Date("2995-01-01T00:00:00Z"))).toBe(true);
    const self = parseCertificatePem(fixture("p256-self.pem"));
    expect(self.notAfter.getTime() - self.notBefore.getTime()).toBe(36500 * 86400_000);
    expect(verifyCertificate(fixture("p256-self.pem"), undefined, self.notAfter)).toBe(false);
  });

  it("follows OpenSSL 1.1's self-signed rules: keyCertSign required if keyUsage is present; unknown critical extensions refused", () => {
    expect(verifyCertificate(fixture("p256-self-nocertsign.pem"))).toBe(false);
    expect(verifyCertificate(fixture("p256-self-critical.pem"))).toBe(false);
  });

  it("refuses certificates whose key KeyPair cannot use (RSA, P-384)", () => {
    expect(verifyCertificate(fixture("rsa-self.pem"))).toBe(false);
    expect(verifyCertificate(fixture("p384-self.pem"))).toBe(false);
    expect(parseCertificatePem(fixture("rsa-self.pem")).publicKey).toBeUndefined();
    expect(() => readCertificatePublicKey(fixture("p384-self.pem"))).toThrow(BbcLibError);
  });

  it("verifies the self-signature (stricter than v1.1.1, which skipped it)", () => {
    const der = derOf(fixture("p256-self.pem"));
    const badSig = der.slice();
    badSig[badSig.length - 3] ^= 0x01; // inside s
    expect(verifyCertificate(pemEncode("CERTIFICATE", badSig))).toBe(false);
    const badTbs = der.slice();
    const info = parseCertificateDer(der);
    const serialAt = toHex(der).indexOf(toHex(info.serialNumber)) / 2;
    badTbs[serialAt + 1] ^= 0x01; // the serial number, inside tbsCertificate
    expect(parseCertificateDer(badTbs).serialNumber).not.toEqual(info.serialNumber);
    expect(verifyCertificate(pemEncode("CERTIFICATE", badTbs))).toBe(false);
  });

  it("reads the first CERTIFICATE block, skipping other text, and the old X509 CERTIFICATE label", () => {
    const pem = fixture("k1-self.pem");
    expect(verifyCertificate("some text before\n" + fixture("k1-self.key.pem") + pem + fixture("leaf.pem"))).toBe(true);
    expect(verifyCertificate(fixture("leaf.pem") + pem)).toBe(false);
    expect(verifyCertificate(pem.replace(/CERTIFICATE/g, "X509 CERTIFICATE"))).toBe(true);
    expect(verifyCertificate("")).toBe(false);
    expect(verifyCertificate(pem.replace(/CERTIFICATE/g, "TRUSTED CERTIFICATE"))).toBe(false);
  });
});

describe("readCertificatePublicKey (libbbcsig read_x509)", () => {
  for (const name of ["p256-self.pem", "k1-self.pem", "leaf.pem", "p256-expired.pem"]) {
    it(`gives ${name}'s key in both forms, as node:crypto reads it`, () => {
      const pem = fixture(name);
      const x = new X509Certificate(pem);
      const spki = x.publicKey.export({ format: "der", type: "spki" });
      const point = spki.subarray(spki.length - 65);
      const u = readCertificatePublicKey(pem);
      expect(u.curve).toBe(x.publicKey.asymmetricKeyDetails!.namedCurve === "secp256k1" ? 1 : 2);
      expect(toHex(u.publicKey)).toBe(toHex(point));
      const c = readCertificatePublicKey(pem, true);
      expect(c.publicKey.length).toBe(33);
      expect(toHex(c.publicKey.subarray(1))).toBe(toHex(point.subarray(1, 33)));
      // notBefore / notAfter as node reads them
      const info = parseCertificatePem(pem);
      expect(info.notBefore.getTime()).toBe(new Date(x.validFrom).getTime());
      expect(info.notAfter.getTime()).toBe(new Date(x.validTo).getTime());
      expect(toHex(info.serialNumber).replace(/^0+/, "").toUpperCase()).toBe(x.serialNumber.replace(/^0+/, ""));
    });
  }
});

describe("KeyPair.importPublicKeyCertPem", () => {
  it("imports the certificate's public key in the pair's form and adopts its curve", () => {
    const kp = new KeyPair({ compressed: true });
    expect(kp.importPublicKeyCertPem(fixture("k1-self.pem"))).toBe(true);
    expect(kp.curveType).toBe(1);
    expect(kp.privateKey).toBeNull();
    expect(toHex(kp.publicKey!)).toBe(toHex(readCertificatePublicKey(fixture("k1-self.pem"), true).publicKey));
  });

  it("with the private key, takes the key pair from it and can sign for the certificate", () => {
    const kp = new KeyPair();
    expect(kp.importPublicKeyCertPem(fixture("p256-self.pem"), fixture("p256-self.key.pem"))).toBe(true);
    expect(kp.curveType).toBe(2);
    expect(toHex(kp.publicKey!)).toBe(toHex(readCertificatePublicKey(fixture("p256-self.pem")).publicKey));
    const m = new TextEncoder().encode("signed by the certificate's key");
    const verifier = new KeyPair();
    verifier.importPublicKeyCertPem(fixture("p256-self.pem"));
    expect(verifier.verifyMessage(m, kp.signMessage(m))).toBe(true);
  });

  it("returns false and leaves the pair unchanged when refused", () => {
    const kp = KeyPair.generate();
    const before = toHex(kp.publicKey!);
    expect(kp.importPublicKeyCertPem(fixture("leaf.pem"))).toBe(false);
    expect(kp.importPublicKeyCertPem(fixture("p256-expired.pem"))).toBe(false);
    expect(kp.importPublicKeyCertPem(fixture("p256-self.pem"), fixture("k1-self.key.pem"))).toBe(false);
    expect(kp.importPublicKeyCertPem("garbage")).toBe(false);
    expect(toHex(kp.publicKey!)).toBe(before);
    expect(kp.importPublicKeyCertPem(fixture("p256-expired.pem"), null, new Date("2000-02-02T00:00:00Z"))).toBe(true);
  });
});

describe("the certificate parser never throws untyped errors (fast-check)", () => {
  const corpus = ["p256-self.pem", "k1-self.pem", "leaf.pem", "rsa-self.pem", "p256-self-nocertsign.pem"].map((n) => derOf(fixture(n)));
  const mutated = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.constantFrom(...corpus), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 })).map(
      ([b, edits]) => {
        const c = b.slice();
        for (const [i, v] of edits) c[i % c.length] = v;
        return c;
      },
    ),
    fc.tuple(fc.constantFrom(...corpus), fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
  );

  it("parseCertificateDer, verifyCertificate, readCertificatePublicKey", () => {
    fc.assert(
      fc.property(mutated, (der) => {
        try {
          parseCertificateDer(der);
        } catch (e) {
          if (!(e instanceof BbcLibError)) throw e;
        }
        const pem = `-----BEGIN CERTIFICATE-----\n${base64Encode(der)}\n-----END CERTIFICATE-----\n`;
        const ok = verifyCertificate(pem);
        expect(typeof ok).toBe("boolean");
        try {
          readCertificatePublicKey(pem);
        } catch (e) {
          if (!(e instanceof BbcLibError)) throw e;
        }
        // a mutated certificate that we accept must still be accepted by OpenSSL's signature check
        if (ok) expect(new X509Certificate(Buffer.from(der)).verify(new X509Certificate(Buffer.from(der)).publicKey)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
