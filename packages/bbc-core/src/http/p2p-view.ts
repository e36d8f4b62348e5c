/**
 * The P2P layer as the metrics and the explorer show it: whether the port listens, each
 * neighbour with its key-exchange state, and the bytes on the P2P port (from the network's
 * counters in the node's stats).
 * @module
 */
import { toHex } from "@bbc1/bbclib";
import { KeyExchangeState, type BBcNetwork } from "@bbc1/net";
import type { Domain } from "../domain.js";
import type { BBcStats } from "../stats.js";
import type { NeighbourInfo } from "./api.js";
import type { PeerView } from "./metrics.js";

/** What the HTTP endpoint reads of the P2P layer. */
export interface P2pView {
  /** The P2P port is bound. */
  readonly listening: boolean;
  /** Every neighbour of every domain with its key-exchange state. */
  peers(): PeerView[];
  /** The neighbours of one domain (hex id); empty when the domain has none or is not served. */
  neighbours(domainHex: string): NeighbourInfo[];
  /** Bytes received on the P2P port (TCP and UDP). */
  readonly bytesIn: number;
  /** Bytes sent on the P2P port (TCP and UDP). */
  readonly bytesOut: number;
}

const STATE_NAMES = new Map<number, string>(Object.entries(KeyExchangeState).map(([k, v]) => [v, k.toLowerCase()]));

/** The view of `network` for the node's `domains`. */
export function p2pViewOf(network: BBcNetwork, domains: ReadonlyMap<string, Domain>, stats: BBcStats): P2pView {
  const stateOf = (d: Domain, nodeId: Uint8Array): string => {
    const kx = d.net?.keyExchangeOf(nodeId);
    return kx === undefined ? "none" : (STATE_NAMES.get(kx.state) ?? String(kx.state));
  };
  return {
    listening: network.port > 0,
    peers() {
      const out: PeerView[] = [];
      for (const [hex, d] of domains) for (const n of d.net?.neighbors.nodes() ?? []) out.push({ domain: hex, state: stateOf(d, n.nodeId) });
      return out;
    },
    neighbours(domainHex) {
      const d = domains.get(domainHex);
      if (d?.net == null) return [];
      return d.net.neighbors.nodes().map((n) => ({ node_id: toHex(n.nodeId), ipv4: n.ipv4, ipv6: n.ipv6, port: n.port, is_static: n.isStatic, state: stateOf(d, n.nodeId) }));
    },
    // v1.1.1's counter names: TCP bytes in "message_size_received_by_tcy" (sic), sent frames in "sent_data_size"
    bytesIn: stats.get("network", "message_size_received_by_tcy") + stats.get("network", "received_data_size_by_udp"),
    bytesOut: stats.get("network", "sent_data_size"),
  };
}
