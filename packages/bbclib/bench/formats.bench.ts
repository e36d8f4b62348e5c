/**
 * serialize / deserialize in every BBcFormat of the transaction shape of issue 13's table: one
 * event (asset with a 43-byte string body and one mandatory approver), a witness and one
 * P-256 signature. deserialize includes the transaction id, as v1.1.1's does.
 *
 * The reference figures (v1.1.1 Python with its C extensions) come from a script outside the
 * repository run in the same sitting; see the README.
 */
import { measure, type BenchRow } from "../../../bench/harness.js";
import { KeyPair, addEventAsset, bz2Compress, deserialize, getNewId, makeTransaction, toHex, zlibCompress, type FormatType } from "../src/index.js";
import { inflateBackendName } from "#zlib-inflate";

const NAMES = ["binary", "BSON", "BSON+bz2", "BSON+zlib", "msgpack", "msgpack+bz2", "msgpack+zlib"];

/** The benchmark transaction in format `f`. */
export function oneEventTx(f: FormatType) {
  const keys = KeyPair.generate();
  const user = getNewId("user", false);
  const tx = makeTransaction({ eventNum: 1, witness: true, formatType: f });
  addEventAsset(tx, 0, getNewId("asset group", false), user, { assetBody: "a string body of the benchmark transaction!" });
  tx.events[0].add({ mandatoryApprover: user });
  tx.witness!.addWitness(user);
  tx.addSignature(user, tx.sign(keys));
  return { tx, bytes: tx.serialize() };
}

/**
 * {@link measure}, plus the rate per CPU-second of this process in the note: on a machine shared with other
 * engineers' suites the wall-clock rate follows this process's share of the cores, the CPU-time rate much less.
 */
function measureCpu(name: string, fn: () => unknown, options: { batch: number; ms: number; note?: string }): BenchRow {
  const c0 = process.cpuUsage();
  let calls = 0;
  const row = measure(name, () => (calls++, fn()), options);
  const c = process.cpuUsage(c0);
  const perCpuSecond = calls / ((c.user + c.system) / 1e6);
  return { ...row, note: `${Math.round(perCpuSecond).toLocaleString("en-US")}/CPU-s${row.note ? `; ${row.note}` : ""}` };
}

/**
 * Transactions per measurement, used in turn. Their ids, keys and signatures are random, and the work of the
 * bz2 formats follows the content (one transaction may need 4 Huffman table builds, another 12): the rate of
 * one transaction swung ±40 % from run to run. The mean over a pool of 8 swings much less.
 */
const POOL = 8;

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const f of [0, 1, 2, 3, 4, 5, 6] as FormatType[]) {
    const pool = Array.from({ length: POOL }, () => oneEventTx(f));
    const sizes = pool.map((p) => p.bytes.length);
    const size = Math.min(...sizes) === Math.max(...sizes) ? `${sizes[0]}` : `${Math.min(...sizes)}-${Math.max(...sizes)}`;
    const note = `${size} B${f === 3 || f === 6 ? `, inflate ${inflateBackendName}` : ""}`;
    const batch = f === 2 || f === 5 ? 5 : 20;
    let i = 0;
    rows.push(measureCpu(`format ${f} (${NAMES[f]}) serialize`, () => pool[i++ % POOL].tx.serialize(), { batch, ms: 700, note }));
    rows.push(measureCpu(`format ${f} (${NAMES[f]}) deserialize`, () => deserialize(pool[i++ % POOL].bytes), { batch, ms: 700, note }));
  }
  // the bound of the compressed formats' serialize: the byte-exact compressor alone on the same bodies (BSON for
  // 2/3, msgpack for 5/6), checked to be what the format writes
  for (const [f, plain, zip] of [[2, 1, bz2Compress], [3, 1, zlibCompress], [5, 4, bz2Compress], [6, 4, zlibCompress]] as const) {
    const bodies = Array.from({ length: POOL }, () => {
      const { tx } = oneEventTx(plain as FormatType);
      const body = tx.serialize().subarray(2);
      tx.formatType = f as FormatType;
      if (toHex(tx.serialize().subarray(2)) !== toHex(zip(body))) throw new Error(`format ${f}: body is not ${zip.name} of format ${plain}'s`);
      return body;
    });
    let i = 0;
    rows.push(measureCpu(`format ${f} bound: ${zip.name} alone, ${bodies[0].length} B body`, () => zip(bodies[i++ % POOL]), { batch: f === 2 || f === 5 ? 5 : 20, ms: 700 }));
  }
  return rows;
}
