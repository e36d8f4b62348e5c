/**
 * MANUAL mixed check of v1.1.1's `test_bbc_app_multi_core_many_transactions` itself (not in CI;
 * mixed-domain.test.ts has the bulk variant, 60 inserts per side): a three-node domain, one ORIGINAL
 * v1.1.1 node and two `bbc1-core` processes, one original client (`pyadmin ring-member`) on each.
 * Member i inserts a transaction naming member i+1 (on the next node) as mandatory approver; then,
 * one after the other, each gathers that approver's signature for a second transaction referring
 * to the first (REQUEST_GATHER_SIGNATURE with `transactions`, the signer picks the referenced event)
 * and inserts it; REQUEST_COUNT_TRANSACTIONS on every node counts all of them. The ring covers
 * v1.1.1 → ours, ours → ours and ours → v1.1.1 for the signature round trip.
 *
 *   npm run build
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-ring
 *
 * Skipped when neither BBC1_REF nor BBC1_PYREF is set (mixed.ts says what the setup provides).
 */
import { afterAll, describe, expect, it } from "vitest";
import { REF, establishedKeys, fullMesh, ours, pyadmin, ref, stopAll, until } from "./mixed.js";
import { pyProc, quiet } from "./scenario.js";

afterAll(stopAll, 60_000);

describe.runIf(REF !== undefined)("mixed domain (issue 10): v1.1.1's multi_core_many_transactions on three nodes, one of them v1.1.1", () => {
  it("a ring of reference-based signature gathering across the nodes, then the counts agree on every node", async () => {
    const domain = `mixed-ring-${Date.now()}`;
    const r = await ref("r", domain);
    const a = await ours("a", domain, { config: { network: { encryption: "all" } } });
    const b = await ours("b", domain, { config: { network: { encryption: "all" } } });
    await a.ping(r.p2pPort);
    await b.ping(r.p2pPort);
    await fullMesh([a, b, r], 40_000);
    await until("a and b to hold keys with both others", async () => ((await establishedKeys(a)) === 2 && (await establishedKeys(b)) === 2 ? true : undefined), 30_000);
    const nodes = [r, a, b];
    const members = nodes.map((n, i) => pyProc(n.corePort, domain, ["ring-member", "--user", `m${i}`, "--to", `m${(i + 1) % 3}`, "--asset-group", "ring", "--for", "120"]));
    try {
      for (const m of members) await m.count("ready", 1);
      await quiet(1500);
      const fails: string[] = [];
      for (let i = 0; i < 3; i++) {
        const signer = members[(i + 1) % 3]!;
        const before = signer.all("signed").length;
        members[i]!.signal("SIGUSR1");
        try {
          const [line] = await members[i]!.count("tx2", 1, 30_000);
          const [, txid, status] = line!.split(" ");
          expect(status).toBe("0");
          expect((await signer.count("signed", before + 1))[before]).toBe(`signed ${txid}`);
        } catch (e) {
          fails.push(`m${i} on ${nodes[i]!.kind} gathering from m${(i + 1) % 3} on ${nodes[(i + 1) % 3]!.kind}: ${(e as Error).message}`);
        }
      }
      expect(fails).toEqual([]);
      // test_14_count_transactions, asked on every node once replication has carried all six
      for (const n of nodes) {
        await until(`${n.name} (${n.kind}) to count 6 in the group`, async () => ((await pyadmin(n.corePort, domain, "count", "--user", "counter", "--asset-group", "ring")).trim() === "count 6" ? true : undefined), 20_000, 500);
        expect((await pyadmin(n.corePort, domain, "count", "--user", "counter", "--no-group", "--of", "m1")).trim()).toBe("count 2");
        expect((await pyadmin(n.corePort, domain, "count", "--user", "counter", "--asset-group", "ring", "--of", "m2")).trim()).toBe("count 2");
      }
    } finally {
      for (const m of members) m.kill();
    }
    expect(r.log()).not.toContain("Traceback");
  });
});
