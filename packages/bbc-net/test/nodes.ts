import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyPair, toHex } from "@bbc1/bbclib";
import type { WireMessage } from "@bbc1/wire";
import { BBcNetwork, domainKeyFileName, type BBcNetworkOptions, type CategoryHandler, type NetTimings, type NetworkDomain, type ReceiveContext } from "../src/index.js";

/** Protocol times shortened for multi-node tests on real sockets (the jitter rules stay). */
export const FAST: Partial<NetTimings> = {
  pingRetryMs: 200,
  pingExpireMs: 2_000,
  keyExchangeInvokeMinMs: 20,
  keyExchangeInvokeMaxMs: 120,
  keyExchangeRetryMs: 300,
  keyObsoleteMs: 500,
  advertiseDelayMs: 200,
  neighborListRefreshMs: 3_000,
};

export const DOMAIN = new Uint8Array(randomBytes(32));

/** Starts a network on 127.0.0.1, ephemeral port, joined to `domain`. */
export async function startNode(
  opts: BBcNetworkOptions & { nodeId?: Uint8Array; domain?: Uint8Array; initialMessageSeq?: number } = {},
): Promise<{ net: BBcNetwork; domain: NetworkDomain }> {
  const net = new BBcNetwork({ host4: "127.0.0.1", port: 0, timings: FAST, ...opts });
  await net.start();
  const domain = net.createDomain(opts.domain ?? DOMAIN, { nodeId: opts.nodeId, initialMessageSeq: opts.initialMessageSeq });
  return { net, domain };
}

/** A USER handler that records what it got. */
export class Recorder implements CategoryHandler {
  readonly got: Array<{ msg: WireMessage; ctx: ReceiveContext }> = [];
  handle(msg: WireMessage, ctx: ReceiveContext): void {
    this.got.push({ msg, ctx });
  }
}

/** A domain key directory holding one fresh P-256 key for `domainId`. */
export function domainKeyDir(domainId: Uint8Array, key = KeyPair.generate()): { directory: string; key: KeyPair } {
  const directory = mkdtempSync(join(tmpdir(), "bbc1-net-dk-"));
  writeFileSync(join(directory, domainKeyFileName(domainId)), key.getPrivateKeyPem());
  return { directory, key };
}

export function knows(a: NetworkDomain, b: NetworkDomain): boolean {
  return a.neighbors.get(b.nodeId) !== undefined;
}

export function hex(b: Uint8Array): string {
  return toHex(b);
}
