/**
 * Repair of forged or missing transactions and asset files (p2p-protocol.md §10), the core's side:
 * REQUEST_REPAIR from a client, the ledger operations behind `@bbc1/net`'s {@link Repair}
 * ({@link CoreRepairLedger}: valid local copies for answers, verified durable replacement) and the
 * `repair_log.json` of v1.1.1.
 * @module
 */
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { bytesEqual, deserialize, sha256, toHex, type BBcTransaction } from "@bbc1/bbclib";
import { DEFAULT_REPAIR_LIMITS, REPAIR_INFRA_COMMAND, Repair, type CommandDispatch, type NetworkDomain, type RepairLedger, type RepairLimits, type RepairLogEntry, type RepairVerdict, type Scheduler } from "@bbc1/net";
import { isJsonObject, type JsonValue } from "./config.js";
import type { Domain } from "./domain.js";
import { CoreError } from "./errors.js";
import type { CoreInternals, RequestContext } from "./handlers/context.js";
import { bytes } from "./handlers/context.js";
import { assetRowsOf, edgesOf } from "./ledger-rows.js";
import type { LedgerEntry } from "./store.js";
import { VerifiedCache, validateStored } from "./validator.js";

/** `limits.repair` of config.json (ours): {@link RepairLimits} under snake_case names (`max_pending`, `request_timeout_ms`, ...). */
export function readRepairLimits(section: JsonValue | undefined): Partial<RepairLimits> {
  if (section === undefined || section === null) return {};
  if (!isJsonObject(section)) throw new CoreError("CONFIG_INVALID", "config: limits.repair must be an object");
  const out: Partial<RepairLimits> = {};
  for (const field of Object.keys(DEFAULT_REPAIR_LIMITS) as Array<keyof RepairLimits>) {
    const key = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const v = section[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new CoreError("CONFIG_INVALID", `config: limits.repair.${key} must be a number >= 0`);
    out[field] = v;
  }
  return out;
}

/** v1.1.1 `db.replication_strategy`: anything but "all" / "p2p" is external, and then repair does not ask peers. */
function asksPeers(domain: Domain): boolean {
  const db = domain.section.db;
  const s = isJsonObject(db) ? db.replication_strategy : undefined;
  return s === undefined || s === null || s === "all" || s === "p2p";
}

function externalStorage(domain: Domain): boolean {
  const st = domain.section.storage;
  return isJsonObject(st) && st.type === "external";
}

function decodeAs(data: Uint8Array, transactionId: Uint8Array, core: CoreInternals): BBcTransaction | null {
  try {
    const tx = deserialize(data, core.deserializeOptions);
    tx.digest();
    return tx.transactionId !== null && bytesEqual(tx.transactionId, transactionId) ? tx : null;
  } catch {
    return null;
  }
}

/** The ledger side of repair over the core's domains (see {@link RepairLedger}). */
export class CoreRepairLedger implements RepairLedger {
  readonly #core: CoreInternals;

  constructor(core: CoreInternals) {
    this.#core = core;
  }

  #domain(domainId: Uint8Array): Domain | undefined {
    const d = this.#core.domains.get(toHex(domainId));
    return d?.ledger == null ? undefined : d;
  }

  async validTransactionData(domainId: Uint8Array, transactionId: Uint8Array): Promise<Uint8Array | null> {
    const d = this.#domain(domainId);
    if (d === undefined) return null;
    const data = await d.ledger!.getTransaction(transactionId);
    if (data === undefined) return null;
    const tx = decodeAs(data, transactionId, this.#core);
    // signatures only, as the reference's responder (asset files do not decide)
    return tx !== null && validateStored(tx, data, new Map(), this.#core.verified).valid ? data : null;
  }

  /** The newest local transaction holding the asset when it is valid (signatures, stored under its own id). */
  async #holder(d: Domain, assetGroupId: Uint8Array, assetId: Uint8Array): Promise<{ tx: BBcTransaction; data: Uint8Array } | null> {
    const found = await d.ledger!.search({ assetGroupId, assetId }, 0, 1);
    const t = found[0];
    if (t === undefined) return null;
    const tx = decodeAs(t.data, t.transactionId, this.#core);
    if (tx === null || !validateStored(tx, t.data, new Map(), this.#core.verified).valid) return null;
    return { tx, data: t.data };
  }

  #fileMatches(tx: BBcTransaction, assetId: Uint8Array, file: Uint8Array): boolean {
    const digest = sha256(file);
    return assetRowsOf(tx).some((r) => bytesEqual(r.assetId, assetId) && r.fileDigest !== null && bytesEqual(r.fileDigest, digest));
  }

  async validAssetFile(domainId: Uint8Array, assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array | null> {
    const d = this.#domain(domainId);
    if (d === undefined || externalStorage(d)) return null;
    const file = await d.ledger!.readAssetFile(assetGroupId, assetId);
    if (file === null) return null;
    const h = await this.#holder(d, assetGroupId, assetId);
    return h !== null && this.#fileMatches(h.tx, assetId, file) ? file : null;
  }

  /** Whether an asset file needs repair: `unverifiable` when no valid local transaction holds the asset. */
  async assetFileState(domainId: Uint8Array, assetGroupId: Uint8Array, assetId: Uint8Array): Promise<"valid" | "forged or missing" | "unverifiable"> {
    const d = this.#domain(domainId);
    if (d === undefined || externalStorage(d)) return "unverifiable";
    const h = await this.#holder(d, assetGroupId, assetId);
    if (h === null) return "unverifiable";
    const file = await d.ledger!.readAssetFile(assetGroupId, assetId);
    return file !== null && this.#fileMatches(h.tx, assetId, file) ? "valid" : "forged or missing";
  }

  async replaceTransaction(domainId: Uint8Array, transactionId: Uint8Array, transactionData: Uint8Array): Promise<RepairVerdict> {
    const d = this.#domain(domainId);
    const ledger = d?.ledger;
    if (d === undefined || ledger == null || ledger.replaceTransaction === undefined) return "rejected";
    // the core's own verification (worker threads, decode limits): signatures and asset ids
    const v = await this.#core.validate(transactionData, null);
    if (!v.ok || v.tx.transactionId === null || !bytesEqual(v.tx.transactionId, transactionId)) return "rejected";
    const stored = await ledger.getTransaction(transactionId);
    if (stored !== undefined && (await this.validTransactionData(domainId, transactionId)) !== null) return "already_valid";
    const rows = assetRowsOf(v.tx);
    const entry: LedgerEntry = {
      transactionId,
      transactionData,
      assets: rows.map(({ assetGroupId, assetId, userId, hasFile }) => ({ assetGroupId, assetId, userId, hasFile })),
      pointsTo: edgesOf(v.tx),
      files: [],
    };
    // a forged row's asset rows are still those of the original insert: not written twice
    await ledger.replaceTransaction(entry, { assetRows: stored === undefined });
    this.#core.verified.add(VerifiedCache.keyOf(transactionData));
    this.#core.stats.increment("transaction", "success_repair");
    return "repaired";
  }

  async replaceAssetFile(domainId: Uint8Array, assetGroupId: Uint8Array, assetId: Uint8Array, file: Uint8Array): Promise<RepairVerdict> {
    const d = this.#domain(domainId);
    const ledger = d?.ledger;
    if (d === undefined || ledger == null || ledger.replaceAssetFile === undefined || externalStorage(d)) return "rejected";
    const h = await this.#holder(d, assetGroupId, assetId);
    if (h === null || !this.#fileMatches(h.tx, assetId, file)) return "rejected";
    const local = await ledger.readAssetFile(assetGroupId, assetId);
    if (local !== null && this.#fileMatches(h.tx, assetId, local)) return "already_valid";
    await ledger.replaceAssetFile(assetGroupId, assetId, file);
    this.#core.stats.increment("asset_file", "success_repair");
    return "repaired";
  }

  /**
   * v1.1.1's first step with several databases (`_repair_transaction_data`): when one database holds a valid
   * copy and another a forged or no copy, the valid one replaces the others. Resolves what happened: `single`
   * (one database), `consistent` (nothing to do), `restored`, or `none_valid`.
   */
  async restoreLocally(domainId: Uint8Array, transactionId: Uint8Array): Promise<"single" | "consistent" | "restored" | "none_valid"> {
    const d = this.#domain(domainId);
    const ledger = d?.ledger;
    if (ledger?.copies === undefined || ledger.replaceTransaction === undefined) return "single";
    const copies = await ledger.copies(transactionId);
    if (copies.length < 2) return "single";
    let good: { tx: BBcTransaction; data: Uint8Array } | undefined;
    let bad = 0;
    for (const data of copies) {
      const tx = data === undefined ? null : decodeAs(data, transactionId, this.#core);
      if (tx !== null && data !== undefined && validateStored(tx, data, new Map(), this.#core.verified).valid) good ??= { tx, data };
      else bad++;
    }
    if (good === undefined) return "none_valid";
    if (bad === 0) return "consistent";
    const rows = assetRowsOf(good.tx);
    await ledger.replaceTransaction(
      {
        transactionId,
        transactionData: good.data,
        assets: rows.map(({ assetGroupId, assetId, userId, hasFile }) => ({ assetGroupId, assetId, userId, hasFile })),
        pointsTo: edgesOf(good.tx),
        files: [],
      },
      { assetRows: copies.some((c) => c === undefined) },
    );
    this.#core.stats.increment("transaction", "success_repair");
    return "restored";
  }

  /** The asset files of a stored transaction that are missing or do not match their digest. */
  async badFilesOf(domainId: Uint8Array, transactionId: Uint8Array): Promise<Array<{ assetGroupId: Uint8Array; assetId: Uint8Array }>> {
    const d = this.#domain(domainId);
    if (d === undefined || externalStorage(d)) return [];
    const data = await d.ledger!.getTransaction(transactionId);
    const tx = data === undefined ? null : decodeAs(data, transactionId, this.#core);
    if (tx === null) return [];
    const out: Array<{ assetGroupId: Uint8Array; assetId: Uint8Array }> = [];
    for (const r of assetRowsOf(tx)) {
      if (!r.hasFile) continue;
      const f = await d.ledger!.readAssetFile(r.assetGroupId, r.assetId);
      if (f === null || r.fileDigest === null || !bytesEqual(sha256(f), r.fileDigest)) out.push({ assetGroupId: r.assetGroupId, assetId: r.assetId });
    }
    return out;
  }
}

/** `<workingdir>/<domain hex>` of a domain. */
function domainDir(core: CoreInternals, domain: Domain): string {
  const wd = typeof core.config.config.workingdir === "string" ? core.config.config.workingdir : core.config.workingDir;
  return join(wd, domain.hex);
}

/** The repair component of each domain (created with the domain's network components). */
const REPAIRS = new WeakMap<Domain, { repair: Repair; ledger: CoreRepairLedger }>();

/** The repair component of `domain`, if it has a network. */
export function repairOf(domain: Domain): Repair | undefined {
  return REPAIRS.get(domain)?.repair;
}

/**
 * Creates the repair component of a domain and registers it in the domain's DATA dispatch
 * (`infra_command` 00 05). Successful repairs are appended to `<workingdir>/<domain hex>/repair_log.json`
 * (v1.1.1's JSON lines); a repaired transaction's missing or forged asset files are asked for next.
 */
export function attachRepair(args: {
  core: CoreInternals;
  domain: Domain;
  net: NetworkDomain;
  data: CommandDispatch;
  scheduler: Scheduler;
  workingDir: string;
  limits?: Partial<RepairLimits>;
}): Repair {
  const { core, domain } = args;
  const ledger = new CoreRepairLedger(core);
  const log = core.logger.child({ domain: domain.hex.slice(0, 8), component: "repair" });
  const logFile = join(args.workingDir, domain.hex, "repair_log.json");
  const repair: Repair = new Repair({
    domainId: domain.id,
    ledger,
    net: args.net,
    scheduler: args.scheduler,
    stats: core.stats,
    logger: log,
    limits: args.limits,
    onRepaired: (e) => {
      void writeRepairLog(logFile, e).catch((err: unknown) => log.warn({ err, file: logFile }, "repair_log.json not written"));
      if (e.transactionId === undefined || externalStorage(domain)) return;
      void ledger
        .badFilesOf(domain.id, e.transactionId)
        .then((bad) => {
          for (const f of bad) repair.requestAssetFile(f.assetGroupId, f.assetId);
        })
        .catch((err: unknown) => log.warn({ err }, "checking the repaired transaction's asset files failed"));
    },
  });
  args.data.set(REPAIR_INFRA_COMMAND, repair);
  REPAIRS.set(domain, { repair, ledger });
  return repair;
}

async function writeRepairLog(file: string, e: RepairLogEntry): Promise<void> {
  const line: Record<string, unknown> = {};
  if (e.transactionId !== undefined) line.transaction_id = toHex(e.transactionId);
  if (e.assetGroupId !== undefined) line.asset_group_id = toHex(e.assetGroupId);
  if (e.assetId !== undefined) line.asset_id = toHex(e.assetId);
  Object.assign(line, { request_at: e.requestAt, repaired_by: toHex(e.repairedBy), repaired_at: e.repairedAt });
  await appendLine(file, JSON.stringify(line));
}

async function appendLine(file: string, line: string): Promise<void> {
  await mkdir(join(file, ".."), { recursive: true });
  await appendFile(file, line + "\n");
}

/**
 * REQUEST_REPAIR (v1.1.1 `_process`: never answered). With `transaction_id`: counted
 * (`transaction.repair_request`); with several databases a valid copy in one replaces forged or missing
 * copies in the others (v1.1.1's first step, which crashed its worker, Q31; logged "repaired_by": "locally");
 * then the local copy is checked and a valid one is left alone
 * (v1.1.1 with one database always asks); a forged or missing one (`fail_to_repair_in_local`) is asked
 * for from every neighbour unless `db.replication_strategy` is external, and so are the
 * transaction's missing or forged asset files. With `asset_group_id` and `asset_id`: unless storage is
 * external, the file is checked against the newest local transaction holding it and asked for when
 * missing or forged (v1.1.1 compared the file's hash with the asset_id, Q31, and so almost always
 * asked).
 */
export async function handleRepairRequest(ctx: RequestContext): Promise<void> {
  const { msg, core } = ctx;
  const domain = ctx.domain;
  if (domain?.ledger == null) return;
  const entry = REPAIRS.get(domain);
  const txid = bytes(msg.transaction_id);
  if (txid !== undefined) {
    core.stats.increment("transaction", "repair_request");
    if (txid.length !== 32) return;
    const ledger = entry?.ledger ?? new CoreRepairLedger(core);
    const local = await ledger.restoreLocally(domain.id, txid);
    if (local === "restored") {
      ctx.log.info({ transaction_id: toHex(txid) }, "repair: restored from another local database");
      const now = Math.floor(Date.now() / 1000);
      const line = JSON.stringify({ transaction_id: toHex(txid), request_at: now, repaired_by: "locally", repaired_at: now });
      await appendLine(join(domainDir(core, domain), "repair_log.json"), line).catch((err: unknown) => ctx.log.warn({ err }, "repair_log.json not written"));
    }
    const valid = (await ledger.validTransactionData(domain.id, txid)) !== null;
    const badFiles = valid ? await ledger.badFilesOf(domain.id, txid) : [];
    if (!valid) core.stats.increment("transaction", "fail_to_repair_in_local");
    ctx.log.info({ transaction_id: toHex(txid), local: valid ? "valid" : "forged or missing", bad_files: badFiles.length }, "repair request");
    if (entry === undefined) return;
    if (!valid && asksPeers(domain)) entry.repair.requestTransaction(txid);
    for (const f of badFiles) entry.repair.requestAssetFile(f.assetGroupId, f.assetId);
    return;
  }
  const ag = bytes(msg.asset_group_id);
  const aid = bytes(msg.asset_id);
  if (ag !== undefined && aid !== undefined) {
    if (ag.length !== 32 || aid.length !== 32 || externalStorage(domain)) return;
    const ledger = entry?.ledger ?? new CoreRepairLedger(core);
    const state = await ledger.assetFileState(domain.id, ag, aid);
    ctx.log.info({ asset_id: toHex(aid), local: state }, "asset file repair request");
    // without a valid local transaction holding the asset no answer could be verified: nothing to ask
    if (state === "forged or missing") entry?.repair.requestAssetFile(ag, aid);
    return;
  }
  ctx.log.debug("REQUEST_REPAIR: bad format");
}
