/**
 * @bbc1/wire throughput: encode/decode of a typical REQUEST_INSERT message (msgpack, ~560-byte
 * frame: base keys + a 420-byte transaction), the same through AES-CTR (payload type 3), TLV,
 * and a MessageParser / FrameParser fed 64 KiB chunks of a stream of large (1 MiB) and of
 * small frames.
 * Targets: >= 300k small messages/s decoded; parser >= 500 MB/s on large frames.
 */
import { measure, type BenchRow } from "../../../bench/harness.js";
import {
  FrameParser,
  KeyRegistry,
  MessageParser,
  MsgType,
  clientRequest,
  decodeFrame,
  encodeMessage,
  type WireMessage,
} from "../src/index.js";

function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17 + 7) & 0xff;
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function chunked(stream: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += size) out.push(stream.subarray(i, i + size));
  return out;
}

const MiB = 1024 * 1024;

/**
 * Wraps `measure` and adds the throughput per CPU-second of this process to the note, so the
 * figure stays meaningful when the machine is shared (wall-clock ops/s drops under load, CPU
 * time per op does not).
 */
function measureCpu(name: string, fn: () => unknown, options: { ms?: number; batch?: number; note?: string; unit?: number; unitName?: string } = {}): BenchRow {
  const unit = options.unit ?? 1;
  let calls = 0;
  const counted = () => {
    calls++;
    return fn();
  };
  const c0 = process.cpuUsage();
  const row = measure(name, counted, options);
  const c = process.cpuUsage(c0);
  const cpuSec = (c.user + c.system) / 1e6;
  const perCpu = (calls * unit) / cpuSec;
  const fmt = perCpu >= 1e6 ? `${(perCpu / 1e6).toFixed(2)}M` : perCpu >= 1e3 ? `${(perCpu / 1e3).toFixed(0)}k` : perCpu.toFixed(1);
  const cpuNote = `${fmt} ${options.unitName ?? "ops"}/CPU-s`;
  return { ...row, note: options.note ? `${options.note}; ${cpuNote}` : cpuNote };
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const insert: WireMessage = {
    ...clientRequest({
      command: MsgType.REQUEST_INSERT,
      domainId: filled(32, 1),
      sourceUserId: filled(32, 2),
      queryId: new Uint8Array([0x12, 0x34]),
    }),
    transaction_data: filled(420, 3),
  };
  const frame = encodeMessage(2, insert);
  const tlvFrame = encodeMessage(0, insert);
  const size = `${frame.length}-byte frame`;

  rows.push(measureCpu("encode REQUEST_INSERT msgpack", () => encodeMessage(2, insert), { batch: 100, note: size }));
  rows.push(measureCpu("decode REQUEST_INSERT msgpack", () => decodeFrame(frame), { batch: 100, note: size }));
  rows.push(measureCpu("encode REQUEST_INSERT TLV", () => encodeMessage(0, insert), { batch: 100, note: `${tlvFrame.length}-byte frame` }));
  rows.push(measureCpu("decode REQUEST_INSERT TLV", () => decodeFrame(tlvFrame), { batch: 100, note: `${tlvFrame.length}-byte frame` }));

  // Encrypted: one sender and one receiver registry sharing a key; frames decrypted in order.
  const key = filled(32, 4);
  const nonce = filled(16, 5);
  const a = new Uint8Array([1, 2, 3, 4]);
  const b = new Uint8Array([5, 6, 7, 8]);
  const sender = new KeyRegistry();
  sender.setCipher(a, key, nonce, b);
  const receiver = new KeyRegistry();
  receiver.setCipher(b, key, nonce, a);
  rows.push(
    measureCpu("encode+decode REQUEST_INSERT encrypted", () => decodeFrame(encodeMessage(3, insert, { registry: sender, keyName: a }), { registry: receiver }), {
      batch: 50,
      note: "AES-256-CTR, continuous stream",
    }),
  );

  // Small frames through a MessageParser, 64 KiB chunks.
  const smallCount = Math.floor((4 * MiB) / frame.length);
  const smallStream = concat(Array.from({ length: smallCount }, () => frame));
  const smallChunks = chunked(smallStream, 64 * 1024);
  const small = measureCpu(
    "MessageParser small frames, 64 KiB chunks",
    () => {
      const p = new MessageParser();
      let n = 0;
      for (const c of smallChunks) for (const m of p.feed(c)) if (m.ok) n++;
      if (n !== smallCount) throw new Error(`parsed ${n} of ${smallCount}`);
    },
    { ms: 1500, unit: smallCount, unitName: "messages" },
  );
  rows.push({ ...small, name: small.name, opsPerSec: small.opsPerSec * smallCount, p50us: undefined, p99us: undefined, note: `messages/s; ${((small.opsPerSec * smallStream.length) / MiB).toFixed(0)} MiB/s; ${small.note}` });

  // Large frames: 16 frames of 1 MiB (one transaction_data value each), 64 KiB chunks.
  const big = encodeMessage(2, { ...insert, transaction_data: filled(MiB, 6) });
  const bigStream = concat(Array.from({ length: 16 }, () => big));
  const bigChunks = chunked(bigStream, 64 * 1024);
  const mbps = (row: BenchRow) => `${((row.opsPerSec * bigStream.length) / 1e6).toFixed(0)} MB/s`;
  const fp = measureCpu(
    "FrameParser 1 MiB frames, 64 KiB chunks",
    () => {
      const p = new FrameParser();
      let n = 0;
      for (const c of bigChunks) for (const _f of p.frames(c)) n++;
      if (n !== 16) throw new Error(`parsed ${n} of 16`);
    },
    { ms: 1500, unit: bigStream.length / 1e6, unitName: "MB" },
  );
  rows.push({ ...fp, note: `${mbps(fp)} (framing only); ${fp.note}` });
  const mp = measureCpu(
    "MessageParser 1 MiB frames, 64 KiB chunks",
    () => {
      const p = new MessageParser();
      let n = 0;
      for (const c of bigChunks) for (const m of p.feed(c)) if (m.ok) n++;
      if (n !== 16) throw new Error(`parsed ${n} of 16`);
    },
    { ms: 1500, unit: bigStream.length / 1e6, unitName: "MB" },
  );
  rows.push({ ...mp, note: `${mbps(mp)} (framing + msgpack decode); ${mp.note}` });
  return rows;
}
