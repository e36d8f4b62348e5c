/** A domain's ledger opened straight from the node's working directory (export, backup, migrate). */
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { toHex } from "@bbc1/bbclib";
import { DEFAULT_SEARCH_MAX_COUNT, openLedgerStore, resolveStorageConfig, type DomainStorageConfig, type LedgerStore } from "@bbc1/storage";
import type { JsonObject } from "@bbc1/core";
import { CliError, readNodeConfig, type GlobalOptions } from "./common.js";

export const DOMAIN0 = "0".repeat(64);

/** The domain's config section (the node's, or domain_default for a domain it does not list). */
export function domainSection(config: JsonObject, hex: string, file: string): DomainStorageConfig {
  const domains = (config.domains ?? {}) as Record<string, unknown>;
  const section = domains[hex] ?? domains[hex.toUpperCase()];
  if (section === undefined) throw new CliError(`domain ${hex} is not in ${file} (bbc1 domains lists what the node serves)`);
  return section as DomainStorageConfig;
}

/** Opens the ledger of `domainId` as the node configures it, refusing to create a SQLite file that is not there. */
export async function openDomainStore(g: GlobalOptions, domainId: Uint8Array, section?: DomainStorageConfig): Promise<{ store: LedgerStore; section: DomainStorageConfig; config: JsonObject; file: string }> {
  const { config, file } = readNodeConfig(g);
  const hex = toHex(domainId);
  const s = section ?? domainSection(config, hex, file);
  const resolved = resolveStorageConfig({ domainId, workingDir: g.workingdir, config: s });
  if (resolved.dbType === "sqlite" && section === undefined && !existsSync(resolved.servers[0]!.file!)) {
    throw new CliError(`no ledger at ${resolved.servers[0]!.file} (is -w the node's working directory?)`);
  }
  const maxCount = (config.search_config as JsonObject | undefined)?.max_count;
  const store = await openLedgerStore({ domainId, workingDir: g.workingdir, config: s, searchMaxCount: typeof maxCount === "number" ? maxCount : DEFAULT_SEARCH_MAX_COUNT });
  return { store, section: s, config, file };
}

/** True when something accepts connections on the node's configured client port (the node runs). */
export function nodeListening(config: JsonObject, host = "127.0.0.1"): Promise<boolean> {
  const port = (config.client as JsonObject | undefined)?.port;
  if (typeof port !== "number") return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
