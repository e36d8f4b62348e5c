// A plain Node process with the compiled validator pool (dist/, as bbc1-core runs it: under the test runner its
// worker threads would inherit the runner's source-resolution flags). Reads {mode, txs: [{data, files}]} (hex) as
// JSON on stdin, validates every transaction at once with offThread, prints {verdicts, active, stats}.
// mode "close": closes the pool while the first batch is on its way.
import { ValidatorPool } from "../../dist/validator-pool.js";

const hexToBytes = (h) => new Uint8Array(Buffer.from(h, "hex"));
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { mode, txs } = JSON.parse(input);
const pool = new ValidatorPool(1);
const active = pool.active;
const pending = txs.map((t) => pool.validate(hexToBytes(t.data), t.files === null ? null : new Map(t.files.map(([k, v]) => [hexToBytes(k), hexToBytes(v)])), true));
if (mode === "close") {
  await new Promise((r) => setImmediate(r));
  await pool.close();
}
const verdicts = (await Promise.all(pending)).map((v) => (v.ok ? "ok" : v.why));
const stats = pool.batchStats;
if (mode !== "close") await pool.close();
process.stdout.write(JSON.stringify({ verdicts, active, stats }));
