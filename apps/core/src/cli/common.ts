/**
 * What every `bbc1` command shares: the global options, the connection to a node (with its node
 * key), id arguments, output (human or `--json`) and the one error type of the CLI.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { fromHex, getRandomId, toHex } from "@bbc1/bbclib";
import { BBcAppClient, isBbcClientError } from "@bbc1/client";
import { NODE_KEY_FILE, defaultConfig, updateDeep, isCoreError, type JsonObject } from "@bbc1/core";
import { chainMessage } from "../explain.js";

/** A failure the CLI reports as `bbc1: <message>` and exits with `exitCode` (1: failed, 2: usage). */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Global options (before or after the command). */
export interface GlobalOptions {
  host: string;
  host6?: string;
  port: number;
  nodeKey?: string;
  workingdir: string;
  config?: string;
  timeout: number;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** commander argument parser: a 32-byte id as 64 hex digits. */
export function parseId(what: string): (v: string) => Uint8Array {
  return (v: string) => {
    if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new InvalidArgumentError(`${what} must be 64 hex digits (bbc1 id-create makes one)`);
    return fromHex(v);
  };
}

/** commander argument parser: an integer in [min, max]. */
export function parseInteger(min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** Where the node key is looked for: `-k`, else `<workingdir>/node_key.pem`. */
export function nodeKeyPath(g: GlobalOptions): { path: string; explicit: boolean } {
  if (g.nodeKey !== undefined) return { path: g.nodeKey, explicit: true };
  return { path: join(g.workingdir, NODE_KEY_FILE), explicit: false };
}

function shown(path: string): string {
  return isAbsolute(path) ? path : `${path} (${resolve(path)})`;
}

/**
 * Connects to the node and, when the key file exists, signs admin commands with it. A key given
 * with `-k` must exist. Without a key, admin commands to a node that checks them fail after the
 * client's short unsigned-admin timeout with a message that says so.
 */
export async function connect(g: GlobalOptions, options: { admin?: boolean; domainId?: Uint8Array } = {}): Promise<BBcAppClient> {
  const host = g.host6 ?? g.host;
  const key = nodeKeyPath(g);
  let pem: string | undefined;
  if (options.admin === true) {
    if (existsSync(key.path)) pem = readFileSync(key.path, "utf8");
    else if (key.explicit) throw new CliError(`node key ${shown(key.path)} not found (give the node's node_key.pem with -k PATH, or its working directory with -w DIR)`, 2);
  }
  let client: BBcAppClient;
  try {
    client = await BBcAppClient.connect({ host, port: g.port, requestTimeoutMs: g.timeout, domainId: options.domainId ?? null, userId: getRandomId() });
  } catch (e) {
    throw new CliError(`${e instanceof Error ? e.message : String(e)}; give the node's client port with -p PORT`);
  }
  try {
    if (pem !== undefined) client.setNodeKey(pem);
  } catch (e) {
    await client.close();
    throw new CliError(`node key ${shown(key.path)} is not a readable key: ${chainMessage(e)}`);
  }
  return client;
}

/** Connects as a fresh user registered in `domainId` (routed answers need a registered user). */
export async function connectRegistered(g: GlobalOptions, domainId: Uint8Array): Promise<BBcAppClient> {
  const c = await connect(g, { domainId });
  await c.register();
  return c;
}

/** Runs `fn` with a connection and closes it whatever happens. */
export async function withClient<T>(open: Promise<BBcAppClient>, fn: (c: BBcAppClient) => Promise<T>): Promise<T> {
  const c = await open;
  try {
    return await fn(c);
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** The message a failed command prints: the error's text once, with what to do for known cases. */
export function describeFailure(e: unknown, g?: GlobalOptions): string {
  if (e instanceof CliError) return e.message;
  if (isBbcClientError(e, "TIMEOUT") && g !== undefined) {
    const key = nodeKeyPath(g);
    if (/without a node key/.test(e.message) && !existsSync(key.path)) {
      return `${e.message.split(":")[0]}: the node drops admin commands without its node key, and there is none at ${shown(key.path)}; give it with -k PATH or the node's working directory with -w DIR (or run the node with --no_nodekey)`;
    }
    return e.message;
  }
  if (isBbcClientError(e, "ERROR_STATUS")) return e.reason !== undefined ? `the node refused: ${e.reason}` : e.message;
  if (isCoreError(e)) return `${chainMessage(e)} (${e.code})`;
  return chainMessage(e);
}

/** Prints a value: strings as they are, anything else as 2-space JSON. */
export function print(v: unknown): void {
  process.stdout.write(`${typeof v === "string" ? v : JSON.stringify(v, jsonReplacer, 2)}\n`);
}

/** JSON output: bytes as hex, bigints as numbers. */
export function jsonReplacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === "bigint") return Number(v);
  return v;
}

/**
 * The node's configuration as a CLI run beside it sees it: `<workingdir>/config.json` (or `-c`)
 * merged over the v1.1.1 defaults, read only (nothing is created or written).
 */
export function readNodeConfig(g: GlobalOptions): { config: JsonObject; file: string } {
  const file = g.config ?? join(g.workingdir, "config.json");
  if (!existsSync(file)) throw new CliError(`no node config at ${shown(file)}: give the node's working directory with -w DIR (or its config with -c FILE)`, 2);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new CliError(`${shown(file)} is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new CliError(`${shown(file)} does not hold a JSON object`);
  return { config: updateDeep(defaultConfig(), parsed as JsonObject), file };
}
