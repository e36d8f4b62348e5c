/**
 * `bbc1 export | import | backup | migrate`: a domain's ledger as a file, a consistent copy of a
 * running node's SQLite ledgers, and a move between back ends (SQLite, PostgreSQL, MariaDB).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { fromHex, toHex } from "@bbc1/bbclib";
import { isBbcClientError } from "@bbc1/client";
import { MsgType } from "@bbc1/wire";
import { LEDGER_TABLES, backupSqliteLedger, copyLedger, resolveStorageConfig, summarizeLedger, type DbConfig, type DomainStorageConfig } from "@bbc1/storage";
import type { JsonObject } from "@bbc1/core";
import { CliError, connect, globals, parseId, parseInteger, print, readNodeConfig, type GlobalOptions } from "./common.js";
import { EXPORT_FORMAT, EXPORT_VERSION, ExportDigest, ExportWriter, openExport } from "./export-format.js";
import { DOMAIN0, domainSection, nodeListening, openDomainStore } from "./local.js";
import { Progress, mb, seconds } from "./progress.js";
import { verifyTransactionData } from "./verify.js";

const PRODUCER = "bbc1-ts 0.1.0";

async function exportDomain(domainId: Uint8Array, file: string, o: { json?: boolean }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  if (file !== "-" && existsSync(file)) throw new CliError(`${file} exists; an export never overwrites`, 2);
  const { store } = await openDomainStore(g, domainId);
  let missingFiles = 0;
  try {
    const tables = store.tables();
    const total = await tables.count("transaction_table");
    const w = new ExportWriter(file);
    await w.header({ format: EXPORT_FORMAT, version: EXPORT_VERSION, domain_id: toHex(domainId), created_at: new Date().toISOString(), producer: PRODUCER, transactions_at_start: total });
    const bar = new Progress("export", total, "tx");
    for await (const t of tables.transactionsInLedgerOrder()) {
      const files = new Map<string, Uint8Array>();
      const v = verifyTransactionData(t.data);
      for (const h of v.transaction ? [...v.transaction.events, ...v.transaction.relations] : []) {
        const a = h.asset;
        if (!a?.assetId || !h.assetGroupId || a.assetFileSize === 0 || a.assetFileDigest === null) continue;
        const content = await store.assetFiles.read(h.assetGroupId, a.assetId);
        if (content === null || content === undefined) missingFiles++;
        else files.set(toHex(a.assetId), content);
      }
      await w.transaction(t.transactionId, t.data, files);
      bar.update(w.transactions, w.bytes, Math.max(total, w.transactions));
    }
    const end = await w.end();
    bar.end();
    const summary = { file: file === "-" ? "-" : resolve(file), domain_id: toHex(domainId), transactions: end.transactions, asset_files: end.asset_files, asset_file_bytes: end.asset_file_bytes, asset_files_missing: missingFiles, digest: end.digest, seconds: bar.elapsedMs / 1000, databases: store.dbCount, exported_database: 0 };
    if (o.json) print(summary);
    else
      process.stderr.write(
        `exported ${end.transactions} transaction(s), ${end.asset_files} asset file(s) (${mb(end.asset_file_bytes)}) of domain ${toHex(domainId)} to ${summary.file} in ${seconds(bar.elapsedMs)}\n` +
          (missingFiles > 0 ? `warning: ${missingFiles} asset file(s) recorded in transactions are not on disk and are not in the export\n` : "") +
          (store.dbCount > 1 ? `note: the domain has ${store.dbCount} databases; database 0 was exported (the one the node reads; the others are copies it writes to)\n` : ""),
      );
  } finally {
    await store.close();
  }
}

interface ImportOpts {
  domain?: Uint8Array;
  setup?: boolean;
  window: number;
  json?: boolean;
}

async function importFile(file: string, o: ImportOpts, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const size = file === "-" ? 0 : statSync(file).size;
  const { header, records, bytesRead } = await openExport(file);
  const domainId = o.domain ?? fromHex(header.domain_id);
  const client = await connect(g, { admin: true, domainId });
  const counts = { imported: 0, present: 0, invalid: 0, failed: 0, files: 0, fileBytes: 0 };
  const digest = new ExportDigest();
  let end: { transactions: number; digest: string } | undefined;
  const problems: string[] = [];
  const bar = new Progress("import", size, "bytes");
  try {
    if (o.setup) {
      const r = await client.domainSetup(domainId);
      if (!r.result && r.reason !== "Already exists") throw new CliError(`cannot set up domain ${toHex(domainId)}: ${r.reason ?? "refused"}`);
    } else if (client.nodeKeypair !== null) {
      const served = (await client.getDomainList()).some((d) => toHex(d) === toHex(domainId));
      if (!served) throw new CliError(`the node does not serve domain ${toHex(domainId)}: add --setup (or run bbc1 domain setup first)`);
    }
    await client.register();
    const inFlight = new Set<Promise<void>>();
    const insert = async (id: Uint8Array, data: Uint8Array, files: Map<string, Uint8Array>): Promise<void> => {
      const wireFiles = new Map<Uint8Array, Uint8Array>([...files].map(([k, v]) => [fromHex(k), v]));
      try {
        await client.request(MsgType.REQUEST_INSERT, { transaction_data: data, all_asset_files: wireFiles }, [MsgType.RESPONSE_INSERT]);
        counts.imported++;
        counts.files += files.size;
        for (const v of files.values()) counts.fileBytes += v.length;
      } catch (e) {
        // the node answers a duplicate like any failed insert: look the transaction up
        if (isBbcClientError(e, "ERROR_STATUS")) {
          const found = await client.searchTransaction(id, { acceptCompromised: true }).catch(() => null);
          if (found?.transactionData && Buffer.compare(Buffer.from(found.transactionData), Buffer.from(data)) === 0) {
            counts.present++;
            return;
          }
        }
        counts.failed++;
        problems.push(`transaction ${toHex(id)} not imported: ${(e as Error).message}`);
      }
    };
    for await (const r of records) {
      if (r.type === "end") {
        end = r.end;
        break;
      }
      digest.add(r.id, r.data, r.files);
      const v = verifyTransactionData(r.data, { expectedId: r.id, files: r.files, requireFiles: false });
      if (!v.ok) {
        counts.invalid++;
        const why = v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? "failed"}`).join("; ");
        problems.push(`line ${r.line}: transaction ${toHex(r.id)} is invalid and was not stored (${why})`);
        continue;
      }
      const p = insert(r.id, r.data, r.files).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= o.window) await Promise.race(inFlight);
      bar.update(bytesRead(), undefined, Math.max(size, bytesRead()));
    }
    await Promise.all(inFlight);
  } finally {
    bar.end();
    await client.close().catch(() => undefined);
  }
  const digestHex = digest.hex();
  if (end === undefined) problems.push(`${file} has no end line: the file is truncated (what it held was imported)`);
  else if (end.digest !== digestHex) problems.push(`${file}: the digest in the end line does not match the records (the file was altered)`);
  const total = counts.imported + counts.present + counts.invalid + counts.failed;
  if (end !== undefined && end.transactions !== total) problems.push(`${file}: the end line counts ${end.transactions} transactions, the file holds ${total}`);
  for (const p of problems) process.stderr.write(`${p}\n`);
  const summary = { domain_id: toHex(domainId), read: total, imported: counts.imported, already_present: counts.present, invalid: counts.invalid, failed: counts.failed, asset_files: counts.files, asset_file_bytes: counts.fileBytes, complete: end !== undefined && end.digest === digestHex, seconds: bar.elapsedMs / 1000 };
  if (o.json) print(summary);
  else
    process.stderr.write(
      `import into domain ${toHex(domainId)}: ${total} read, ${counts.imported} imported, ${counts.present} already present, ${counts.invalid} invalid (not stored), ${counts.failed} failed; ${counts.files} asset file(s) (${mb(counts.fileBytes)}) in ${seconds(bar.elapsedMs)}\n`,
    );
  if (problems.length > 0) process.exitCode = 1;
}

function copyAssetTree(from: string, to: string, skip: Set<string>): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  if (!existsSync(from)) return { files, bytes };
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    if (e.isDirectory()) {
      if (skip.has(src)) continue;
      const r = copyAssetTree(src, join(to, e.name), skip);
      files += r.files;
      bytes += r.bytes;
    } else if (e.isFile() && !skip.has(src) && !e.name.includes(".tmp")) {
      mkdirSync(to, { recursive: true });
      copyFileSync(src, join(to, e.name));
      files++;
      bytes += statSync(src).size;
    }
  }
  return { files, bytes };
}

async function backup(dest: string, o: { domain?: Uint8Array[]; json?: boolean }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const { config, file } = readNodeConfig(g);
  if (existsSync(dest) && readdirSync(dest).length > 0) throw new CliError(`${dest} is not empty; a backup goes into a new or empty directory`, 2);
  mkdirSync(dest, { recursive: true });
  const domains = Object.keys((config.domains ?? {}) as object).filter((h) => h !== DOMAIN0 && /^[0-9a-fA-F]{64}$/.test(h));
  const wanted = o.domain?.map(toHex) ?? domains;
  for (const w of wanted) if (!domains.includes(w)) throw new CliError(`domain ${w} is not in ${file}`);
  const manifest: Record<string, unknown> = { created_at: new Date().toISOString(), producer: PRODUCER, source: resolve(g.workingdir), domains: {} };
  const started = Date.now();
  for (const hex of wanted) {
    const section = domainSection(config, hex, file);
    const rc = resolveStorageConfig({ domainId: fromHex(hex), workingDir: g.workingdir, config: section });
    if (rc.dbType !== "sqlite") {
      (manifest.domains as Record<string, unknown>)[hex] = { skipped: `${rc.dbType}: back it up with the server's tools (pg_dump, mariadb-dump) or bbc1 export` };
      process.stderr.write(`domain ${hex}: ${rc.dbType} ledger skipped; back it up with pg_dump / mariadb-dump, or bbc1 export\n`);
      continue;
    }
    const src = rc.servers[0]!.file!;
    const rel = relative(resolve(g.workingdir), resolve(src));
    const target = rel.startsWith("..") ? join(dest, hex, basename(src)) : join(dest, rel);
    const bar = new Progress(`backup ${hex.slice(0, 8)}`, 1, "pages");
    const r = await backupSqliteLedger(src, target, { storageRoot: rc.storageRoot, external: rc.external, onProgress: (c, t) => bar.update(c, undefined, t) });
    bar.end();
    // asset files after the database snapshot: every row of the copy has its file (files are written before rows);
    // the commit log stays behind (the copy's tables hold everything it had applied)
    const assets = copyAssetTree(rc.storageRoot, join(dest, hex), new Set([src, `${src}-wal`, `${src}-shm`, `${src}.commit-log`]));
    (manifest.domains as Record<string, unknown>)[hex] = { ledger: relative(dest, target), bytes: r.bytes, integrity: r.integrity, asset_files: assets.files, asset_file_bytes: assets.bytes };
    process.stderr.write(`domain ${hex}: ledger ${mb(r.bytes)} (integrity ${r.integrity}), ${assets.files} asset file(s) (${mb(assets.bytes)})\n`);
  }
  copyFileSync(file, join(dest, "config.json"));
  const key = join(g.workingdir, "node_key.pem");
  if (existsSync(key)) copyFileSync(key, join(dest, "node_key.pem"));
  writeFileSync(join(dest, "BACKUP.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  if (o.json) print({ ...manifest, destination: resolve(dest), seconds: (Date.now() - started) / 1000 });
  else process.stderr.write(`backup of ${wanted.length} domain(s) in ${resolve(dest)} (${seconds(Date.now() - started)}); restore: stop the node and copy its content into the node's working directory\n`);
}

/** `--to`: a URL (sqlite:FILE, postgres://..., mysql://... / mariadb://...) or a JSON `db` section. */
export function targetDb(to: string): DbConfig {
  if (to.startsWith("{")) {
    try {
      return JSON.parse(to) as DbConfig;
    } catch (e) {
      throw new CliError(`--to is not JSON: ${(e as Error).message}`, 2);
    }
  }
  if (to.startsWith("sqlite:")) return { db_type: "sqlite", db_name: to.slice("sqlite:".length) || "bbc_ledger.sqlite", replication_strategy: "all" };
  let u: URL;
  try {
    u = new URL(to);
  } catch {
    throw new CliError(`--to ${to}: expected sqlite:FILE, postgres://USER@HOST:PORT/DB[?schema=S], mysql://USER@HOST:PORT/DB or a JSON db section`, 2);
  }
  if (u.protocol === "postgres:" || u.protocol === "postgresql:") {
    const schema = u.searchParams.get("schema");
    u.searchParams.delete("schema");
    return { db_type: "postgres", replication_strategy: "all", db_servers: [{ db_url: u.toString(), ...(schema ? { db_schema: schema } : {}) }] };
  }
  if (u.protocol === "mysql:" || u.protocol === "mariadb:") {
    u.protocol = "mysql:";
    return { db_type: "mysql", replication_strategy: "all", db_servers: [{ db_url: u.toString() }] };
  }
  throw new CliError(`--to ${to}: unknown scheme ${u.protocol}`, 2);
}

async function migrate(domainId: Uint8Array, o: { to: string; updateConfig?: boolean; batch: number; json?: boolean }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const db = targetDb(o.to);
  const src = await openDomainStore(g, domainId);
  if (o.updateConfig && (await nodeListening(src.config))) {
    await src.store.close();
    throw new CliError("the node is running (its client port answers): stop it before --update-config, or it writes its own config back when it stops", 2);
  }
  const targetSection: DomainStorageConfig = { ...src.section, db };
  let dst;
  try {
    dst = await openDomainStore(g, domainId, targetSection);
  } catch (e) {
    await src.store.close();
    throw e;
  }
  const report: Record<string, unknown> = { domain_id: toHex(domainId), from: src.store.dbType, to: dst.store.dbType, source_databases: src.store.dbCount, target_databases: dst.store.dbCount };
  if (src.store.dbCount > 1 && !o.json) {
    process.stderr.write(`note: the domain has ${src.store.dbCount} databases; database 0 is copied (the one the node reads; the others are copies it writes to)\n`);
  }
  let ok = true;
  try {
    const source = src.store.tables(0);
    const a = await summarizeLedger(source);
    const perDb: Record<string, unknown>[] = [];
    // a target with several databases (db_servers) gets the same copy in each, each verified
    for (let dbNum = 0; dbNum < dst.store.dbCount; dbNum++) {
      const target = dst.store.tables(dbNum);
      if (dst.store.dbCount > 1 && !o.json) process.stderr.write(`target database ${dbNum}:\n`);
      let bar: Progress | undefined;
      let current = "";
      const copy = await copyLedger(source, target, {
        batchSize: o.batch,
        onProgress: (p) => {
          if (p.table !== current) {
            bar?.end();
            current = p.table;
            bar = new Progress(p.table, p.total, "rows");
          }
          bar!.update(p.copied, undefined, p.total);
        },
      });
      bar?.end();
      const b = await summarizeLedger(target);
      const tables: Record<string, unknown> = {};
      let same = true;
      for (const t of LEDGER_TABLES) {
        const equal = a[t].rows === b[t].rows && a[t].digest === b[t].digest;
        same &&= equal;
        tables[t] = { source_rows: a[t].rows, target_rows: b[t].rows, copied: copy[t].copied, resumed: copy[t].resumedAfter, digests_equal: a[t].digest === b[t].digest };
        if (!o.json) process.stderr.write(`${equal ? "ok  " : "FAIL"}  ${t}: ${a[t].rows} row(s) -> ${b[t].rows}${copy[t].resumedAfter ? ` (resumed, ${copy[t].copied} copied now)` : ""}, digest ${equal ? "equal" : "DIFFERENT"}\n`);
      }
      ok &&= same;
      perDb.push({ db_num: dbNum, tables, verified: same });
    }
    report.tables = perDb[0]!.tables;
    if (perDb.length > 1) report.databases = perDb;
    report.verified = ok;
  } catch (e) {
    ok = false;
    throw e;
  } finally {
    await src.store.close();
    await dst.store.close();
  }
  if (!ok) {
    if (o.json) print(report);
    throw new CliError("the copy does not match the source (did the node write during the migration? stop it and run the same command again: it resumes)");
  }
  if (o.updateConfig) {
    const cfg = JSON.parse(readFileSync(src.file, "utf8")) as JsonObject;
    const domains = cfg.domains as Record<string, JsonObject>;
    const hex = toHex(domainId);
    domains[hex] = { ...(domains[hex] ?? {}), db: db as unknown as JsonObject };
    const kept = `${src.file}.${new Date().toISOString().replace(/[:.]/g, "-")}.bak`;
    copyFileSync(src.file, kept);
    writeFileSync(`${src.file}.tmp`, `${JSON.stringify(cfg, null, 2)}\n`);
    renameSync(`${src.file}.tmp`, src.file);
    report.config_updated = { file: resolve(src.file), previous_kept_as: resolve(kept) };
  }
  if (o.json) return print(report);
  process.stderr.write(
    `migrated domain ${toHex(domainId)} from ${String(report.from)} to ${String(report.to)}: counts and digests verified\n` +
      (o.updateConfig ? `config.json now points the domain at ${String(report.to)} (previous config kept as ${(report.config_updated as { previous_kept_as: string }).previous_kept_as}); asset files stay where they are\n` : `the node still uses ${String(report.from)}: run again with --update-config (node stopped) to switch it\n`),
  );
}

/** Adds export, import, backup and migrate to `program`. */
export function addLedgerCommands(program: Command): void {
  program
    .command("export")
    .description("write DOMAIN's transactions and asset files to FILE (bbc1-domain-export v1, JSON Lines; .gz compresses; - is standard output), reading the ledger in <workingdir> (the node may run)")
    .argument("<domain>", "domain id", parseId("DOMAIN"))
    .argument("<file>", "output file (must not exist)")
    .option("--json", "totals as JSON")
    .action(exportDomain);

  program
    .command("import")
    .description("insert the transactions of an export FILE into the running node, each verified first (id, signatures, asset files): an invalid one is reported and never stored; re-running resumes")
    .argument("<file>", "export file (- for standard input)")
    .option("--domain <id>", "import into this domain instead of the one the file names", parseId("--domain"))
    .option("--setup", "create the domain on the node first (admin: needs the node key)")
    .option("--window <n>", "inserts in flight", parseInteger(1, 1024), 16)
    .option("--json", "totals as JSON")
    .action((file: string, o: ImportOpts, cmd: Command) => importFile(file, o, cmd));

  program
    .command("backup")
    .description("consistent copy of the node's SQLite ledgers (SQLite's backup API, safe while the node runs), their asset files, config.json and node_key.pem into DIR")
    .argument("<dir>", "new or empty directory")
    .option("--domain <id...>", "only these domains", (v: string, prev: Uint8Array[] = []) => [...prev, parseId("--domain")(v)])
    .option("--json", "manifest as JSON")
    .action(backup);

  program
    .command("migrate")
    .description("copy DOMAIN's ledger to another back end with progress, verify counts and digests; resumable; --update-config switches the node to it")
    .argument("<domain>", "domain id", parseId("DOMAIN"))
    .requiredOption("--to <target>", "sqlite:FILE | postgres://USER@HOST:5432/DB[?schema=S] | mysql://USER@HOST:3306/DB | a JSON db section")
    .option("--update-config", "after a verified copy, point the domain's db section in config.json at the target (node stopped)")
    .option("--batch <n>", "rows per database transaction", parseInteger(1, 100_000), 500)
    .option("--json", "report as JSON")
    .action(migrate);
}

export type { GlobalOptions };
