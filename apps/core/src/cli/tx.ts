/**
 * `bbc1 tx get | search | count | traverse | verify`: the ledger of a domain as the running node
 * serves it to clients (search_transaction, search_transaction_with_condition,
 * count_transactions, traverse_transactions), printed for humans or as JSON.
 */
import { Option, type Command } from "commander";
import { toHex } from "@bbc1/bbclib";
import { isBbcClientError } from "@bbc1/client";
import { CliError, connectRegistered, globals, parseId, parseInteger, print, withClient } from "./common.js";
import { describeTransaction, summaryLine, toText } from "./render.js";
import { verifyTransactionData } from "./verify.js";

const hexId = (what: string) => parseId(what);

interface ConditionOpts {
  assetGroup?: Uint8Array;
  asset?: Uint8Array;
  user?: Uint8Array;
}

function conditions(o: ConditionOpts) {
  if (o.assetGroup === undefined && o.asset === undefined && o.user === undefined) {
    throw new CliError("give at least one of --asset-group, --asset, --user", 2);
  }
  return { assetGroupId: o.assetGroup ?? null, assetId: o.asset ?? null, userId: o.user ?? null };
}

function withConditions(cmd: Command): Command {
  return cmd
    .option("-g, --asset-group <id>", "asset_group_id (64 hex digits)", hexId("--asset-group"))
    .option("-a, --asset <id>", "asset_id", hexId("--asset"))
    .option("-u, --user <id>", "user_id", hexId("--user"));
}

function notFound(e: unknown): boolean {
  return isBbcClientError(e, "ERROR_STATUS") && e.status === -14;
}

function fileEntries(files: ReadonlyMap<string, Uint8Array | null> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of files ?? []) if (v !== null) out[k] = v.length;
  return out;
}

function present(files: ReadonlyMap<string, Uint8Array | null>): [string, Uint8Array][] {
  return [...files].filter((e): e is [string, Uint8Array] => e[1] !== null);
}

/** Adds `tx ...` to `program`. */
export function addTxCommands(program: Command): void {
  const tx = program.command("tx").description("look into a domain's ledger through the node: get, search, count, traverse, verify");

  tx.command("get")
    .description("one transaction by id, every field decoded")
    .argument("<domain>", "domain id", hexId("DOMAIN"))
    .argument("<txid>", "transaction id", hexId("TXID"))
    .option("--json", "JSON output")
    .option("--raw", "also print the stored bytes (base64)")
    .action(async (domain: Uint8Array, txid: Uint8Array, o: { json?: boolean; raw?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(connectRegistered(g, domain), (c) => c.searchTransaction(txid, { acceptCompromised: true })).catch((e: unknown) => {
        if (notFound(e)) throw new CliError(`transaction ${toHex(txid)} is not in domain ${toHex(domain)}`);
        throw e;
      });
      const out: Record<string, unknown> = r.transaction !== null ? describeTransaction(r.transaction) : { transaction_id: toHex(txid) };
      if (r.compromised) out.compromised = { transaction_ids: r.compromisedTransactionIds.map(toHex), asset_files: [...r.compromisedAssetFiles.keys()] };
      out.asset_files = fileEntries(r.assetFiles);
      if (o.raw && r.transactionData) out.data_base64 = Buffer.from(r.transactionData).toString("base64");
      if (o.json) return print(out);
      print(`transaction${toText(out, "  ")}`);
      if (r.compromised) throw new CliError("the node reports this transaction as compromised (see above)");
    });

  withConditions(
    tx
      .command("search")
      .description("transactions with an asset of the given asset group / asset / user, newest first")
      .argument("<domain>", "domain id", hexId("DOMAIN")),
  )
    .option("-n, --count <n>", "at most this many (the node caps it at search_config.max_count)", parseInteger(1, 1_000_000), 10)
    .option("--oldest-first", "oldest first (direction 1)")
    .option("--json", "JSON output: every field of every transaction")
    .action(async (domain: Uint8Array, o: ConditionOpts & { count: number; oldestFirst?: boolean; json?: boolean }, cmd: Command) => {
      const q = { ...conditions(o), count: o.count, direction: o.oldestFirst ? 1 : 0 };
      const r = await withClient(connectRegistered(globals(cmd), domain), (c) => c.searchTransactionWithCondition(q)).catch((e: unknown) => {
        if (notFound(e)) return null;
        throw e;
      });
      const txs = r?.transactions ?? [];
      if (o.json) return print({ transactions: txs.map(describeTransaction), compromised_transaction_ids: (r?.compromisedTransactionIds ?? []).map(toHex) });
      for (const t of txs) print(summaryLine(t));
      process.stderr.write(`${txs.length} transaction(s)\n`);
    });

  withConditions(tx.command("count").description("number of transactions with an asset of the given asset group / asset / user").argument("<domain>", "domain id", hexId("DOMAIN")))
    .option("--json", "JSON output")
    .action(async (domain: Uint8Array, o: ConditionOpts & { json?: boolean }, cmd: Command) => {
      const n = await withClient(connectRegistered(globals(cmd), domain), (c) => c.countTransactions(conditions(o)));
      print(o.json ? { count: n } : String(n));
    });

  tx.command("traverse")
    .description("the transactions a transaction points to (to the past) or that point to it (to the future), level by level")
    .argument("<domain>", "domain id", hexId("DOMAIN"))
    .argument("<txid>", "where to start", hexId("TXID"))
    .addOption(new Option("-d, --direction <dir>", "towards the past or the future").choices(["past", "future"]).default("past"))
    .option("--hops <n>", "levels including the start (the node caps it)", parseInteger(1, 1000), 3)
    .option("-g, --asset-group <id>", "keep only transactions with an asset of this group", hexId("--asset-group"))
    .option("-u, --user <id>", "keep only transactions with an asset of this user", hexId("--user"))
    .option("--json", "JSON output")
    .action(async (domain: Uint8Array, txid: Uint8Array, o: { direction: string; hops: number; assetGroup?: Uint8Array; user?: Uint8Array; json?: boolean }, cmd: Command) => {
      const r = await withClient(connectRegistered(globals(cmd), domain), (c) =>
        c.traverseTransactions(txid, { direction: o.direction === "past" ? 1 : 0, hopCount: o.hops, assetGroupId: o.assetGroup ?? null, userId: o.user ?? null }),
      ).catch((e: unknown) => {
        if (notFound(e)) throw new CliError(`transaction ${toHex(txid)} is not in domain ${toHex(domain)}`);
        throw e;
      });
      if (o.json) return print({ all_included: r.allIncluded, levels: r.tree.map((level) => level.map(describeTransaction)) });
      r.tree.forEach((level, i) => {
        print(`level ${i}:`);
        for (const t of level) print(`  ${summaryLine(t)}`);
      });
      if (!r.allIncluded) process.stderr.write("the walk stopped at the node's search_config.max_traverse: not every transaction is listed\n");
    });

  tx.command("verify")
    .description("check a stored transaction here, not on the node: its id, every signature, its asset files")
    .argument("<domain>", "domain id", hexId("DOMAIN"))
    .argument("<txid>", "transaction id", hexId("TXID"))
    .option("--json", "JSON output")
    .action(async (domain: Uint8Array, txid: Uint8Array, o: { json?: boolean }, cmd: Command) => {
      const r = await withClient(connectRegistered(globals(cmd), domain), (c) => c.searchTransaction(txid, { acceptCompromised: true })).catch((e: unknown) => {
        if (notFound(e)) throw new CliError(`transaction ${toHex(txid)} is not in domain ${toHex(domain)}`);
        throw e;
      });
      if (r.transactionData === null) throw new CliError(`the node returned no data for ${toHex(txid)}`);
      const files = new Map<string, Uint8Array>([...present(r.assetFiles), ...present(r.compromisedAssetFiles)]);
      const v = verifyTransactionData(r.transactionData, { expectedId: txid, files });
      if (r.compromised) v.checks.push({ name: "node", ok: false, detail: "the node reports this transaction as compromised" });
      const ok = v.checks.every((c) => c.ok);
      if (o.json) print({ transaction_id: toHex(txid), ok, checks: v.checks });
      else {
        for (const c of v.checks) print(`${c.ok ? "ok  " : "FAIL"}  ${c.name}${c.detail ? `: ${c.detail}` : ""}`);
        print(ok ? `transaction ${toHex(txid)} is valid` : `transaction ${toHex(txid)} is NOT valid`);
      }
      if (!ok) process.exitCode = 1;
    });
}
