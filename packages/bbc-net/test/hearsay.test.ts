/**
 * Neighbour lists are hearsay: a node that announced NOTIFY_LEAVE is not brought back by a peer
 * that still lists it, and a peer's stale entry does not override what a node told us itself
 * (a node restarted on another port). Frames are fed through `handleFrame` on the test clock.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { encodeMessage, type WireMessage } from "@bbc1/wire";
import { BBcNetwork, ManualScheduler, buildNeighborListMessage, buildNotifyLeave, encodeNeighborList, sealAdmin, type NetworkDomain, type PeerAddress } from "../src/index.js";

const DOMAIN = new Uint8Array(randomBytes(32));
const id = () => new Uint8Array(randomBytes(32));
const from = (port: number): PeerAddress => ({ transport: "udp", address: "127.0.0.1", family: 4, port });

let net: BBcNetwork | undefined;
afterEach(async () => {
  await net?.close({ notifyLeave: false });
  net = undefined;
});

async function node(): Promise<{ net: BBcNetwork; domain: NetworkDomain; clock: ManualScheduler }> {
  const clock = new ManualScheduler(1_000_000);
  net = new BBcNetwork({ host4: "127.0.0.1", port: 0, scheduler: clock });
  await net.start();
  return { net, domain: net.createDomain(DOMAIN), clock };
}

let seq = 10;
function listFrom(sender: Uint8Array, me: Uint8Array, entries: Array<{ nodeId: Uint8Array; port: number }>): Uint8Array {
  const list = encodeNeighborList(entries.map((e) => ({ nodeId: e.nodeId, ipv4: "127.0.0.1", ipv6: "::", port: e.port, domain0: false, updatedAt: 0n })));
  const msg: WireMessage = sealAdmin(buildNeighborListMessage(DOMAIN, list), seq++, undefined);
  msg.destination_node_id = me;
  msg.source_node_id = sender;
  return encodeMessage(2, msg);
}

function leaveFrom(sender: Uint8Array, me: Uint8Array): Uint8Array {
  const msg: WireMessage = sealAdmin(buildNotifyLeave(DOMAIN, sender, new Uint8Array(32)), seq++, undefined);
  msg.destination_node_id = me;
  msg.source_node_id = sender;
  return encodeMessage(2, msg);
}

describe("neighbour lists are hearsay", () => {
  it("a node that left is not re-added by a peer's list until it contacts us again", async () => {
    const { net, domain } = await node();
    const peer = id();
    const gone = id();
    net.handleFrame(listFrom(peer, domain.nodeId, [{ nodeId: peer, port: 7001 }, { nodeId: gone, port: 7002 }]), from(7001));
    expect(domain.neighbors.get(gone)?.port).toBe(7002);
    net.handleFrame(leaveFrom(gone, domain.nodeId), from(7002));
    expect(domain.neighbors.get(gone)).toBeUndefined();
    // the peer has not processed the leave yet and still lists it
    net.handleFrame(listFrom(peer, domain.nodeId, [{ nodeId: peer, port: 7001 }, { nodeId: gone, port: 7002 }]), from(7001));
    expect(domain.neighbors.get(gone)).toBeUndefined();
    // it comes back itself: a neighbour again
    net.handleFrame(listFrom(gone, domain.nodeId, [{ nodeId: gone, port: 7003 }]), from(7003));
    expect(domain.neighbors.get(gone)?.port).toBe(7003);
  });

  it("what a node said itself beats a peer's stale entry, until that first-hand word is old", async () => {
    const { net, domain, clock } = await node();
    const peer = id();
    const moved = id();
    net.handleFrame(listFrom(peer, domain.nodeId, [{ nodeId: peer, port: 7001 }, { nodeId: moved, port: 7002 }]), from(7001));
    // the node restarted on port 7005 and spoke to us from there
    net.handleFrame(listFrom(moved, domain.nodeId, [{ nodeId: moved, port: 7005 }, { nodeId: peer, port: 7001 }]), from(7005));
    expect(domain.neighbors.get(moved)?.port).toBe(7005);
    net.handleFrame(listFrom(peer, domain.nodeId, [{ nodeId: peer, port: 7001 }, { nodeId: moved, port: 7002 }]), from(7001));
    expect(domain.neighbors.get(moved)?.port).toBe(7005);
    // long silence from it: lists count again
    clock.advance(net.timings.neighborListRefreshMs + 1);
    net.handleFrame(listFrom(peer, domain.nodeId, [{ nodeId: peer, port: 7001 }, { nodeId: moved, port: 7002 }]), from(7001));
    expect(domain.neighbors.get(moved)?.port).toBe(7002);
  });
});
