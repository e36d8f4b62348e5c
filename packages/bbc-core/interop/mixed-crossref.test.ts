/**
 * MANUAL mixed check of issue 11 (not in CI): cross references between a domain served by
 * `bbc1-core` processes and a domain served by ORIGINAL v1.1.1 nodes, one domain0 node in each
 * (p2p-protocol.md §11). A transaction of the domain on ours is verified through the domain on
 * v1.1.1 and the other way round. Fast domain0 constants on both sides, as v1.1.1's
 * test_cross_ref sets them in-process (the reference gets them through `BBC1_PYREF_SET`).
 *
 *   npm run build
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-crossref
 */
import { afterAll, describe, expect, it } from "vitest";
import { DOMAIN_GLOBAL_0, KeyPair, addEventAsset, makeTransaction } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";
import { OUR_TIMINGS, REF, fullMesh, hex, ours, pyClient, pyadmin, ref, sha, sleep, stopAll, until } from "./mixed.js";

afterAll(stopAll, 60_000);

const D0 = "bbc1.core.domain0_manager:Domain0Manager";
const REF_ENV = {
  BBC1_PYREF_SET: [`${D0}.DOMAIN_INFO_ADVERTISE_INTERVAL=4`, `${D0}.CROSS_REF_PROBABILITY=1`, `${D0}.NUM_OF_COPIES=1`, "bbc1.core.user_message_routing:UserMessageRouting.MAX_CROSS_REF_STOCK=0"].join(";"),
};
const OUR_CONFIG = {
  network: {
    domain0: { cross_ref_probability: 1, max_cross_ref_stock: 0 },
    timings: { ...OUR_TIMINGS, domain0_advertise_ms: 4_000, domain0_first_advertise_ms: 1_000 },
  },
};

describe.runIf(REF !== undefined)("mixed domains (issue 11): cross references across the implementations", () => {
  it("a transaction of a domain on ours verifies through a domain on v1.1.1, and the other way round", async () => {
    const t = Date.now();
    const A = `mixed-xref-A-${t}`; // ours: a0 (domain0), a1
    const B = `mixed-xref-B-${t}`; // v1.1.1: b0 (domain0), b1
    const a0 = await ours("a0", A, { config: OUR_CONFIG, args: ["--domain0"] });
    const a1 = await ours("a1", A, { config: OUR_CONFIG });
    const b0 = await ref("b0", B, { args: ["--domain0"], env: REF_ENV });
    const b1 = await ref("b1", B, { env: REF_ENV });
    await a1.ping(a0.p2pPort);
    await b1.ping(b0.p2pPort);
    await a0.admin.sendDomainPing(DOMAIN_GLOBAL_0, "127.0.0.1", null, b0.p2pPort);
    await fullMesh([a0, a1]);
    await fullMesh([b0, b1]);
    await until("a0 and b0 to meet in domain_global_0", async () => ((await a0.admin.getDomainNeighborlist(DOMAIN_GLOBAL_0)).length === 2 ? true : undefined), 30_000);
    const fails: string[] = [];
    const key = KeyPair.generate();
    const signed = (user: string, group: string, text: string, c?: BBcAppClient) => {
      const tx = makeTransaction({ eventNum: 1, witness: true });
      addEventAsset(tx, 0, sha(group), sha(user), { assetBody: text });
      c?.includeCrossRef(tx);
      tx.witness!.addWitness(sha(user));
      tx.addSignature(sha(user), tx.sign(key));
      tx.digest();
      return tx;
    };

    // 1. A (ours) -> B (v1.1.1): alice inserts in A until bob (original client on b1) gets one of her ids
    const alice = await BBcAppClient.connect({ port: a0.corePort, domainId: sha(A), userId: sha("alice"), requestTimeoutMs: 20_000 });
    await alice.register();
    const bob = pyClient(b1.corePort, B, ["cross-ref-insert", "--user", "bob", "--for", "60"]);
    try {
      await bob.line("ready");
      for (let i = 0; !bob.lines.some((l) => l.startsWith("cross_ref ")) && i < 60; i++) {
        await alice.insertTransaction(signed("alice", "ga", `A's record ${i}`));
        await sleep(500);
      }
      const [, dom, crossed] = (await bob.line("cross_ref ", 5_000)).split(" ");
      expect(dom).toBe(hex(sha(A)));
      await bob.line("txid ", 20_000); // bob's transaction in B carries it; b0 sees it (replication) and tells a0
      await until("a0 to list the crossed transaction as a cross-ref holder", async () => ((await alice.requestCrossRefHoldersList()).some((x) => hex(x) === crossed) ? true : undefined), 40_000, 500);
      const proof = await alice.requestVerifyByCrossRef(Buffer.from(crossed!, "hex"));
      // `verified` (bbclib's verifyUsingCrossRef over the answer) comes with the domain0 work
      expect((proof as unknown as { verified?: boolean }).verified).toBe(true);
    } catch (e) {
      fails.push(`A on ours verified through B on v1.1.1: ${(e as Error).message}; bob: ${bob.lines.join(" | ")}`);
    } finally {
      bob.kill();
      await alice.close();
    }

    // 2. B (v1.1.1) -> A (ours): dave inserts in B until carol (TS client on a1) gets one of his ids
    const carol = await BBcAppClient.connect({ port: a1.corePort, domainId: sha(A), userId: sha("carol"), requestTimeoutMs: 20_000 });
    await carol.register();
    try {
      for (let i = 0; carol.crossRefList.length === 0 && i < 60; i++) {
        await pyadmin(b0.corePort, B, "insert", "--user", "dave", "--asset-group", "gb", "--body", `B's record ${i}`);
        await sleep(300);
      }
      expect(carol.crossRefList.length).toBeGreaterThan(0);
      const xr = carol.crossRefList[0]!;
      expect(hex(xr.domainId!)).toBe(hex(sha(B)));
      const crossed = hex(xr.transactionId!);
      await carol.insertTransaction(signed("carol", "ga", "A's record with B's cross ref", carol));
      // asked on b1: v1.1.1 sends REQUEST_VERIFY to a domain0 node among its neighbours, so a client
      // of the domain0 node itself gets no answer there (its own test_cross_ref asks on other nodes)
      await until("b1 to list the crossed transaction as a cross-ref holder", async () => ((await pyadmin(b1.corePort, B, "cross-ref-list", "--user", "dave")).includes(crossed) ? true : undefined), 40_000, 1000);
      expect(await pyadmin(b1.corePort, B, "verify-cross-ref", "--user", "dave", "--txid", crossed, "--timeout", "30")).toMatch(/^verify_cross_ref verified$/m);
    } catch (e) {
      fails.push(`B on v1.1.1 verified through A on ours: ${(e as Error).message}`);
    } finally {
      await carol.close();
    }
    expect(fails).toEqual([]);
    expect(b0.log()).not.toContain("Traceback");
    expect(b1.log()).not.toContain("Traceback");
  });
});
