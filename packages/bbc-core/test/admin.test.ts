import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyPair, getNewId } from "@bbc1/bbclib";
import { MsgType } from "@bbc1/wire";
import { client, startNode, type TestNode } from "./helpers/node.js";
import { RawClient, text } from "./helpers/raw-client.js";

const rnd = () => new Uint8Array(32).map(() => Math.floor(Math.random() * 256));

describe("admin commands with the node key (default)", () => {
  let t: TestNode;
  let nodeKey: KeyPair;
  let adm: RawClient;
  const domainId = getNewId("admin test domain");

  beforeAll(async () => {
    t = await startNode({ useNodeKey: undefined });
    nodeKey = new KeyPair().fromPrivateKeyPem(readFileSync(join(t.dir, "node_key.pem"), "utf8"));
    adm = await RawClient.connect(t.port);
    adm.nodeKey = nodeKey;
  });
  afterAll(async () => {
    await adm.close();
    await t.stop();
  });

  it("creates node_key.pem and drops unsigned or wrongly signed admin commands", async () => {
    const unsigned = await RawClient.connect(t.port);
    unsigned.admin(MsgType.REQUEST_GET_DOMAINLIST, { random: rnd() });
    unsigned.nodeKey = KeyPair.generate();
    unsigned.admin(MsgType.REQUEST_GET_DOMAINLIST, { random: rnd() });
    expect(await unsigned.nothing(300)).toBe(true);
    // the connection is kept: a non-admin command still works
    unsigned.domainId = domainId;
    const r = unsigned.request(MsgType.REQUEST_SEARCH_TRANSACTION, { transaction_id: rnd() });
    expect((await unsigned.answer(r)).status).toBe(-14);
    await unsigned.close();
  });

  it("REQUEST_SETUP_DOMAIN: result true, then false 'Already exists'; config.json gets the domain", async () => {
    const req = adm.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: domainId, random: rnd() });
    const res = await adm.answer(req);
    expect(Object.keys(res)).toEqual(["domain_id", "command", "destination_user_id", "query_id", "status", "result"]);
    expect(res.command).toBe(MsgType.RESPONSE_SETUP_DOMAIN);
    expect(res.result).toBe(true);
    expect(res.status).toBe(0);
    expect(res.domain_id).toEqual(domainId);
    const again = await adm.answer(adm.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: domainId, random: rnd() }));
    expect(again.result).toBe(false);
    expect(text(again.reason)).toBe("Already exists");
    const conf = JSON.parse(readFileSync(join(t.dir, "config.json"), "utf8"));
    const section = conf.domains[Buffer.from(domainId).toString("hex")];
    expect(section.node_id).toMatch(/^[0-9a-f]{64}$/);
    expect(section.db.db_type).toBe("sqlite");
  });

  it("REQUEST_GET_CONFIG, GET_DOMAINLIST, GET_STATS", async () => {
    const cfg = await adm.answer(adm.admin(MsgType.REQUEST_GET_CONFIG, { random: rnd() }));
    expect(cfg.command).toBe(MsgType.RESPONSE_GET_CONFIG);
    const json = JSON.parse(text(cfg.bbc_configuration));
    expect(json.client.use_node_key).toBe(true);
    expect(json.search_config).toEqual({ max_count: 30, max_traverse: 30 });
    const dl = await adm.answer(adm.admin(MsgType.REQUEST_GET_DOMAINLIST, { random: rnd() }));
    const list = dl.domain_list as Uint8Array;
    expect(list.subarray(0, 2)).toEqual(new Uint8Array([0, 1]));
    expect(list.subarray(2)).toEqual(domainId);
    const st = await adm.answer(adm.admin(MsgType.REQUEST_GET_STATS, { random: rnd() }));
    const stats = st.stats as Map<Uint8Array, Map<Uint8Array, number>>;
    const flat = new Map<string, Map<string, number>>();
    for (const [k, v] of stats) flat.set(text(k), new Map([...v].map(([a, b]) => [text(a), b])));
    expect(flat.get("client")!.get("total_num")).toBeGreaterThanOrEqual(1);
    expect(flat.get("client")!.get("num_message_receive")).toBeGreaterThan(3);
    expect(flat.get("network")!.get("num_domains")).toBe(1);
  });

  it("neighbour list, users, forwarding list, node id, notification list", async () => {
    const u = getNewId("listed user");
    const c = await client(t.port, domainId, u);
    c.register();
    c.request(MsgType.REQUEST_INSERT_NOTIFICATION, { asset_group_id: getNewId("ag") });
    await new Promise((r) => setTimeout(r, 50));
    adm.domainId = domainId;
    const nl = await adm.answer(adm.admin(MsgType.REQUEST_GET_NEIGHBORLIST, { random: rnd() }, { domain_id: domainId }));
    const nb = nl.neighbor_list as Uint8Array;
    expect(nb.length).toBe(4 + 63);
    expect(nb.subarray(0, 4)).toEqual(new Uint8Array([0, 0, 0, 1]));
    expect(nb.subarray(4 + 32, 4 + 36)).toEqual(new Uint8Array([127, 0, 0, 1]));
    const p2p = t.node.p2pPort;
    expect(nb.subarray(4 + 52, 4 + 54)).toEqual(new Uint8Array([p2p & 0xff, p2p >> 8]));
    const users = await adm.answer(adm.admin(MsgType.REQUEST_GET_USERS, { random: rnd() }));
    expect(users.user_list).toEqual(new Uint8Array([0, 1, ...u]));
    const fw = await adm.answer(adm.admin(MsgType.REQUEST_GET_FORWARDING_LIST, { random: rnd() }));
    expect(fw.forwarding_list).toEqual(new Uint8Array([0, 0]));
    const nid = await adm.answer(adm.admin(MsgType.REQUEST_GET_NODEID, { random: rnd() }));
    expect((nid.node_id as Uint8Array).length).toBe(32);
    expect(nid.node_id).toEqual(nb.subarray(4, 36));
    const notif = await adm.answer(adm.admin(MsgType.REQUEST_GET_NOTIFICATION_LIST, { random: rnd() }));
    const nlist = notif.notification_list as Uint8Array;
    expect(nlist.subarray(0, 2)).toEqual(new Uint8Array([0, 1]));
    expect(nlist.subarray(34, 36)).toEqual(new Uint8Array([0, 1]));
    expect(nlist.subarray(36)).toEqual(u);
    const unknown = await adm.answer(adm.admin(MsgType.REQUEST_GET_NEIGHBORLIST, { random: rnd() }, { domain_id: getNewId("nope") }));
    expect(unknown.status).toBe(false);
    expect(text(unknown.reason)).toBe("No such domain");
    await c.close();
  });

  it("REQUEST_GET_NODEID without admin_info is dropped (v1.1.1 behaviour with a node key)", async () => {
    const c = await RawClient.connect(t.port);
    c.domainId = domainId;
    c.request(MsgType.REQUEST_GET_NODEID);
    expect(await c.nothing(200)).toBe(true);
    await c.close();
  });

  it("static node, ping, key update, ledger subsystem manipulation", async () => {
    const sn = await adm.answer(adm.admin(MsgType.REQUEST_SET_STATIC_NODE, { node_info: [rnd(), "127.0.0.1", "::", 6641] }, { domain_id: domainId }));
    expect(sn.command).toBe(MsgType.RESPONSE_SET_STATIC_NODE);
    expect(sn.result).toBe(true);
    adm.admin(MsgType.DOMAIN_PING, { ipv4_address: "127.0.0.2", port_number: 6641, static_entry: true }, { domain_id: domainId });
    adm.admin(MsgType.NOTIFY_DOMAIN_KEY_UPDATE, { random: rnd() });
    const ls = await adm.answer(adm.admin(MsgType.REQUEST_MANIP_LEDGER_SUBSYS, { ledger_subsys_manip: true, random: rnd() }, { domain_id: domainId }));
    expect(ls.command).toBe(MsgType.RESPONSE_MANIP_LEDGER_SUBSYS);
    expect(ls.status).toBe(-4);
    expect(text(ls.reason)).toBe("Ledger_subsystem is not installed");
  });

  it("REQUEST_CLOSE_DOMAIN: result true with nil domain_id, then 'No such domain'; section removed", async () => {
    const res = await adm.answer(adm.admin(MsgType.REQUEST_CLOSE_DOMAIN, { domain_id: domainId, random: rnd() }));
    expect(res.command).toBe(MsgType.RESPONSE_CLOSE_DOMAIN);
    expect(res.domain_id).toBeNull();
    expect(res.result).toBe(true);
    const again = await adm.answer(adm.admin(MsgType.REQUEST_CLOSE_DOMAIN, { domain_id: domainId, random: rnd() }));
    expect(again.result).toBe(false);
    expect(text(again.reason)).toBe("No such domain");
    const conf = JSON.parse(readFileSync(join(t.dir, "config.json"), "utf8"));
    expect(conf.domains[Buffer.from(domainId).toString("hex")]).toBeUndefined();
  });
});

describe("without the node key (--no_nodekey)", () => {
  it("accepts admin fields at the top level and unsigned admin_info", async () => {
    const t = await startNode({ useNodeKey: false });
    try {
      const c = await RawClient.connect(t.port);
      const d = getNewId("nk-less");
      const res = await c.answer(c.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: d, random: rnd() }));
      expect(res.result).toBe(true);
      c.domainId = d;
      const nid = await c.answer(c.request(MsgType.REQUEST_GET_NODEID));
      expect((nid.node_id as Uint8Array).length).toBe(32);
      await c.close();
    } finally {
      await t.stop();
    }
  });
});

describe("domains in config.json survive a restart", () => {
  it("re-opens the domain and its ledger with the same node id", async () => {
    const t = await startNode({ useNodeKey: false });
    const d = getNewId("persistent");
    const c = await RawClient.connect(t.port);
    await c.answer(c.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: d, random: rnd() }));
    const nid = (await c.answer({ ...c.request(MsgType.REQUEST_GET_NODEID, { domain_id: d }) })).node_id;
    await c.close();
    await t.node.close();
    const t2 = await startNode({ useNodeKey: false }, t.dir);
    try {
      const c2 = await RawClient.connect(t2.port);
      c2.domainId = d;
      const nid2 = (await c2.answer(c2.request(MsgType.REQUEST_GET_NODEID))).node_id;
      expect(nid2).toEqual(nid);
      await c2.close();
    } finally {
      await t2.stop();
      await t.stop();
    }
  });
});

describe("--domain0", () => {
  it("serves domain_global_0 (listed, inserts refused) and flags regular domains as domain0 nodes", async () => {
    const t = await startNode({ useNodeKey: false, useDomain0: true });
    try {
      const c = await RawClient.connect(t.port);
      const d = getNewId("with domain0");
      await c.answer(c.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: d, random: rnd() }));
      const dl = (await c.answer(c.admin(MsgType.REQUEST_GET_DOMAINLIST, { random: rnd() }))).domain_list as Uint8Array;
      expect(dl.subarray(0, 2)).toEqual(new Uint8Array([0, 2]));
      expect(dl.subarray(2, 34)).toEqual(new Uint8Array(32));
      const nl = (await c.answer(c.admin(MsgType.REQUEST_GET_NEIGHBORLIST, { random: rnd() }, { domain_id: d }))).neighbor_list as Uint8Array;
      expect(nl[4 + 54]).toBe(1);
      c.domainId = new Uint8Array(32);
      c.userId = getNewId("u0");
      const ins = await c.answer(c.request(MsgType.REQUEST_INSERT, { transaction_data: new Uint8Array([0, 0, 1]), all_asset_files: new Map() }));
      expect(text(ins.reason)).toBe("Insert is not allowed in domain_global_0");
      await c.close();
    } finally {
      await t.stop();
    }
  });
});

describe("REQUEST_SETUP_DOMAIN with a configuration the store cannot use", () => {
  it("answers result false with a reason and keeps serving", async () => {
    const t = await startNode({ useNodeKey: false });
    try {
      const c = await RawClient.connect(t.port);
      const d = getNewId("bad db");
      const res = await c.answer(
        c.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: d, random: rnd(), bbc_configuration: JSON.stringify({ db: { db_type: "nosuchdb" } }) }),
      );
      expect(res.result).toBe(false);
      expect(text(res.reason)).toMatch(/^Cannot open the ledger/);
      const ok = await c.answer(c.admin(MsgType.REQUEST_SETUP_DOMAIN, { domain_id: getNewId("good db"), random: rnd() }));
      expect(ok.result).toBe(true);
      await c.close();
    } finally {
      await t.stop();
    }
  });
});
