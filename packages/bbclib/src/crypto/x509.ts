/**
 * X.509 certificate import with the semantics of libbbcsig `verify_x509` and `read_x509`,
 * in pure TypeScript (a minimal DER parser, @noble for the signature), so it runs in browsers.
 *
 * libbbcsig verified a certificate against an empty trust store and tolerated only the
 * "self-signed certificate at depth 0" error. In effect a certificate is accepted when it
 * is self-signed (in OpenSSL 1.1's sense: subject equals issuer, its authority key
 * identifier, if any, matches itself, and its key usage, if any, allows keyCertSign), it is
 * currently valid (notBefore <= now < notAfter, OpenSSL's comparison), and it has no
 * critical extension OpenSSL does not handle. A certificate issued by anyone else is
 * rejected (unknown issuer).
 *
 * Deliberate deviations (both stricter):
 * - we also verify the certificate's signature with its own public key (OpenSSL skips the
 *   signature check of a self-signed certificate at the end of a chain, so v1.1.1 accepted
 *   a certificate with a garbage signature as long as the names matched);
 * - names are compared as DER bytes, where OpenSSL compares canonical forms (case and
 *   whitespace folded), and only EC keys on P-256 or secp256k1 with ECDSA signatures
 *   (SHA-1/224/256/384/512) are accepted: other keys could not be used by a KeyPair anyway.
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { BbcLibError } from "../errors.js";
import {
  Tag,
  bytesEqual,
  children,
  decodeOid,
  expectTlv,
  smallInteger,
  unsignedIntegerBytes,
  value,
  whole,
  type Tlv,
} from "./der.js";
import { decodeSpkiTlv, privateKeyFromPem, type DecodedPublicKey } from "./keys.js";
import { nobleBackend } from "./noble-backend.js";
import { pemDecode } from "./pem.js";

/** One certificate extension. */
export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** The content of extnValue (the DER of the extension's own value). */
  value: Uint8Array;
}

/** The fields of a certificate this module looks at. */
export interface CertificateInfo {
  /** 1, 2 or 3. */
  version: number;
  /** Serial number: the INTEGER's content octets. */
  serialNumber: Uint8Array;
  /** DER of tbsCertificate: what the signature covers. */
  tbs: Uint8Array;
  /** Signature algorithm OID (outer). */
  signatureAlgorithm: string;
  /** True when the outer and inner (tbsCertificate) signature algorithms are identical. */
  signatureAlgorithmsMatch: boolean;
  /** DER of the issuer Name. */
  issuer: Uint8Array;
  /** DER of the subject Name. */
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** The public key when it is an EC key on P-256 or secp256k1 (uncompressed), else undefined. */
  publicKey: DecodedPublicKey | undefined;
  /** The signature bit string's content (for ECDSA: DER Ecdsa-Sig-Value). */
  signature: Uint8Array;
  extensions: CertificateExtension[];
}

const PEM_LABELS = ["CERTIFICATE", "X509 CERTIFICATE"] as const;

const HASHES: Record<string, (m: Uint8Array) => Uint8Array> = {
  "1.2.840.10045.4.1": (m) => sha1(m),
  "1.2.840.10045.4.3.1": (m) => sha224(m),
  "1.2.840.10045.4.3.2": (m) => sha256(m),
  "1.2.840.10045.4.3.3": (m) => sha384(m),
  "1.2.840.10045.4.3.4": (m) => sha512(m),
};

const OID_SUBJECT_KEY_ID = "2.5.29.14";
const OID_KEY_USAGE = "2.5.29.15";
const OID_AUTHORITY_KEY_ID = "2.5.29.35";
const OID_PROXY_CERT_INFO = "1.3.6.1.5.5.7.1.14";

/** Extensions OpenSSL 1.1 handles, so they may be critical (X509_supported_extension). */
const SUPPORTED_CRITICAL = new Set([
  "2.16.840.1.113730.1.1", // nsCertType
  OID_KEY_USAGE,
  "2.5.29.17", // subjectAltName
  "2.5.29.19", // basicConstraints
  "2.5.29.32", // certificatePolicies
  "2.5.29.37", // extKeyUsage
  "1.3.6.1.5.5.7.1.7", // sbgp-ipAddrBlock
  "1.3.6.1.5.5.7.1.8", // sbgp-autonomousSysNum
  "2.5.29.36", // policyConstraints
  OID_PROXY_CERT_INFO,
  "2.5.29.30", // nameConstraints
  "2.5.29.33", // policyMappings
  "2.5.29.54", // inhibitAnyPolicy
]);

function bad(message: string, cause?: unknown): never {
  throw new BbcLibError("BAD_CERTIFICATE", `X.509: ${message}`, cause === undefined ? undefined : { cause });
}

function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) bad(`bad digit in time "${s}"`);
    v = v * 10 + c;
  }
  return v;
}

/** UTCTime (YYMMDDHHMM[SS](Z|+-hhmm)) or GeneralizedTime (YYYYMMDDHHMMSS[.f](Z|+-hhmm)). */
function parseTime(t: Tlv): Date {
  const v = value(t);
  let s = "";
  for (const b of v) s += String.fromCharCode(b);
  let year: number;
  let p: number;
  if (t.tag === Tag.UTC_TIME) {
    year = digits(s, 0, 2);
    year += year >= 50 ? 1900 : 2000;
    p = 2;
  } else if (t.tag === Tag.GENERALIZED_TIME) {
    year = digits(s, 0, 4);
    p = 4;
  } else {
    return bad("validity time is neither UTCTime nor GeneralizedTime");
  }
  if (s.length < p + 8) bad(`time "${s}" too short`);
  const month = digits(s, p, 2);
  const day = digits(s, p + 2, 2);
  const hour = digits(s, p + 4, 2);
  const minute = digits(s, p + 6, 2);
  p += 8;
  let second = 0;
  if (p + 1 < s.length && s[p] >= "0" && s[p] <= "9") {
    second = digits(s, p, 2);
    p += 2;
  } else if (t.tag === Tag.GENERALIZED_TIME) {
    bad(`time "${s}" lacks seconds`);
  }
  if (t.tag === Tag.GENERALIZED_TIME && (s[p] === "." || s[p] === ",")) {
    p++;
    const f = p;
    while (p < s.length && s[p] >= "0" && s[p] <= "9") p++;
    if (p === f) bad(`time "${s}" has an empty fraction`);
  }
  let offsetMin = 0;
  if (s[p] === "Z" && p + 1 === s.length) {
    // UTC
  } else if ((s[p] === "+" || s[p] === "-") && p + 5 === s.length) {
    const oh = digits(s, p + 1, 2);
    const om = digits(s, p + 3, 2);
    if (oh > 12 || om > 59) bad(`time "${s}" has a bad offset`);
    offsetMin = (oh * 60 + om) * (s[p] === "+" ? 1 : -1);
  } else {
    bad(`time "${s}" has a bad zone`);
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    bad(`time "${s}" out of range`);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMin * 60_000;
  return new Date(ms);
}

function parseExtensions(t: Tlv): CertificateExtension[] {
  const inner = children(t);
  if (inner.length !== 1 || inner[0].tag !== Tag.SEQUENCE) bad("extensions must be one SEQUENCE");
  const out: CertificateExtension[] = [];
  for (const ext of children(inner[0])) {
    if (ext.tag !== Tag.SEQUENCE) bad("extension must be a SEQUENCE");
    const f = children(ext);
    if (f.length < 2 || f.length > 3) bad("extension must have 2 or 3 fields");
    const oid = decodeOid(f[0]);
    let critical = false;
    let i = 1;
    if (f.length === 3) {
      if (f[1].tag !== Tag.BOOLEAN || f[1].end - f[1].valueStart !== 1) bad("extension critical flag must be a BOOLEAN");
      critical = f[1].buf[f[1].valueStart] !== 0;
      i = 2;
    }
    if (f[i].tag !== Tag.OCTET_STRING) bad("extnValue must be an OCTET STRING");
    if (out.some((e) => e.oid === oid)) bad(`extension ${oid} appears twice`);
    out.push({ oid, critical, value: value(f[i]) });
  }
  return out;
}

/**
 * Parses a certificate's DER. Throws {@link BbcLibError} `BAD_CERTIFICATE` (or a DER error
 * code) on malformed input. Public keys other than EC P-256 / secp256k1 parse, with
 * `publicKey` undefined.
 */
export function parseCertificateDer(der: Uint8Array): CertificateInfo {
  if (!(der instanceof Uint8Array)) throw new BbcLibError("BAD_ARGUMENT", "certificate DER must be a Uint8Array");
  const cert = expectTlv(der, 0, Tag.SEQUENCE, der.length, "Certificate");
  if (cert.end !== der.length) bad("trailing bytes after the certificate");
  const top = children(cert);
  if (top.length !== 3) bad("Certificate must have 3 fields");
  const [tbsT, algT, sigT] = top;
  if (tbsT.tag !== Tag.SEQUENCE || algT.tag !== Tag.SEQUENCE || sigT.tag !== Tag.BIT_STRING) bad("bad Certificate structure");
  const tbs = children(tbsT);
  let i = 0;
  let version = 1;
  if (tbs[i]?.tag === 0xa0) {
    const v = children(tbs[i]);
    if (v.length !== 1) bad("bad version field");
    version = smallInteger(v[0]) + 1;
    if (version > 3) bad(`unknown version ${version}`);
    i++;
  }
  if (tbs.length < i + 6) bad("tbsCertificate has too few fields");
  const serialT = tbs[i++];
  if (serialT.tag !== Tag.INTEGER) bad("serialNumber must be an INTEGER");
  const serialNumber = value(serialT);
  const innerAlgT = tbs[i++];
  const issuerT = tbs[i++];
  const validityT = tbs[i++];
  const subjectT = tbs[i++];
  const spkiT = tbs[i++];
  if (innerAlgT.tag !== Tag.SEQUENCE || issuerT.tag !== Tag.SEQUENCE || subjectT.tag !== Tag.SEQUENCE) {
    bad("bad tbsCertificate structure");
  }
  if (validityT.tag !== Tag.SEQUENCE) bad("validity must be a SEQUENCE");
  const validity = children(validityT);
  if (validity.length !== 2) bad("validity must have 2 times");
  const notBefore = parseTime(validity[0]);
  const notAfter = parseTime(validity[1]);
  let extensions: CertificateExtension[] = [];
  for (; i < tbs.length; i++) {
    const t = tbs[i];
    if (t.tag === 0x81 || t.tag === 0x82 || t.tag === 0xa1 || t.tag === 0xa2) continue; // unique ids
    if (t.tag === 0xa3) {
      if (version !== 3) bad("extensions in a certificate that is not version 3");
      extensions = parseExtensions(t);
      if (i !== tbs.length - 1) bad("fields after the extensions");
      continue;
    }
    bad(`unexpected field with tag 0x${t.tag.toString(16)} in tbsCertificate`);
  }
  const algItems = children(algT);
  if (algItems.length < 1) bad("empty signature AlgorithmIdentifier");
  const signatureAlgorithm = decodeOid(algItems[0]);
  let publicKey: DecodedPublicKey | undefined;
  try {
    publicKey = decodeSpkiTlv(spkiT, false);
  } catch (e) {
    if (!(e instanceof BbcLibError) || (e.code !== "UNKNOWN_FORMAT" && e.code !== "BAD_CURVE")) {
      bad("bad subjectPublicKeyInfo", e);
    }
    publicKey = undefined; // a key of another kind: parsed, not usable here
  }
  const sigBits = value(sigT);
  if (sigBits.length === 0 || sigBits[0] !== 0) bad("signature BIT STRING with unused bits");
  return {
    version,
    serialNumber,
    tbs: whole(tbsT),
    signatureAlgorithm,
    signatureAlgorithmsMatch: bytesEqual(whole(algT), whole(innerAlgT)),
    issuer: whole(issuerT),
    subject: whole(subjectT),
    notBefore,
    notAfter,
    publicKey,
    signature: sigBits.subarray(1),
    extensions,
  };
}

/** Parses the first "CERTIFICATE" PEM block of `pem` (OpenSSL's PEM_read_bio_X509). */
export function parseCertificatePem(pem: string): CertificateInfo {
  let der: Uint8Array;
  try {
    der = pemDecode(pem, PEM_LABELS).der;
  } catch (e) {
    return bad("no readable CERTIFICATE PEM block", e);
  }
  return parseCertificateDer(der);
}

/**
 * The public key of a certificate (libbbcsig `read_x509`), in the requested form, with its
 * curve. Does not verify the certificate (see {@link verifyCertificate}).
 * Throws `BAD_CERTIFICATE` when it cannot be read or its key is not EC P-256 / secp256k1.
 */
export function readCertificatePublicKey(certPem: string, compressed = false): DecodedPublicKey {
  const info = parseCertificatePem(certPem);
  if (info.publicKey === undefined) bad("the certificate's key is not an EC key on P-256 or secp256k1");
  const { curve, publicKey } = info.publicKey;
  if (!compressed) return { curve, publicKey };
  const out = new Uint8Array(33);
  out[0] = 0x02 | (publicKey[64] & 1);
  out.set(publicKey.subarray(1, 33), 1);
  return { curve, publicKey: out };
}

/** ECDSA-Sig-Value DER -> 64-byte r || s, or null when malformed or out of range. */
function ecdsaSigToRaw(sig: Uint8Array): Uint8Array | null {
  try {
    const seq = expectTlv(sig, 0, Tag.SEQUENCE, sig.length);
    if (seq.end !== sig.length) return null;
    const items = children(seq);
    if (items.length !== 2) return null;
    const r = unsignedIntegerBytes(items[0]);
    const s = unsignedIntegerBytes(items[1]);
    if (r.length > 32 || s.length > 32) return null;
    const out = new Uint8Array(64);
    out.set(r, 32 - r.length);
    out.set(s, 64 - s.length);
    return out;
  } catch {
    return null;
  }
}

function findExt(info: CertificateInfo, oid: string): CertificateExtension | undefined {
  return info.extensions.find((e) => e.oid === oid);
}

/** OpenSSL 1.1's "is this certificate self-signed" (EXFLAG_SS), without the signature. */
function isSelfIssued(info: CertificateInfo): boolean {
  if (!bytesEqual(info.subject, info.issuer)) return false;
  const akidExt = findExt(info, OID_AUTHORITY_KEY_ID);
  if (akidExt !== undefined) {
    // AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier, [1] authorityCertIssuer, [2] serial }
    const akid = expectTlv(akidExt.value, 0, Tag.SEQUENCE, akidExt.value.length);
    for (const f of children(akid)) {
      if (f.tag === 0x80) {
        const skidExt = findExt(info, OID_SUBJECT_KEY_ID);
        if (skidExt !== undefined) {
          const skid = expectTlv(skidExt.value, 0, Tag.OCTET_STRING, skidExt.value.length);
          if (!bytesEqual(value(skid), value(f))) return false;
        }
      } else if (f.tag === 0x82) {
        if (!bytesEqual(value(f), info.serialNumber)) return false;
      } else if (f.tag === 0xa1) {
        // The first directoryName ([4]) among the GeneralNames must be our issuer.
        const dir = children(f).find((g) => g.tag === 0xa4);
        if (dir !== undefined) {
          const names = children(dir);
          if (names.length !== 1 || !bytesEqual(whole(names[0]), info.issuer)) return false;
        }
      }
    }
  }
  const ku = findExt(info, OID_KEY_USAGE);
  if (ku !== undefined) {
    const bits = expectTlv(ku.value, 0, Tag.BIT_STRING, ku.value.length);
    const v = value(bits);
    // keyCertSign is bit 5: 0x04 of the first content byte after the unused-bits count.
    if (v.length < 2 || (v[1] & 0x04) === 0) return false;
  }
  return true;
}

function signatureVerifies(info: CertificateInfo): boolean {
  if (!info.signatureAlgorithmsMatch || info.publicKey === undefined) return false;
  const hash = HASHES[info.signatureAlgorithm];
  if (hash === undefined) return false;
  const raw = ecdsaSigToRaw(info.signature);
  if (raw === null) return false;
  const { curve, publicKey } = info.publicKey;
  return nobleBackend.verifyDigest(curve, publicKey, hash(info.tbs), raw);
}

/**
 * libbbcsig `verify_x509`: true when the certificate is self-signed, its signature verifies
 * with its own key, it is valid at `now` (default: the current time) and, if `privateKeyPem`
 * is given (and not empty), that private key's public key is the certificate's.
 * Any parse failure gives false; this function does not throw.
 */
export function verifyCertificate(certPem: string, privateKeyPem?: string, now: Date = new Date()): boolean {
  try {
    const info = parseCertificatePem(certPem);
    if (info.publicKey === undefined) return false;
    for (const e of info.extensions) {
      if (e.critical && !SUPPORTED_CRITICAL.has(e.oid)) return false; // unhandled critical extension
      if (e.oid === OID_PROXY_CERT_INFO) return false; // proxy certificates not allowed
    }
    if (!isSelfIssued(info)) return false; // issuer unknown: nothing to verify it with
    const t = Math.floor(now.getTime() / 1000) * 1000; // OpenSSL compares whole seconds
    if (!(info.notBefore.getTime() <= t)) return false; // not yet valid
    if (!(t < info.notAfter.getTime())) return false; // expired
    if (!signatureVerifies(info)) return false;
    if (privateKeyPem !== undefined && privateKeyPem !== null && privateKeyPem.length > 0) {
      // X509_check_private_key: same curve, same point.
      const { curve, privateKey } = privateKeyFromPem(privateKeyPem);
      if (curve !== info.publicKey.curve) return false;
      const derived = nobleBackend.getPublicKey(curve, privateKey, false);
      if (!bytesEqual(derived, info.publicKey.publicKey)) return false;
    }
    return true;
  } catch {
    return false;
  }
}
