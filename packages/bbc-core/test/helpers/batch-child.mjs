// A plain Node process with the compiled validator pool (dist/, as bbc1-core runs it: under the test runner its
// worker threads would inherit the runner's source-resolution flags). Reads {mode, txs: [{data, files}]} (hex) as
// JSON on stdin, validates every transaction at once with offThread, prints {verdicts, active, stats}.
// mode "close": closes the pool while the first batch is on its way; "deaf": its worker never listens.
import { ValidatorPool } from "../../dist/validator-pool.js";

const hexToBytes = (h) => new Uint8Array(Buffer.from(h, "hex"));
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { mode, txs } = JSON.parse(input);
// mode "deaf": the workers run a module that never listens (what a bundle whose other code blocks would do)
const pool = new ValidatorPool(1, mode === "deaf" ? { batches: true, entry: new URL("./deaf-worker.mjs", import.meta.url) } : { batches: true });
// as in bbc1-core, whose pool starts long before the first insert: work goes only to a worker that listens
if (mode === "deaf") await new Promise((r) => setTimeout(r, 300));
else await pool.whenReady();
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
