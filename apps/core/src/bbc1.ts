#!/usr/bin/env node
/**
 * bbc1: administration of a running node, replacing v1.1.1's utils (bbc_info.py,
 * bbc_domain_update.py, domain_key_setup.py -n, bbc_ping.py, id_create.py).
 *
 *   bbc1 [-4 HOST | -6 HOST] [-p PORT] [-k NODE_KEY] <command> [args]
 *
 * Admin messages are signed with the node key (default .bbc1/node_key.pem, used when present).
 */
import { existsSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import { fromHex, getNewId, getRandomId, toHex } from "@bbc1/bbclib";
import { BBcAppClient } from "@bbc1/client";

const HELP = `usage: bbc1 [-4 HOST | -6 HOST] [-p PORT] [-k NODE_KEY] [-t TIMEOUT_MS] <command> [args]

commands:
  stat                                 node statistics (bbc_info.py --stat)
  config                               the node's config.json (bbc_info.py --getconfig)
  domains                              domains served by the node
  node-id DOMAIN                       the node's id in DOMAIN (bbc_info.py -d DOMAIN -n)
  users DOMAIN                         users registered on the node in DOMAIN (-u)
  neighbors [DOMAIN]                   neighbour list of DOMAIN, or of every domain (-l)
  forwarding DOMAIN                    forwarding list of DOMAIN
  notifications DOMAIN                 insert-notification subscriptions of DOMAIN
  domain-setup DOMAIN [CONFIG_JSON]    create a domain (bbc_domain_update.py -a)
  domain-close DOMAIN                  close a domain (bbc_domain_update.py -r)
  static-node DOMAIN NODE_ID IPV4 IPV6 PORT
  ping DOMAIN ADDRESS [PORT]           domain ping towards another node's P2P port (default 6641)
  key-update DOMAIN                    NOTIFY_DOMAIN_KEY_UPDATE (domain_key_setup.py -n)
  id-create [-s STRING [-t]] [-r]      a new id (id_create.py), offline

ids are 64 hex digits. Defaults: -4 127.0.0.1, -p 9000, -k .bbc1/node_key.pem (if it exists).`;

function die(msg: string, code = 2): never {
  process.stderr.write(`bbc1: ${msg}\n`);
  process.exit(code);
}

function id(v: string | undefined, what: string): Uint8Array {
  if (v === undefined || !/^[0-9a-fA-F]{64}$/.test(v)) die(`${what} must be 64 hex digits`);
  return fromHex(v);
}

function print(v: unknown): void {
  process.stdout.write(`${typeof v === "string" ? v : JSON.stringify(v, null, 2)}\n`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let host = "127.0.0.1";
  let port = 9000;
  let keyPath = ".bbc1/node_key.pem";
  let keyGiven = false;
  let timeoutMs = 10_000;
  while (argv.length > 0 && argv[0]!.startsWith("-") && argv[0] !== "-h" && argv[0] !== "--help") {
    const f = argv.shift()!;
    const v = argv.shift();
    if (v === undefined) die(`${f} needs a value`);
    if (f === "-4" || f === "-6") host = v;
    else if (f === "-p") port = Number(v);
    else if (f === "-k") {
      keyPath = v;
      keyGiven = true;
    } else if (f === "-t") timeoutMs = Number(v);
    else die(`unknown option ${f}\n${HELP}`);
  }
  const cmd = argv.shift();
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    print(HELP);
    return;
  }
  if (cmd === "id-create") {
    const s = argv.indexOf("-s");
    if (s >= 0) {
      const str = argv[s + 1] ?? die("-s needs a string");
      print(toHex(getNewId(str, argv.includes("-t"))));
    } else print(toHex(getRandomId()));
    return;
  }

  const client = await BBcAppClient.connect({ host, port, requestTimeoutMs: timeoutMs }).catch((e: unknown) => die(`cannot connect to ${host}:${port}: ${(e as Error).message}`, 1));
  try {
    if (existsSync(keyPath)) await client.loadNodeKey(keyPath);
    else if (keyGiven) die(`node key ${keyPath} not found`);
    switch (cmd) {
      case "stat":
        print(await client.getStats());
        break;
      case "config":
        print((await client.getBbcConfig()).json);
        break;
      case "domains":
        for (const d of await client.getDomainList()) print(toHex(d));
        break;
      case "node-id": {
        client.setDomainId(id(argv[0], "DOMAIN"));
        print(toHex(await client.getNodeId()));
        break;
      }
      case "users":
        client.setDomainId(id(argv[0], "DOMAIN"));
        for (const u of await client.getUserList()) print(toHex(u));
        break;
      case "forwarding":
        client.setDomainId(id(argv[0], "DOMAIN"));
        print((await client.getForwardingList()).map((e) => ({ id: toHex(e.id), nodes: e.ids.map(toHex) })));
        break;
      case "notifications":
        client.setDomainId(id(argv[0], "DOMAIN"));
        print((await client.getNotificationList()).map((e) => ({ asset_group_id: toHex(e.id), users: e.ids.map(toHex) })));
        break;
      case "neighbors": {
        const domains = argv[0] !== undefined ? [id(argv[0], "DOMAIN")] : await client.getDomainList();
        for (const d of domains) {
          const list = await client.getDomainNeighborlist(d);
          print({ domain_id: toHex(d), neighbors: list.map((n) => ({ ...n, nodeId: toHex(n.nodeId) })) });
        }
        break;
      }
      case "domain-setup": {
        const r = await client.domainSetup(id(argv[0], "DOMAIN"), argv[1] ?? null);
        print(r.result ? "success" : (r.reason ?? "failed"));
        break;
      }
      case "domain-close": {
        const r = await client.domainClose(id(argv[0], "DOMAIN"));
        print(r.result ? "success" : (r.reason ?? "failed"));
        break;
      }
      case "static-node": {
        const [d, n, v4, v6, p] = argv;
        const ok = await client.setDomainStaticNode(id(d, "DOMAIN"), id(n, "NODE_ID"), v4 ?? "0.0.0.0", v6 ?? "::", Number(p ?? 6641));
        print(ok ? "success" : "failed");
        break;
      }
      case "ping": {
        const [d, addr, p] = argv;
        if (addr === undefined) die("ping needs DOMAIN ADDRESS [PORT]");
        const v6 = addr.includes(":");
        await client.sendDomainPing(id(d, "DOMAIN"), v6 ? null : addr, v6 ? addr : null, Number(p ?? 6641));
        print("sent");
        break;
      }
      case "key-update":
        client.setDomainId(id(argv[0], "DOMAIN"));
        await client.notifyDomainKeyUpdate();
        print("sent");
        break;
      default:
        die(`unknown command ${cmd}\n${HELP}`);
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    die(code === "TIMEOUT" ? "no answer (admin commands need a valid node key: -k PATH)" : (e as Error).message, 1);
  } finally {
    await client.close().catch(() => undefined);
  }
}

if (isMainThread) void main();
