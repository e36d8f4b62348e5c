/**
 * MANUAL check (not in CI) that catch-up never disturbs an ORIGINAL v1.1.1 node: in a domain of
 * one v1.1.1 node and two of ours (encrypted links, as v1.1.1 does once keys are agreed), ours probe
 * the v1.1.1 node with CATCHUP_HELLO (DATA `01 00`, which v1.1.1 ignores), mark only each other as
 * capable, and replication keeps working both ways afterwards (the v1.1.1 receive loops are alive).
 *
 *   npm run build
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-catchup
 */
import { afterAll, describe, expect, it } from "vitest";
import { REF, establishedKeys, fullMesh, hex, ours, pyadmin, ref, sha, stopAll, until } from "./mixed.js";

afterAll(stopAll, 60_000);

const CATCHUP = { catchup_first_delay_ms: 200, catchup_interval_ms: 500, catchup_timeout_ms: 1_000 };

describe.runIf(REF !== undefined)("catch-up next to a v1.1.1 node", () => {
  it("v1.1.1 gets at most 3 HELLOs per node of ours, is never marked capable, and replicates both ways afterwards", async () => {
    const domain = `mixed-catchup-${Date.now()}`;
    const r = await ref("r", domain);
    const config = { network: { encryption: "all", timings: { ...CATCHUP } } };
    const o1 = await ours("o1", domain, { config });
    const o2 = await ours("o2", domain, { config });
    await o1.ping(r.p2pPort);
    await o2.ping(r.p2pPort);
    await fullMesh([o1, o2, r], 60_000);
    await until("ours to hold keys with both others", async () => ((await establishedKeys(o1)) >= 2 && (await establishedKeys(o2)) >= 2 ? true : undefined), 60_000);
    // each of ours probes v1.1.1 three times, then leaves it alone; ours find each other
    for (const o of [o1, o2]) {
      await until(`${o.name} to give up probing v1.1.1`, async () => {
        const s = (await o.stats()).catchup ?? {};
        return (s.hello_sent ?? 0) >= 3 && (s.peers_capable ?? 0) === 1 ? s : undefined;
      }, 30_000);
    }
    const probes = r.trace().filter((t) => t.dir === "in" && t.category === 3 && t.infra_command === 0x0100);
    expect(probes.length).toBeGreaterThanOrEqual(1);
    expect(probes.length).toBeLessThanOrEqual(6);
    expect(r.trace().filter((t) => t.dir === "in" && t.category === 3 && t.infra_command > 0x0100)).toHaveLength(0);
    // v1.1.1 still receives and sends replications
    const ins = await pyadmin(r.corePort, domain, "insert", "--user", "alice", "--body", "after the probes, from v1.1.1");
    const txid = /^txid ([0-9a-f]{64})$/m.exec(ins)![1]!;
    for (const o of [o1, o2]) await until(`${o.name} to find the v1.1.1 insert`, async () => (/^found /m.test(await pyadmin(o.corePort, domain, "search", "--user", "s", "--txid", txid)) ? true : undefined), 20_000, 500);
    const ins2 = await pyadmin(o1.corePort, domain, "insert", "--user", "bob", "--body", "after the probes, from ours");
    const txid2 = /^txid ([0-9a-f]{64})$/m.exec(ins2)![1]!;
    await until("v1.1.1 to find ours", async () => (/^found /m.test(await pyadmin(r.corePort, domain, "search", "--user", "s", "--txid", txid2)) ? true : undefined), 20_000, 500);
    expect(hex(sha(domain)).length).toBe(64);
  }, 240_000);
});
