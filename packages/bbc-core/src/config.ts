import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from "node:fs";
import { join } from "node:path";
import { CoreError } from "./errors.js";

/** Default core (client) port of v1.1.1. */
export const DEFAULT_CORE_PORT = 9000;
/** Default P2P port of v1.1.1. */
export const DEFAULT_P2P_PORT = 6641;
/** Default working directory of v1.1.1. */
export const DEFAULT_WORKING_DIR = ".bbc1";
/** Config file name inside the working directory. */
export const DEFAULT_CONFIG_FILE = "config.json";
/** domain_global_0 as a hex string. */
export const DOMAIN_GLOBAL_0_HEX = "0".repeat(64);

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };
/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** The v1.1.1 `plain_config` (bbc_config.py), key order kept. */
export function defaultConfig(): JsonObject {
  return {
    workingdir: DEFAULT_WORKING_DIR,
    client: { port: DEFAULT_CORE_PORT, use_node_key: true },
    network: { p2p_port: DEFAULT_P2P_PORT, max_connections: 100 },
    domain_key: { use: false, directory: DEFAULT_WORKING_DIR + "/domain_keys", obsolete_timeout: 300 },
    search_config: { max_count: 30, max_traverse: 30 },
    domains: {
      [DOMAIN_GLOBAL_0_HEX]: {
        module: "p2p_domain0",
        static_nodes: {},
        use_ledger_subsystem: false,
        ledger_subsystem: { subsystem: "ethereum", max_transactions: 4096, max_seconds: 3600 },
      },
    },
    domain_default: {
      storage: { type: "internal" },
      db: {
        db_type: "sqlite",
        db_name: "bbc_ledger.sqlite",
        replication_strategy: "all",
        db_servers: [{ db_addr: "127.0.0.1", db_port: 3306, db_user: "user", db_pass: "pass" }],
      },
      static_nodes: {},
    },
    ethereum: {
      chain_id: 15,
      port: 30303,
      log: "geth.log",
      account: "",
      passphrase: "",
      contract: "BBcAnchor",
      contract_address: "",
    },
  };
}

/** True for a plain JSON object. */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** v1.1.1 `update_deep`: nested objects merge key by key; any other value replaces. */
export function updateDeep(target: JsonObject, source: JsonObject): JsonObject {
  for (const [k, v] of Object.entries(source)) {
    if (isJsonObject(v)) {
      const cur = target[k];
      target[k] = updateDeep(isJsonObject(cur) ? cur : {}, v);
    } else {
      target[k] = structuredClone(v);
    }
  }
  return target;
}

function readJson(path: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new CoreError("CONFIG_IO", `cannot read config file ${path}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CoreError("CONFIG_INVALID", `config file must be in JSON format: ${path}`, { cause });
  }
  if (!isJsonObject(parsed)) throw new CoreError("CONFIG_INVALID", `config file ${path} must hold a JSON object`);
  return parsed;
}

/** Options of {@link BBcConfig}. */
export interface BBcConfigOptions {
  /** Working directory (default `.bbc1`); created (one level) when missing. */
  workingDir?: string;
  /** Config file path (default `<workingDir>/config.json`). */
  configFile?: string;
  /** `--default_config`: a file whose top-level sections replace the loaded ones (v1.1.1 order). */
  defaultConfigFile?: string;
}

/**
 * Creates the working directory (one level, as v1.1.1's `os.mkdir`) unless it exists. One that appears meanwhile is
 * fine: a `--daemon` child's log file (pino creating its directory) and the config can race for it.
 * @internal
 */
export function createWorkingDir(dir: string): void {
  if (existsSync(dir)) return;
  try {
    mkdirSync(dir);
  } catch (cause) {
    if ((cause as { code?: string }).code === "EEXIST" && existsSync(dir)) return;
    throw new CoreError("CONFIG_IO", `cannot create working directory ${dir}`, { cause });
  }
}

/**
 * `config.json` with the v1.1.1 structure and defaults (bbc_config.py): defaults, deep-merged
 * with the file, then `--default_config` sections replacing top-level sections, then written
 * back. Writes are atomic (temp file + fsync + rename).
 */
export class BBcConfig {
  readonly workingDir: string;
  readonly configFile: string;
  readonly config: JsonObject;

  constructor(options: BBcConfigOptions = {}) {
    this.config = defaultConfig();
    if (options.workingDir !== undefined) {
      this.workingDir = options.workingDir;
      this.config.workingdir = options.workingDir;
    } else {
      this.workingDir = DEFAULT_WORKING_DIR;
    }
    this.configFile = options.configFile ?? join(this.workingDir, DEFAULT_CONFIG_FILE);
    createWorkingDir(this.workingDir);
    if (existsSync(this.configFile)) updateDeep(this.config, readJson(this.configFile));
    if (options.defaultConfigFile !== undefined && existsSync(options.defaultConfigFile)) {
      Object.assign(this.config, readJson(options.defaultConfigFile));
    }
    this.validate();
    this.save();
  }

  /** Checks the types of the values the core reads. */
  validate(): void {
    const c = this.config;
    const obj = (k: string): JsonObject => {
      const v = c[k];
      if (!isJsonObject(v)) throw new CoreError("CONFIG_INVALID", `config: "${k}" must be an object`);
      return v;
    };
    const client = obj("client");
    if (client.port !== undefined && client.port !== null && !isPort(client.port)) {
      throw new CoreError("CONFIG_INVALID", `config: client.port must be a port number`);
    }
    const sc = obj("search_config");
    for (const k of ["max_count", "max_traverse"]) {
      if (sc[k] !== undefined && (typeof sc[k] !== "number" || !Number.isInteger(sc[k]))) {
        throw new CoreError("CONFIG_INVALID", `config: search_config.${k} must be an integer`);
      }
    }
    const domains = obj("domains");
    for (const [k, v] of Object.entries(domains)) {
      if (!/^[0-9a-fA-F]{64}$/.test(k)) throw new CoreError("CONFIG_INVALID", `config: domain id ${JSON.stringify(k)} is not 64 hex digits`);
      if (!isJsonObject(v)) throw new CoreError("CONFIG_INVALID", `config: domains.${k} must be an object`);
    }
    obj("domain_default");
  }

  /** search_config.max_count. */
  get searchMaxCount(): number {
    return numberAt(this.config, ["search_config", "max_count"], 30);
  }

  /** search_config.max_traverse. */
  get traverseMaxCount(): number {
    return numberAt(this.config, ["search_config", "max_traverse"], 30);
  }

  /** The `domains` section. */
  get domains(): JsonObject {
    return this.config.domains as JsonObject;
  }

  /**
   * The section of a domain (v1.1.1 `get_domain_config`): the on-disk section wins if the file
   * has one; with `createIfNew` a missing section becomes a deep copy of `domain_default`
   * (the reference aliases the object, Quirk C5; we copy).
   */
  domainConfig(domainHex: string, createIfNew = false): JsonObject | undefined {
    try {
      if (existsSync(this.configFile)) {
        const onDisk = readJson(this.configFile).domains;
        if (isJsonObject(onDisk) && isJsonObject(onDisk[domainHex])) this.domains[domainHex] = onDisk[domainHex];
      }
    } catch {
      // an unreadable file on disk does not stop domain creation
    }
    if (createIfNew && !isJsonObject(this.domains[domainHex])) {
      this.domains[domainHex] = structuredClone(this.config.domain_default as JsonObject);
    }
    const v = this.domains[domainHex];
    return isJsonObject(v) ? v : undefined;
  }

  /** Removes a domain section and saves. */
  removeDomainConfig(domainHex: string): void {
    if (domainHex in this.domains) {
      delete this.domains[domainHex];
      this.save();
    }
  }

  /** JSON text as REQUEST_GET_CONFIG returns it (2-space indentation); saves first, as the reference. */
  jsonText(): string {
    this.save();
    return JSON.stringify(this.config, null, 2);
  }

  /** Writes the config file (4-space indentation) atomically. Returns false on failure. */
  save(): boolean {
    const tmp = `${this.configFile}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify(this.config, null, 4));
      const fd = openSync(tmp, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.configFile);
      return true;
    } catch {
      return false;
    }
  }
}

function isPort(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 65535;
}

function numberAt(c: JsonObject, path: string[], dflt: number): number {
  let cur: JsonValue | undefined = c;
  for (const p of path) {
    if (!isJsonObject(cur)) return dflt;
    cur = cur[p];
  }
  return typeof cur === "number" ? cur : dflt;
}
