/**
 * `bbc1 key show | rotate` (the node key admin clients sign with) and `bbc1 domain-key setup |
 * notify` (v1.1.1 utils/domain_key_setup.py: the P-256 key every node of a domain shares to sign
 * its admin messages, `<domain_key.directory>/<domain_id hex>.pem`).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Command } from "commander";
import { KeyPair, toHex } from "@bbc1/bbclib";
import { isBbcClientError } from "@bbc1/client";
import { writeNodeKey, type JsonObject } from "@bbc1/core";
import { CliError, connect, globals, nodeKeyPath, parseId, parseInteger, print, readNodeConfig, withClient, type GlobalOptions } from "./common.js";

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

function readKey(path: string): KeyPair {
  if (!existsSync(path)) throw new CliError(`no key file at ${resolve(path)}: give the node's working directory with -w DIR or the key with -k PATH`, 2);
  try {
    return new KeyPair().fromPrivateKeyPem(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`${resolve(path)} is not a readable private key: ${(e as Error).message}`);
  }
}

function publicKeyInfo(key: KeyPair, path: string) {
  return { path: resolve(path), curve: key.curveType === 2 ? "P-256" : "secp256k1", public_key: toHex(key.publicKey!), public_key_pem: key.getPublicKeyPem() };
}

/** Signed admin round trips until the node accepts `key` (after SIGHUP it reloads asynchronously). */
async function nodeAccepts(g: GlobalOptions, path: string, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      await withClient(connect({ ...g, nodeKey: path, timeout: 1000 }, { admin: true }), (c) => c.getDomainList({ timeoutMs: 1000 }));
      return true;
    } catch (e) {
      if (!isBbcClientError(e, "TIMEOUT") || Date.now() > end) return false;
    }
  }
}

/** domain_key.directory of the node's config (v1.1.1: relative to the node's current directory). */
function domainKeyDirectory(g: GlobalOptions): { dir: string; use: boolean | undefined; from: string } {
  try {
    const { config, file } = readNodeConfig(g);
    const dk = config.domain_key as JsonObject | undefined;
    const dir = typeof dk?.directory === "string" ? dk.directory : ".bbc1/domain_keys";
    return { dir, use: dk?.use === true, from: `domain_key.directory of ${file}` };
  } catch (e) {
    if (e instanceof CliError) return { dir: join(g.workingdir, "domain_keys"), use: undefined, from: "the default (no node config found)" };
    throw e;
  }
}

async function notify(g: GlobalOptions, domain: Uint8Array): Promise<void> {
  await withClient(connect(g, { admin: true, domainId: domain }), async (c) => {
    await c.notifyDomainKeyUpdate();
    // NOTIFY_DOMAIN_KEY_UPDATE has no answer: a signed call after it shows the node read and accepted it
    await c.getDomainList();
  });
}

/** Adds `key ...` and `domain-key ...` to `program`. */
export function addKeyCommands(program: Command): void {
  const key = program.command("key").description("the node key (node_key.pem) that admin commands are signed with");

  key
    .command("show")
    .description("the node key's public key (from <workingdir>/node_key.pem or -k)")
    .option("--json", "JSON output")
    .action((o: { json?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const { path } = nodeKeyPath(g);
      const info = publicKeyInfo(readKey(path), path);
      if (o.json) return print(info);
      print(`node key ${info.path} (${info.curve})\npublic key ${info.public_key}\n${info.public_key_pem.trimEnd()}`);
    });

  key
    .command("rotate")
    .description("replace the node key with a new one (the old file is kept as node_key.pem.<time>.old); the node uses it after SIGHUP or a restart")
    .option("--pid <pid>", "send SIGHUP to this bbc1-core process and check that it accepts the new key", parseInteger(1, 2 ** 31))
    .option("--json", "JSON output")
    .action(async (o: { pid?: number; json?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const { path } = nodeKeyPath(g);
      readKey(path); // must exist and be a key: a typo in -w must not create a key nobody uses
      const kept = `${path}.${stamp()}.old`;
      renameSync(path, kept);
      const fresh = KeyPair.generate(2);
      try {
        writeNodeKey(path, fresh);
      } catch (e) {
        renameSync(kept, path);
        throw e;
      }
      const out: Record<string, unknown> = { ...publicKeyInfo(fresh, path), old_key_kept_as: resolve(kept) };
      if (o.pid !== undefined) {
        try {
          process.kill(o.pid, "SIGHUP");
        } catch (e) {
          throw new CliError(`new key written, but SIGHUP to pid ${o.pid} failed: ${(e as Error).message}; restart the node to use it`);
        }
        out.node_accepts_new_key = await nodeAccepts(g, path, 10_000);
      }
      if (o.json) print(out);
      else {
        print(`new node key ${out.path}\npublic key ${String(out.public_key)}\nold key kept as ${String(out.old_key_kept_as)}`);
        if (o.pid === undefined) print("the node checks admin commands with the new key after `kill -HUP <pid>` or a restart; give the new file to admin clients");
        else print(out.node_accepts_new_key ? `node (pid ${o.pid}) accepts the new key` : `node (pid ${o.pid}) does not accept the new key yet (is -p its client port?)`);
      }
      if (o.pid !== undefined && out.node_accepts_new_key !== true) process.exitCode = 1;
    });

  const dk = program.command("domain-key").description("domain keys: the key all nodes of a domain share to sign admin messages to each other (domain_key_setup.py)");

  dk.command("setup")
    .description("generate DOMAIN's key as <domain_key.directory>/<DOMAIN>.pem (P-256, SEC1 EC PRIVATE KEY) and notify the node")
    .argument("<domain>", "domain id (64 hex digits)", parseId("DOMAIN"))
    .option("--dir <dir>", "directory for domain keys (default: domain_key.directory of the node's config.json)")
    .option("--force", "replace an existing key (the old file is kept as <DOMAIN>.pem.<time>.old)")
    .option("--no-notify", "do not send NOTIFY_DOMAIN_KEY_UPDATE to the node")
    .option("--json", "JSON output")
    .action(async (domain: Uint8Array, o: { dir?: string; force?: boolean; notify: boolean; json?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const where = o.dir !== undefined ? { dir: o.dir, use: undefined, from: "--dir" } : domainKeyDirectory(g);
      const file = join(where.dir, `${toHex(domain)}.pem`);
      const out: Record<string, unknown> = { file: resolve(file), directory_from: where.from };
      if (existsSync(file)) {
        if (o.force !== true) throw new CliError(`${resolve(file)} exists: every node of the domain must hold the same key; copy that one, or use --force to replace it`);
        const kept = `${file}.${stamp()}.old`;
        renameSync(file, kept);
        out.old_key_kept_as = resolve(kept);
      }
      mkdirSync(where.dir, { recursive: true, mode: 0o700 });
      const keypair = KeyPair.generate(2);
      writeFileSync(file, keypair.getPrivateKeyPem(), { mode: 0o600 });
      chmodSync(file, 0o600);
      out.public_key = toHex(keypair.publicKey!);
      const notes: string[] = [];
      if (where.use === false) notes.push("domain_key.use is false in the node's config.json: the node ignores domain keys until it is true");
      if (!isAbsolute(where.dir)) notes.push(`${where.dir} is relative: the node resolves it against its own current directory (as v1.1.1); run bbc1 there or give --dir`);
      notes.push("copy this file to every node of the domain (same directory), then run `bbc1 domain-key notify` against each");
      if (o.notify) {
        try {
          await notify(g, domain);
          out.notified = true;
        } catch (e) {
          out.notified = false;
          notes.push(`the node was not notified (${e instanceof Error ? e.message : String(e)}); it loads the key when it opens the domain, or run \`bbc1 domain-key notify\``);
        }
      }
      out.notes = notes;
      if (o.json) return print(out);
      print(`domain key ${String(out.file)}\npublic key ${String(out.public_key)}${out.notified === true ? "\nnode notified (NOTIFY_DOMAIN_KEY_UPDATE)" : ""}`);
      for (const n of notes) process.stderr.write(`note: ${n}\n`);
    });

  const notifyCmd = async (domain: Uint8Array, _o: unknown, cmd: Command) => {
    await notify(globals(cmd), domain);
    print("sent");
  };
  dk.command("notify")
    .description("make the node reload DOMAIN's key (NOTIFY_DOMAIN_KEY_UPDATE, domain_key_setup.py -n)")
    .argument("<domain>", "domain id", parseId("DOMAIN"))
    .action(notifyCmd);
  program.command("key-update", { hidden: true }).argument("<domain>", "domain id", parseId("DOMAIN")).action(notifyCmd);
}
