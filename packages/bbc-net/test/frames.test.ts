/**
 * Data-driven tests over every case of fixtures/p2p-frames.json (a byte-identical copy of
 * shared/vectors/p2p-frames.json): frames captured between real v1.1.1 nodes. Cases are read
 * from the file and recognised by their fields, never named.
 */
import { createECDH } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyPair, fromHex, sha256, toHex } from "@bbc1/bbclib";
import {
  AesCtrStream,
  KeyRegistry,
  decodePayload,
  decodeTlv,
  deriveSharedKey,
  encodeMessage,
  encodeMsgpack,
  encodeTlv,
  splitFrame,
  type WireMessage,
} from "@bbc1/wire";
import {
  StreamDecryptor,
  TCP_THRESHOLD_SIZE,
  buildDomainPing,
  buildKeyExchange,
  buildNeighborListMessage,
  buildNotifyLeave,
  decodeNeighborList,
  encodeNeighborList,
  openAdmin,
  sealAdmin,
  type AdminMessage,
  type AdminSigner,
} from "../src/index.js";
import { ip6addrOf, loadFrames, tagMessage, untag, untagMessage, type FrameCase } from "./helpers.js";

const file = loadFrames();
const cases = file.cases;

function signerFor(c: FrameCase): AdminSigner | undefined {
  const keys = Object.values(file.setup.runs[c.run]!.domain_keys).filter((k) => k.domain_id === c.domain_id);
  if (keys.length === 0) return undefined;
  const kp = new KeyPair().fromPrivateKeyPem(keys[0]!.pem);
  return { enabled: true, sign: (b) => kp.sign(sha256(b)), verify: (b, s) => kp.verify(sha256(b), s) };
}

/** The message inside the frame (decrypted at the recorded offset for type 3). */
function plaintextOf(c: FrameCase): Uint8Array {
  const frame = fromHex(c.frame);
  const f = splitFrame(frame);
  if (f.payloadType !== 3) return f.body;
  const e = c.encryption!;
  const s = new AesCtrStream(fromHex(e.key), fromHex(e.initial_counter));
  s.seek(e.keystream_offset);
  return s.update(f.body.subarray(4));
}

describe("p2p-frames.json: every captured frame", () => {
  it("has cases", () => {
    expect(cases.length).toBeGreaterThan(100);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s decodes to `decoded` in key order and re-encodes byte for byte", (_n, c) => {
    const frame = fromHex(c.frame);
    expect(frame.length).toBe(c.frame_length);
    const f = splitFrame(frame);
    expect(f.payloadType).toBe(c.payload_type);
    let msg: WireMessage;
    if (c.payload_type === 3) {
      const e = c.encryption!;
      expect(toHex(f.body.subarray(0, 4))).toBe(e.key_name);
      const plain = plaintextOf(c);
      expect(toHex(plain)).toBe(e.plaintext);
      msg = decodePayload(2, plain);
      // re-encrypt at the same offset and prefix the key name: the frame again
      expect(toHex(encodeMsgpack(msg))).toBe(e.plaintext);
      const reg = new KeyRegistry();
      reg.setCipher(fromHex(e.sender_key_name), fromHex(e.key), fromHex(e.initial_counter), fromHex(e.key_name));
      reg.get(fromHex(e.sender_key_name))!.encryptor.seek(e.keystream_offset);
      expect(toHex(encodeMessage(3, msg, { registry: reg, keyName: fromHex(e.sender_key_name) }))).toBe(c.frame);
    } else {
      msg = decodePayload(f.payloadType, f.body);
      expect(toHex(encodeMessage(2, msg))).toBe(c.frame);
    }
    expect(tagMessage(msg)).toEqual(Object.entries(c.decoded));
  });

  it.each(cases.filter((c) => c.payload_type === 3).map((c) => [c.name, c] as const))(
    "%s decrypts through StreamDecryptor at its keystream offset",
    (_n, c) => {
      const e = c.encryption!;
      const reg = new KeyRegistry();
      const entry = reg.setCipher(fromHex(e.key_name), fromHex(e.key), fromHex(e.initial_counter), fromHex(e.sender_key_name));
      entry.decryptor.seek(e.keystream_offset);
      const d = new StreamDecryptor(reg, 256 * 1024, () => 0).decrypt(splitFrame(fromHex(c.frame)).body, 1 << 26);
      expect(d.offset).toBe(e.keystream_offset);
      expect(d.resynced).toBe(false);
      expect(tagMessage(d.message)).toEqual(Object.entries(c.decoded));
      expect(entry.decryptor.position).toBe(e.keystream_offset + plaintextOf(c).length);
    },
  );

  it.each(cases.filter((c) => c.payload_type === 3 && c.encryption!.keystream_offset > 0).map((c) => [c.name, c] as const))(
    "%s is found by re-synchronisation from a decryptor at position 0",
    (_n, c) => {
      const e = c.encryption!;
      const reg = new KeyRegistry();
      reg.setCipher(fromHex(e.key_name), fromHex(e.key), fromHex(e.initial_counter), fromHex(e.sender_key_name));
      const dec = new StreamDecryptor(reg, Math.max(256 * 1024, e.keystream_offset + 16), () => 0);
      const d = dec.decrypt(splitFrame(fromHex(c.frame)).body, 1 << 26);
      expect(d.offset).toBe(e.keystream_offset);
      expect(d.resynced).toBe(true);
      expect(tagMessage(d.message)).toEqual(Object.entries(c.decoded));
    },
  );

  it.each(cases.filter((c) => c.admin_info_decoded !== undefined).map((c) => [c.name, c] as const))(
    "%s: admin_info decodes, re-encodes and its signature verifies with the run's domain key",
    (_n, c) => {
      const msg = untagMessage(c.decoded);
      const info = msg.admin_info as Uint8Array;
      const part = decodeTlv(info);
      expect(tagMessage(part)).toEqual(Object.entries(c.admin_info_decoded!));
      expect(toHex(encodeTlv(part))).toBe(toHex(info));
      const signer = signerFor(c)!;
      expect(signer.verify(info, msg.nodekey_signature as Uint8Array)).toBe(c.signature_valid);
      // openAdmin merges the signed part over the top level
      const opened = openAdmin({ ...msg }, signer);
      for (const [k, v] of Object.entries(c.admin_info_decoded!)) expect(tagMessage({ [k]: opened[k as keyof WireMessage] } as WireMessage)[0]![1]).toEqual(v);
      // and a tampered admin_info is refused
      const bad = info.slice();
      bad[bad.length - 1]! ^= 1;
      expect(() => openAdmin({ ...msg, admin_info: bad }, signer)).toThrow(/does not verify/);
    },
  );

  it.each(cases.filter((c) => c.neighbor_list_decoded !== undefined).map((c) => [c.name, c] as const))("%s: neighbour entries decode and re-encode", (_n, c) => {
    const msg = openIfSigned(c);
    const bytes = msg.neighbor_list as Uint8Array;
    const entries = decodeNeighborList(bytes);
    expect(
      entries.map((e) => ({ node_id: toHex(e.nodeId), ipv4: e.ipv4, ipv6: e.ipv6, port: e.port, domain0: e.domain0, updated_at: Number(e.updatedAt) })),
    ).toEqual(c.neighbor_list_decoded!.map(({ port_bytes: _p, ...rest }) => rest));
    c.neighbor_list_decoded!.forEach((e, i) => expect(toHex(bytes.subarray(4 + 63 * i + 52, 4 + 63 * i + 54))).toBe(e.port_bytes));
    expect(toHex(encodeNeighborList(entries))).toBe(toHex(bytes));
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s: transport follows the size rule", (_n, c) => {
    expect(c.transport).toBe(c.frame_length > TCP_THRESHOLD_SIZE ? "tcp" : "udp");
  });

  it.each(file.key_exchanges.map((k) => [k.id, k] as const))("key exchange %s: ECDH + HKDF from either side give shared_key", (_n, k) => {
    for (const [priv, pub] of [
      [k.initiator_private_key, k.responder_public_key],
      [k.responder_private_key, k.initiator_public_key],
    ] as const) {
      const ecdh = createECDH("secp384r1");
      ecdh.setPrivateKey(Buffer.from(priv, "hex"));
      expect(ecdh.computeSecret(Buffer.from(pub, "hex")).toString("hex")).toBe(k.ecdh_shared_secret);
      expect(toHex(deriveSharedKey(fromHex(priv), fromHex(pub), fromHex(k.random)))).toBe(k.shared_key);
    }
  });
});

function openIfSigned(c: FrameCase): WireMessage {
  const msg = c.payload_type === 3 ? decodePayload(2, plaintextOf(c)) : untagMessage(c.decoded);
  return msg.admin_info !== undefined ? openAdmin(msg, signerFor(c)!) : msg;
}

/** The admin values of a case (signed part if any, else the top level). */
function adminValues(c: FrameCase): Record<string, unknown> {
  const src = c.admin_info_decoded ?? c.decoded;
  return Object.fromEntries(Object.entries(src).map(([k, v]) => [k, untag(v)]));
}

const BUILT = new Set(["DOMAIN_PING(ping)", "DOMAIN_PING(pong)", "REQUEST_KEY_EXCHANGE", "RESPONSE_KEY_EXCHANGE", "CONFIRM_KEY_EXCHANGE", "NOTIFY_NEIGHBOR_LIST", "NOTIFY_LEAVE"]);

describe("our builders produce the captured frames (random fields taken from the capture)", () => {
  it.each(cases.filter((c) => BUILT.has(c.message)).map((c) => [c.name, c] as const))("%s", (_n, c) => {
    const run = file.setup.runs[c.run]!;
    const sender = run.nodes[c.sender]!;
    const domainId = fromHex(c.domain_id);
    const myNodeId = fromHex(sender.node_ids[c.domain_id]!);
    expect(toHex(myNodeId)).toBe(c.sender_node_id);
    const a = adminValues(c);
    const random = new Set(c.random_fields.map((f) => f.replace(/^admin_info\./, "")));
    const pick = <T>(k: string, fallback: T): T => (random.has(k) ? (a[k] as T) : fallback);
    let m: AdminMessage;
    let dest: Uint8Array | undefined;
    if (c.message.startsWith("DOMAIN_PING")) {
      m = buildDomainPing({
        domainId,
        nodeId: myNodeId,
        domainPing: c.message.endsWith("(pong)") ? 1 : 0,
        nonce: a.nonce as number,
        staticEntry: false, // client DOMAIN_PING is never static (§1.4); the pong echoes it
        externalIp4addr: sender.ipv4,
        externalIp6addr: ip6addrOf(sender.extra_args),
      });
    } else if (c.message.endsWith("KEY_EXCHANGE")) {
      dest = fromHex(c.receiver_node_id!);
      const cmd = c.message.startsWith("REQUEST") ? "request" : c.message.startsWith("RESPONSE") ? "response" : "confirm";
      m = buildKeyExchange(domainId, dest, cmd, { ecdh: a.ecdh as Uint8Array, nonce: a.nonce as Uint8Array, random: a.random as Uint8Array, hint: a.hint as Uint8Array });
    } else if (c.message === "NOTIFY_NEIGHBOR_LIST") {
      dest = fromHex(c.receiver_node_id!);
      m = buildNeighborListMessage(domainId, pick("neighbor_list", new Uint8Array(0)));
    } else {
      dest = fromHex(c.receiver_node_id!);
      m = buildNotifyLeave(domainId, myNodeId, a.nonce as Uint8Array);
    }
    const signer = signerFor(c);
    const msg = sealAdmin(m, a.message_seq as number, signer);
    if (dest !== undefined) msg.destination_node_id = dest;
    msg.source_node_id = myNodeId;
    const captured = c.payload_type === 3 ? decodePayload(2, plaintextOf(c)) : decodePayload(2, splitFrame(fromHex(c.frame)).body);
    if (signer !== undefined) {
      // ECDSA is randomised: ours must verify, then take the captured one to compare bytes.
      expect(signer.verify(msg.admin_info as Uint8Array, msg.nodekey_signature as Uint8Array)).toBe(true);
      expect(toHex(msg.admin_info as Uint8Array)).toBe(toHex(captured.admin_info as Uint8Array));
      msg.nodekey_signature = captured.nodekey_signature!;
    }
    expect(toHex(encodeMsgpack(msg))).toBe(toHex(encodeMsgpack(captured)));
  });
});
