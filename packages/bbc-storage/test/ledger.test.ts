/**
 * Runs the shared storage suite once per back end. A server that is not reachable is skipped with a loud message
 * locally, and fails the run when CI is set.
 */
import { describe, it } from "vitest";
import { describeLedgerSuite } from "./ledger.suite.js";
import { allTargets, IN_CI, MYSQL_URL, PG_URL } from "./targets.js";

for (const target of await allTargets()) {
  if (target.unavailable) {
    const where = target.name === "postgres" ? `BBC1_TEST_PG_URL=${PG_URL}` : `BBC1_TEST_MYSQL_URL=${MYSQL_URL}`;
    const msg = `${target.name} is not reachable (${where}): ${target.unavailable}`;
    if (IN_CI) {
      describe(`LedgerStore on ${target.name}`, () => {
        it("has its database server", () => {
          throw new Error(`${msg}; CI requires all three back ends`);
        });
      });
    } else {
      process.stderr.write(`\n!!!!!!!!!! STORAGE SUITE SKIPPED FOR ${target.name.toUpperCase()}: ${msg} !!!!!!!!!!\n\n`);
      describe.skip(`LedgerStore on ${target.name} (SKIPPED: server not reachable)`, () => {
        it("skipped", () => undefined);
      });
    }
    continue;
  }
  describeLedgerSuite(target);
}
