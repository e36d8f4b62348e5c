/**
 * The floors under a durable insert on this machine, measured with bare loops of the same work, so the e2e rows
 * (e2e.bench.ts) can be read against them in the same sitting:
 * - an fdatasync of a small append to a preallocated file (the commit log's commit), inline and on libuv's pool;
 * - a P-256 verification through OpenSSL (one core);
 * - a loopback TCP round trip between two processes (64 bytes each way).
 * A sequential durable insert cannot be quicker than round trip + verification + fdatasync.
 * BBC1_BENCH_MS sets the time per row (default 2000).
 */
import { spawn } from "node:child_process";
import { createSign, createVerify, generateKeyPairSync, verify as cverify } from "node:crypto";
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quantile, track, type BenchRow } from "./node-harness.js";

const MS = Number(process.env.BBC1_BENCH_MS ?? 2000);

function row(name: string, lat: number[], seconds: number, note?: string): BenchRow {
  const s = [...lat].sort((a, b) => a - b);
  return { name, opsPerSec: lat.length / seconds, p50us: quantile(s, 0.5), p99us: quantile(s, 0.99), note };
}

async function fsyncRows(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "bbc1-bounds-"));
  const fd = openSync(join(dir, "log"), "w+");
  try {
    // preallocated, as the commit log's segments: the fdatasync need not journal a new size
    ftruncateSync(fd, 64 << 20);
    const rec = Buffer.alloc(300, 7);
    let pos = 0;
    const inline: number[] = [];
    let t0 = performance.now();
    while (performance.now() - t0 < MS) {
      const a = performance.now();
      writeSync(fd, rec, 0, rec.length, pos);
      pos += rec.length;
      fdatasyncSync(fd);
      inline.push((performance.now() - a) * 1000);
    }
    const inlineSecs = (performance.now() - t0) / 1000;
    const pool: number[] = [];
    t0 = performance.now();
    while (performance.now() - t0 < MS) {
      const a = performance.now();
      writeSync(fd, rec, 0, rec.length, pos);
      pos += rec.length;
      await new Promise<void>((res, rej) => fdatasync(fd, (e) => (e ? rej(e) : res())));
      pool.push((performance.now() - a) * 1000);
    }
    const poolSecs = (performance.now() - t0) / 1000;
    return [
      row("bound: write 300 B + fdatasync, inline (preallocated file)", inline, inlineSecs, `directory ${tmpdir()}`),
      row("bound: write 300 B + fdatasync on libuv's pool (awaited)", pool, poolSecs),
    ];
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

function verifyRow(): BenchRow {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const msg = Buffer.alloc(32, 1);
  const sig = createSign("sha256").update(msg).sign({ key: privateKey, dsaEncoding: "ieee-p1363" });
  if (!createVerify("sha256").update(msg).verify({ key: publicKey, dsaEncoding: "ieee-p1363" }, sig)) throw new Error("verify self-check failed");
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < MS) {
    const a = performance.now();
    for (let i = 0; i < 10; i++) cverify("sha256", msg, { key: publicKey, dsaEncoding: "ieee-p1363" }, sig);
    lat.push(((performance.now() - a) * 1000) / 10);
  }
  const secs = (performance.now() - t0) / 1000;
  return { ...row("bound: P-256 verify (OpenSSL, one thread)", lat, secs), opsPerSec: (lat.length * 10) / secs };
}

async function rttRow(): Promise<BenchRow> {
  // the echo server is a process of its own, as the node is for its clients
  const server = track(spawn(process.execPath, ["-e", "const s=require('net').createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))}).listen(0,'127.0.0.1',()=>console.log(s.address().port))"], { stdio: ["ignore", "pipe", "inherit"] }));
  try {
    const port = await new Promise<number>((res) => server.stdout!.once("data", (d: Buffer) => res(Number(d.toString().trim()))));
    const sock = connect(port, "127.0.0.1");
    sock.setNoDelay(true);
    await new Promise<void>((res) => sock.once("connect", () => res()));
    const msg = Buffer.alloc(64, 1);
    const lat: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < MS) {
      const a = performance.now();
      await new Promise<void>((res) => {
        let got = 0;
        const on = (d: Buffer) => {
          got += d.length;
          if (got >= msg.length) {
            sock.off("data", on);
            res();
          }
        };
        sock.on("data", on);
        sock.write(msg);
      });
      lat.push((performance.now() - a) * 1000);
    }
    const secs = (performance.now() - t0) / 1000;
    sock.destroy();
    return row("bound: loopback TCP round trip, 64 B, two processes", lat, secs);
  } finally {
    server.kill("SIGKILL");
  }
}

export async function run(): Promise<BenchRow[]> {
  return [...(await fsyncRows()), verifyRow(), await rttRow()];
}
