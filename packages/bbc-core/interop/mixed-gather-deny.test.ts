/**
 * MANUAL mixed check of the denial path of signature gathering across the node boundary (not in
 * CI): an original client (`pyadmin deny-for`) on one node answers REQUEST_SIGNATURE with
 * `sendback_denial_of_sign` (RESPONSE_SIGNATURE with status EOTHER and a reason); the requester,
 * the original client on the other node (`pyadmin gather`), gets RESPONSE_GATHER_SIGNATURE with
 * the negative status and the reason. Both ways.
 *
 *   npm run build
 *   BBC1_REF=/work/pyref npx vitest run -c packages/bbc-core/interop/vitest.config.ts mixed-gather-deny
 *
 * Skipped when neither BBC1_REF nor BBC1_PYREF is set (mixed.ts says what the setup provides).
 */
import { afterAll, describe, expect, it } from "vitest";
import { REF, pyadmin, stopAll } from "./mixed.js";
import { pair, pyProc } from "./scenario.js";

afterAll(stopAll, 60_000);

describe.runIf(REF !== undefined)("mixed domain (issue 10): gather signatures, the denial path", () => {
  it("a signer on one node denies; the requester on the other gets the status and the reason, both ways", async () => {
    const domain = `mixed-deny-${Date.now()}`;
    const { r, o } = await pair(domain);
    const fails: string[] = [];
    for (const [req, signer] of [[r, o], [o, r]] as const) {
      const way = `requester on ${req.kind}, signer on ${signer.kind}`;
      const reason = `no thanks from ${signer.kind}`;
      const d = pyProc(signer.corePort, domain, ["deny-for", "--user", `deny-${signer.name}`, "--for", "60", "--msg", reason]);
      try {
        await d.count("ready", 1);
        await new Promise((res) => setTimeout(res, 1000));
        const err = await pyadmin(req.corePort, domain, "gather", "--user", `req-${req.name}`, "--to", `deny-${signer.name}`).then(
          (out) => `no error: ${out}`,
          (e: Error) => e.message,
        );
        expect(d.all("denied")).toHaveLength(1);
        // bbc_app's callback queues the failed RESPONSE_GATHER_SIGNATURE as it came: command 68, status EOTHER (-255), the reason
        expect(err).toContain("b'\\\\x00\\\\x00\\\\x00\\\\t': 68");
        expect(err).toContain("b'\\\\x00\\\\x00\\\\x00\\\\x00': -255");
        expect(err).toContain(reason);
      } catch (e) {
        fails.push(`${way}: ${(e as Error).message}`);
      } finally {
        d.kill();
      }
    }
    expect(fails).toEqual([]);
    expect(r.log()).not.toContain("Traceback");
  });
});
