/**
 * The `http` section of config.json (the metrics, health and explorer endpoint) and the access
 * token: defaults, validation, and the constant-time token check.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isAbsolute, resolve } from "node:path";
import { CoreError } from "../errors.js";
import { isJsonObject, type JsonValue } from "../config.js";

/** Default port of the HTTP endpoint. */
export const DEFAULT_HTTP_PORT = 9180;

/** The endpoint's settings in code (camelCase of the `http` section; every field optional). */
export interface HttpOptions {
  /** Serve the endpoint. Embedded default: off unless an `http` option or `http.enabled` says so; `bbc1-core` default: on. */
  enabled?: boolean;
  /** Address to bind (default 127.0.0.1). Anything but a loopback address needs a token. */
  host?: string;
  /** Port (default 9180; 0 = ephemeral). */
  port?: number;
  /** Access token for `/metrics`, the explorer and its API (at least 16 characters). */
  token?: string | null;
  /** File holding the token (first line), instead of `token`; relative to the working directory. */
  tokenFile?: string | null;
  /** Serve the ledger explorer page and its JSON API (default true). */
  explorer?: boolean;
  /** Explorer API requests handled at once; more are answered 503 (default 8). */
  maxConcurrentRequests?: number;
  /** Time a request may take before it is answered 503 and its connection closed (default 10000 ms). */
  requestTimeoutMs?: number;
}

/** The settings in force. */
export interface ResolvedHttpOptions {
  enabled: boolean;
  host: string;
  port: number;
  /** SHA-256 of the token (the token itself is not kept), or null when none is configured. */
  tokenDigest: Uint8Array | null;
  explorer: boolean;
  maxConcurrentRequests: number;
  requestTimeoutMs: number;
}

const KEYS: Record<string, keyof HttpOptions> = {
  enabled: "enabled",
  host: "host",
  port: "port",
  token: "token",
  token_file: "tokenFile",
  explorer: "explorer",
  max_concurrent_requests: "maxConcurrentRequests",
  request_timeout_ms: "requestTimeoutMs",
};

function bad(msg: string): never {
  throw new CoreError("CONFIG_INVALID", `config: ${msg}`);
}

/** The `http` section read into {@link HttpOptions} (values type-checked; unknown keys ignored). */
export function readHttpSection(section: JsonValue | undefined): HttpOptions {
  if (section === undefined || section === null) return {};
  if (!isJsonObject(section)) bad(`"http" must be an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(section)) {
    const key = KEYS[k];
    if (key === undefined || v === null) continue;
    out[key] = v;
  }
  return out as HttpOptions;
}

/** True for loopback addresses and names (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./i.test(h);
  return false;
}

/** SHA-256 of a token, the form it is kept and compared in. */
export function tokenDigest(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token, "utf8").digest());
}

/** Constant-time check of a presented token against the configured digest. */
export function tokenMatches(presented: string, digest: Uint8Array): boolean {
  const d = tokenDigest(presented);
  return timingSafeEqual(d, digest);
}

/**
 * Settings in force: each field from the options, else the `http` section, else the default.
 * `enabled` defaults to `defaultEnabled`. Throws `CONFIG_INVALID` for bad values, and for a
 * non-loopback host without a token.
 */
export function resolveHttpOptions(section: HttpOptions, options: HttpOptions | undefined, defaultEnabled: boolean, workingDir: string): ResolvedHttpOptions {
  const o = options ?? {};
  const pick = <K extends keyof HttpOptions>(k: K): HttpOptions[K] => (o[k] !== undefined ? o[k] : section[k]);
  const enabled = pick("enabled") ?? defaultEnabled;
  if (typeof enabled !== "boolean") bad("http.enabled must be true or false");
  const host = pick("host") ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") bad("http.host must be an address");
  const port = pick("port") ?? DEFAULT_HTTP_PORT;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) bad("http.port must be a port number");
  const explorer = pick("explorer") ?? true;
  if (typeof explorer !== "boolean") bad("http.explorer must be true or false");
  const maxConcurrentRequests = pick("maxConcurrentRequests") ?? 8;
  if (typeof maxConcurrentRequests !== "number" || !Number.isInteger(maxConcurrentRequests) || maxConcurrentRequests < 1) bad("http.max_concurrent_requests must be an integer >= 1");
  const requestTimeoutMs = pick("requestTimeoutMs") ?? 10_000;
  if (typeof requestTimeoutMs !== "number" || !(requestTimeoutMs >= 100)) bad("http.request_timeout_ms must be a number >= 100");
  let token = pick("token") ?? null;
  const tokenFile = pick("tokenFile") ?? null;
  if (token !== null && typeof token !== "string") bad("http.token must be a string");
  if (tokenFile !== null) {
    if (typeof tokenFile !== "string") bad("http.token_file must be a path");
    const path = isAbsolute(tokenFile) ? tokenFile : resolve(workingDir, tokenFile);
    try {
      token = readFileSync(path, "utf8").split(/\r?\n/)[0]!.trim();
    } catch (cause) {
      throw new CoreError("CONFIG_IO", `cannot read http.token_file ${path}`, { cause });
    }
  }
  // the token itself never goes into an error message or a log line
  if (token !== null && token.length < 16) bad("http.token must have at least 16 characters");
  if (enabled && token === null && !isLoopbackHost(host)) {
    bad(`http.host ${host} is not a loopback address: set http.token (or http.token_file) so that only holders of the token reach /metrics and the explorer`);
  }
  return { enabled, host, port, tokenDigest: token === null ? null : tokenDigest(token), explorer, maxConcurrentRequests, requestTimeoutMs };
}
