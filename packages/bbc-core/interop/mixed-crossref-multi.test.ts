/**
 * MANUAL mixed check of issue 11 (not in CI): v1.1.1's test_cross_ref_multi_domain0nodes with the
 * implementations mixed. Two domains, each served by two domain0 nodes, one `bbc1-core` process
 * and one ORIGINAL v1.1.1 node; all four meet in domain_global_0 (p2p-protocol.md §11). Every hop
 * of a cross reference can then land on either implementation: ADV_DOMAIN_LIST between all four,
 * DISTRIBUTE_CROSS_REF from both domain0 nodes of the origin (each inserts the transaction) to a
 * random domain0 node of the other domain, CROSS_REF_ASSIGNMENT to a node of that domain,
 * NOTIFY_CROSS_REF_REGISTERED back to a random domain0 node of the origin, REPLICATION_CROSS_REF
 * to the other one, and REQUEST_VERIFY_FROM_OUTER_DOMAIN to a random domain0 node of the holder.
 * The test needs a crossed transaction in each direction, holders on both implementations across
 * the two directions (a cross ref for each kind of holder is waited for), lists the holders on both nodes of the origin, and verifies each crossed transaction
 * from a client of each implementation several times (the answering node is drawn at random).
 * Fast domain0 constants on both sides, as v1.1.1's test sets them in-process; v1.1.1's acceptance
 * margin recovers after 1 s instead of 600 s (else it assigns only two cross refs per origin domain,
 * and its node hands them to a random registered user, not always the holder this test watches).
 *
 *   npm run build
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-crossref-multi
 */
import { afterAll, describe, expect, it } from "vitest";
import { DOMAIN_GLOBAL_0, KeyPair, addEventAsset, makeTransaction, type BBcTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { OUR_TIMINGS, REF, fullMesh, hex, ours, pyClient, pyadmin, ref, sha, sleep, stopAll, until, type OursNode, type RefNode, type TraceLine } from "./mixed.js";

afterAll(stopAll, 60_000);

const D0 = "bbc1.core.domain0_manager:Domain0Manager";
const REF_ENV = {
  BBC1_PYREF_SET: [`${D0}.DOMAIN_INFO_ADVERTISE_INTERVAL=4`, `${D0}.CROSS_REF_PROBABILITY=1`, `${D0}.NUM_OF_COPIES=1`, `${D0}.DOMAIN_ACCEPTANCE_RECOVER_INTERVAL=1`, "bbc1.core.user_message_routing:UserMessageRouting.MAX_CROSS_REF_STOCK=0"].join(";"),
};
const OUR_CONFIG = {
  network: {
    domain0: { cross_ref_probability: 1, max_cross_ref_stock: 0 },
    timings: { ...OUR_TIMINGS, domain0_advertise_ms: 4_000, domain0_first_advertise_ms: 1_000 },
  },
};
const G0 = "00".repeat(32);
/** v1.1.1's domain0 commands (domain0_manager.py), as the trace shows them. */
const CMD = { ADV_DOMAIN_LIST: 0, DISTRIBUTE_CROSS_REF: 1, NOTIFY_CROSS_REF_REGISTERED: 2, REQUEST_VERIFY: 4, REQUEST_VERIFY_FROM_OUTER_DOMAIN: 5, RESPONSE_VERIFY_FROM_OUTER_DOMAIN: 6 } as const;
const DOMAIN0 = 4;
const VERIFY_ROUNDS = 4;

interface Side {
  name: string;
  o: OursNode;
  r: RefNode;
}

/** Node ids are per domain (v1.1.1 draws one per domain): each node's id in domain_global_0. */
const g0Ids = new Map<string, string>();

/** domain0 frames in `r`'s trace with peer `peer` (its domain_global_0 id), per command name and direction. */
function domain0Frames(r: RefNode, peer: OursNode): Record<string, number> {
  const out: Record<string, number> = {};
  const peerHex = g0Ids.get(peer.name)!;
  for (const l of r.trace() as TraceLine[]) {
    if (l.category !== DOMAIN0 || (l.src !== peerHex && l.dst !== peerHex)) continue;
    const name = Object.entries(CMD).find(([, v]) => v === l.command)?.[0] ?? String(l.command);
    const k = `${l.dir === "in" ? `${peer.name}->${r.name}` : `${r.name}->${peer.name}`} ${name}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe.runIf(REF !== undefined)("mixed domains (issue 11): two domain0 nodes per domain, one of each implementation", () => {
  it("cross refs of each domain are held by clients of both implementations in the other, listed on both origin nodes, and verified from clients of both", async () => {
    const t = Date.now();
    const A: Side = { name: `mxm-A-${t}`, o: await ours("oA", `mxm-A-${t}`, { config: OUR_CONFIG, args: ["--domain0"] }), r: await ref("rA", `mxm-A-${t}`, { args: ["--domain0"], env: REF_ENV }) };
    const B: Side = { name: `mxm-B-${t}`, o: await ours("oB", `mxm-B-${t}`, { config: OUR_CONFIG, args: ["--domain0"] }), r: await ref("rB", `mxm-B-${t}`, { args: ["--domain0"], env: REF_ENV }) };
    const all = [A.o, A.r, B.o, B.r];
    await A.o.ping(A.r.p2pPort);
    await B.r.ping(B.o.p2pPort);
    await fullMesh([A.o, A.r]);
    await fullMesh([B.o, B.r]);
    // v1.1.1 learns ours' domain0 flag from ours' neighbour lists (every few seconds here); ours learns
    // v1.1.1's only from the one list v1.1.1 sends when a neighbour appears (next one 200-400 s later),
    // which is sometimes missed: that side is recorded, not required (cross refs do not need it)
    const notes: string[] = [];
    for (const s of [A, B]) {
      await until(`${s.r.name} to flag ${s.o.name} domain0`, async () => ((await s.r.neighbors()).every((e) => e.domain0) ? true : undefined), 30_000);
      const seen = await until(`${s.o.name} to flag ${s.r.name} domain0`, async () => ((await s.o.neighbors()).every((e) => e.domain0) ? true : undefined), 10_000).catch(() => false);
      if (seen !== true) notes.push(`${s.o.name} did not see ${s.r.name}'s domain0 flag within 10 s`);
    }
    // domain_global_0 as v1.1.1's test builds it: everyone pings one node (rA); the lists do the rest
    await A.o.admin.sendDomainPing(DOMAIN_GLOBAL_0, "127.0.0.1", null, A.r.p2pPort);
    await B.o.admin.sendDomainPing(DOMAIN_GLOBAL_0, "127.0.0.1", null, A.r.p2pPort);
    await pyadmin(B.r.corePort, "g0", "--domain-id", G0, "ping", "--ip4", "127.0.0.1", "--p2pport", String(A.r.p2pPort));
    const g0Count = async (n: OursNode | RefNode): Promise<number> =>
      n.kind === "ours" ? (await n.admin.getDomainNeighborlist(DOMAIN_GLOBAL_0)).length : (await pyadmin(n.corePort, "g0", "--domain-id", G0, "neighbors")).split("\n").filter((l) => l.startsWith("neighbor ")).length;
    for (const n of all) await until(`${n.name} to list all four in domain_global_0`, async () => ((await g0Count(n)) === 4 ? true : undefined), 40_000, 500);
    for (const o of [A.o, B.o]) {
      const c = await BBcAppClient.connect({ port: o.corePort, domainId: DOMAIN_GLOBAL_0, userId: sha("g0-admin"), requestTimeoutMs: 10_000 });
      g0Ids.set(o.name, hex(await c.getNodeId()));
      await c.close();
    }
    // every domain0 node advertises its domain to all others (test_domain_info_adv): the v1.1.1 nodes saw ADV_DOMAIN_LIST both ways with both of ours
    for (const r of [A.r, B.r]) {
      for (const o of [A.o, B.o]) {
        await until(`ADV_DOMAIN_LIST both ways between ${r.name} and ${o.name}`, () => {
          const f = domain0Frames(r, o);
          return (f[`${o.name}->${r.name} ADV_DOMAIN_LIST`] ?? 0) > 0 && (f[`${r.name}->${o.name} ADV_DOMAIN_LIST`] ?? 0) > 0 ? true : undefined;
        }, 30_000, 500);
      }
    }
    await sleep(5_000); // a second round of advertisements: every domain0 node knows the other domain's two nodes

    const key = KeyPair.generate();
    const signed = (user: string, group: string, text: string, c?: BBcAppClient): BBcTransaction => {
      const tx = makeTransaction({ eventNum: 1, witness: true });
      addEventAsset(tx, 0, sha(group), sha(user), { assetBody: text });
      c?.includeCrossRef(tx);
      tx.witness!.addWitness(sha(user));
      tx.addSignature(sha(user), tx.sign(key));
      tx.digest();
      return tx;
    };
    const fails: string[] = [];
    const matrix: string[] = [];
    const heldKinds = new Set<string>();

    /** Transactions of `from` crossed into `to`: a holder on each implementation of `to`, then listed and verified from both nodes of `from`. */
    const direction = async (from: Side, to: Side): Promise<void> => {
      const label = `${from.o.name.slice(1)} -> ${to.o.name.slice(1)}`;
      const inserter = await BBcAppClient.connect({ port: from.o.corePort, domainId: sha(from.name), userId: sha(`ins-${from.name}`), requestTimeoutMs: 20_000 });
      await inserter.register();
      const tsHolder = await BBcAppClient.connect({ port: to.o.corePort, domainId: sha(to.name), userId: sha(`ts-holder-${to.name}`), requestTimeoutMs: 20_000 });
      await tsHolder.register();
      const pyHolder = pyClient(to.r.corePort, to.name, ["cross-ref-insert", "--user", `py-holder-${to.name}`, "--for", "120"]);
      const crossed: { txid: string; heldOn: string; holderTx: string }[] = [];
      try {
        await pyHolder.line("ready");
        await sleep(500);
        // insert in `from`, alternating a TS client on ours and the original client on v1.1.1, until both holders got one
        for (let i = 0; i < 60; i++) {
          const py = pyHolder.lines.some((l) => l.startsWith("cross_ref "));
          if (py && crossed.some((c) => c.heldOn === to.o.name)) break;
          if (tsHolder.crossRefList.length > 0 && !crossed.some((c) => c.heldOn === to.o.name)) {
            const xr = tsHolder.crossRefList[0]!;
            expect(hex(xr.domainId!)).toBe(hex(sha(from.name)));
            const tx = signed(`ts-holder-${to.name}`, "g-holder", `holds ${hex(xr.transactionId!).slice(0, 8)}`, tsHolder);
            await tsHolder.insertTransaction(tx);
            crossed.push({ txid: hex(xr.transactionId!), heldOn: to.o.name, holderTx: hex(tx.transactionId!) });
            continue;
          }
          if (i % 2 === 0) await inserter.insertTransaction(signed(`ins-${from.name}`, "g-origin", `record ${i} of ${from.name} via ours`));
          else await pyadmin(from.r.corePort, from.name, "insert", "--user", `py-ins-${from.name}`, "--asset-group", "g-origin", "--body", `record ${i} of ${from.name} via v1.1.1`);
          await sleep(400);
        }
        const pyLine = await pyHolder.line("cross_ref ", 5_000).catch(() => undefined);
        if (pyLine !== undefined) {
          const [, dom, txid] = pyLine.split(" ");
          expect(dom).toBe(hex(sha(from.name)));
          const holderTx = (await pyHolder.line("txid ", 20_000)).split(" ")[1]!;
          crossed.push({ txid: txid!, heldOn: to.r.name, holderTx });
        }
        // which node of `to` gets an assignment, and which of its users, is drawn at random on both
        // implementations: one holder per direction is required, both kinds across the two directions
        if (crossed.length === 0) fails.push(`${label}: no cross ref reached a client in ${to.name}; v1.1.1's holder printed ${pyHolder.lines.join(" | ")}`);
        for (const c of crossed) heldKinds.add(c.heldOn === to.o.name ? "ours" : "v1.1.1");

        for (const c of crossed) {
          const what = `${label}, ${c.txid.slice(0, 8)} held on ${c.heldOn}`;
          // listed as a cross-ref holder on both nodes of the origin (NOTIFY_CROSS_REF_REGISTERED to one, REPLICATION_CROSS_REF to the other)
          try {
            await until(`${from.o.name} to list ${c.txid.slice(0, 8)}`, async () => ((await inserter.requestCrossRefHoldersList()).some((x) => hex(x) === c.txid) ? true : undefined), 40_000, 500);
            await until(`${from.r.name} to list ${c.txid.slice(0, 8)}`, async () => ((await pyadmin(from.r.corePort, from.name, "cross-ref-list", "--user", "lister")).includes(c.txid) ? true : undefined), 40_000, 1000);
          } catch (e) {
            fails.push(`${what}: ${(e as Error).message}`);
            continue;
          }
          // verified from a TS client on ours (its own manager asks a random domain0 node of `to`)
          // and from the original client on v1.1.1 (REQUEST_VERIFY to its domain0 neighbour: ours)
          let okOurs = 0;
          let okRef = 0;
          for (let k = 0; k < VERIFY_ROUNDS; k++) {
            try {
              const proof = await inserter.requestVerifyByCrossRef(Buffer.from(c.txid, "hex"));
              if ((proof as unknown as { verified?: boolean }).verified === true) okOurs++;
              else fails.push(`${what}: the proof answered on ${from.o.name} does not verify`);
            } catch (e) {
              fails.push(`${what}: verify on ${from.o.name}: ${(e as Error).message}`);
            }
            try {
              const out = await pyadmin(from.r.corePort, from.name, "verify-cross-ref", "--user", "verifier", "--txid", c.txid, "--timeout", "20");
              if (/^verify_cross_ref verified$/m.test(out)) okRef++;
            } catch (e) {
              fails.push(`${what}: verify on ${from.r.name}: ${(e as Error).message.slice(0, 400)}`);
            }
          }
          matrix.push(`${what}: verified ${okOurs}/${VERIFY_ROUNDS} from ${from.o.name} (ours), ${okRef}/${VERIFY_ROUNDS} from ${from.r.name} (v1.1.1)`);
        }
      } finally {
        pyHolder.kill();
        await inserter.close();
        await tsHolder.close();
      }
    };

    await direction(A, B);
    await direction(B, A);
    for (const r of [A.r, B.r]) for (const o of [A.o, B.o]) matrix.push(`${r.name}<->${o.name}: ${JSON.stringify(domain0Frames(r, o))}`);
    console.log(`mixed-crossref-multi:\n  ${[...matrix, ...notes].join("\n  ")}`);
    expect(fails).toEqual([]);
    expect([...heldKinds].sort()).toEqual(["ours", "v1.1.1"]);
    for (const r of [A.r, B.r]) expect(r.log()).not.toContain("Traceback");
  }, 600_000);
});
