/**
 * Node administration through the client port (v1.1.1 utils: bbc_info.py, bbc_domain_update.py,
 * bbc_ping.py, id_create.py): statistics, config, domains, users, neighbours, static nodes, ping.
 */
import type { Command } from "commander";
import { getNewId, getRandomId, toHex } from "@bbc1/bbclib";
import type { NeighborInfo } from "@bbc1/client";
import { CliError, connect, globals, parseId, parseInteger, print, withClient } from "./common.js";

const hexId = parseId("DOMAIN");

function neighborRows(list: NeighborInfo[]) {
  return list.map((n) => ({ node_id: toHex(n.nodeId), ipv4: n.ipv4, ipv6: n.ipv6, port: n.port, domain0: n.domain0, updated_at: n.updatedAt }));
}

/** Adds the admin commands to `program`. */
export function addAdminCommands(program: Command): void {
  program
    .command("stat")
    .description("the node's statistics counters (bbc_info.py --stat)")
    .option("--json", "JSON output")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const stats = await withClient(connect(globals(cmd), { admin: true }), (c) => c.getStats());
      if (o.json) return print(stats);
      for (const [cat, counters] of Object.entries(stats)) for (const [k, v] of Object.entries(counters)) print(`${cat}.${k} ${v}`);
    });

  program
    .command("config")
    .description("the node's config.json as the node holds it (bbc_info.py --getconfig)")
    .action(async (_o: unknown, cmd: Command) => {
      print((await withClient(connect(globals(cmd), { admin: true }), (c) => c.getBbcConfig())).json);
    });

  const listDomains = async (o: { json?: boolean }, cmd: Command) => {
    const ids = await withClient(connect(globals(cmd), { admin: true }), (c) => c.getDomainList());
    if (o.json) return print(ids.map(toHex));
    for (const d of ids) print(toHex(d));
  };
  program.command("domains").description("the domains the node serves").option("--json", "JSON output").action(listDomains);

  program
    .command("node-id")
    .description("the node's node_id in DOMAIN (bbc_info.py -d DOMAIN -n)")
    .argument("<domain>", "domain id (64 hex digits)", hexId)
    .action(async (domain: Uint8Array, _o: unknown, cmd: Command) => {
      print(toHex(await withClient(connect(globals(cmd), { admin: true, domainId: domain }), (c) => c.getNodeId())));
    });

  program
    .command("users")
    .description("users registered on the node in DOMAIN (bbc_info.py -u)")
    .argument("<domain>", "domain id", hexId)
    .option("--json", "JSON output")
    .action(async (domain: Uint8Array, o: { json?: boolean }, cmd: Command) => {
      const users = await withClient(connect(globals(cmd), { admin: true, domainId: domain }), (c) => c.getUserList());
      if (o.json) return print(users.map(toHex));
      for (const u of users) print(toHex(u));
    });

  program
    .command("neighbors")
    .description("the neighbour list of DOMAIN, or of every domain (bbc_info.py -l); the node itself comes first")
    .argument("[domain]", "domain id (default: every domain)", hexId)
    .option("--json", "JSON output")
    .action(async (domain: Uint8Array | undefined, o: { json?: boolean }, cmd: Command) => {
      const out = await withClient(connect(globals(cmd), { admin: true }), async (c) => {
        const domains = domain !== undefined ? [domain] : await c.getDomainList();
        const rows = [];
        for (const d of domains) rows.push({ domain_id: toHex(d), neighbors: neighborRows(await c.getDomainNeighborlist(d)) });
        return rows;
      });
      if (o.json) return print(domain !== undefined ? out[0] : out);
      for (const d of out) {
        print(`domain ${d.domain_id}: ${d.neighbors.length} node(s)`);
        for (const n of d.neighbors) print(`  ${n.node_id}  ${n.ipv4}  [${n.ipv6}]:${n.port}${n.domain0 ? "  domain0" : ""}  updated ${new Date(n.updated_at * 1000).toISOString()}`);
      }
    });

  program
    .command("forwarding")
    .description("the forwarding list of DOMAIN (user / asset group -> node ids)")
    .argument("<domain>", "domain id", hexId)
    .action(async (domain: Uint8Array, _o: unknown, cmd: Command) => {
      const list = await withClient(connect(globals(cmd), { admin: true, domainId: domain }), (c) => c.getForwardingList());
      print(list.map((e) => ({ id: toHex(e.id), nodes: e.ids.map(toHex) })));
    });

  program
    .command("notifications")
    .description("insert-notification subscriptions of DOMAIN (asset group -> users)")
    .argument("<domain>", "domain id", hexId)
    .action(async (domain: Uint8Array, _o: unknown, cmd: Command) => {
      const list = await withClient(connect(globals(cmd), { admin: true, domainId: domain }), (c) => c.getNotificationList());
      print(list.map((e) => ({ asset_group_id: toHex(e.id), users: e.ids.map(toHex) })));
    });

  const setup = async (domain: Uint8Array, conf: string | undefined, _o: unknown, cmd: Command) => {
    if (conf !== undefined) {
      try {
        JSON.parse(conf);
      } catch (e) {
        throw new CliError(`CONFIG_JSON is not JSON: ${(e as Error).message}`, 2);
      }
    }
    const r = await withClient(connect(globals(cmd), { admin: true }), (c) => c.domainSetup(domain, conf ?? null));
    print(r.result ? "success" : (r.reason ?? "failed"));
    if (!r.result && r.reason !== "Already exists") throw new CliError(`domain setup failed: ${r.reason ?? "no reason given"}`);
  };
  const close = async (domain: Uint8Array, _o: unknown, cmd: Command) => {
    const r = await withClient(connect(globals(cmd), { admin: true }), (c) => c.domainClose(domain));
    print(r.result ? "success" : (r.reason ?? "failed"));
    if (!r.result) throw new CliError(`domain close failed: ${r.reason ?? "no such domain?"}`);
  };
  const domain = program.command("domain").description("create, close or list the node's domains (bbc_domain_update.py)");
  domain
    .command("setup")
    .description("create DOMAIN on the node, optionally with its config section as JSON (bbc_domain_update.py -a)")
    .argument("<domain>", "domain id", hexId)
    .argument("[config_json]", 'domain config section, e.g. \'{"db":{"db_type":"sqlite"}}\'')
    .action(setup);
  domain.command("close").description("close DOMAIN: the node leaves it, its ledger files stay (bbc_domain_update.py -r)").argument("<domain>", "domain id", hexId).action(close);
  domain.command("list").description("the domains the node serves (same as `bbc1 domains`)").option("--json", "JSON output").action(listDomains);
  // the names of the first bbc1 CLI
  program.command("domain-setup", { hidden: true }).argument("<domain>", "domain id", hexId).argument("[config_json]").action(setup);
  program.command("domain-close", { hidden: true }).argument("<domain>", "domain id", hexId).action(close);

  program
    .command("static-node")
    .description("add a static neighbour to DOMAIN (REQUEST_SET_STATIC_NODE): the node links with it and keeps it in config.json")
    .argument("<domain>", "domain id", hexId)
    .argument("<node_id>", "the neighbour's node id", parseId("NODE_ID"))
    .argument("<ipv4>", 'its IPv4 address ("0.0.0.0" if none)')
    .argument("<ipv6>", 'its IPv6 address ("::" if none)')
    .argument("[port]", "its P2P port", parseInteger(1, 65535), 6641)
    .action(async (d: Uint8Array, n: Uint8Array, v4: string, v6: string, port: number, _o: unknown, cmd: Command) => {
      const ok = await withClient(connect(globals(cmd), { admin: true }), (c) => c.setDomainStaticNode(d, n, v4, v6, port));
      print(ok ? "success" : "failed");
      if (!ok) throw new CliError("the node did not accept the static node");
    });

  program
    .command("ping")
    .description("make the node send a domain ping to another node's P2P port (DOMAIN_PING, no answer): the pong makes them neighbours")
    .argument("<domain>", "domain id", hexId)
    .argument("<address>", "IPv4 or IPv6 address of the other node")
    .argument("[port]", "its P2P port", parseInteger(1, 65535), 6641)
    .action(async (d: Uint8Array, addr: string, port: number, _o: unknown, cmd: Command) => {
      const v6 = addr.includes(":");
      await withClient(connect(globals(cmd), { admin: true }), async (c) => {
        await c.sendDomainPing(d, v6 ? null : addr, v6 ? addr : null, port);
        // the node does not answer DOMAIN_PING: a signed admin call after it shows that it was read and accepted
        await c.getDomainList();
      });
      print("sent");
    });

  program
    .command("id-create")
    .description("a new 32-byte id as 64 hex digits, offline (id_create.py)")
    .option("-s, --string <text>", "SHA-256 of this text instead of random bytes")
    .option("-t, --timebaseid", "with -s: include the current time (a new id each time)")
    .option("-r, --random", "random bytes (the default)")
    .action((o: { string?: string; timebaseid?: boolean }) => {
      print(toHex(o.string !== undefined ? getNewId(o.string, o.timebaseid === true) : getRandomId()));
    });
}
