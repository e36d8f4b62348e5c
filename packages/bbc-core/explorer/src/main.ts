/**
 * The ledger explorer page: routes (in the URL's hash) for the latest transactions of a domain,
 * lookups by transaction id / asset group / asset / user, one transaction with every field, its
 * checks and its graph, and the node (domains, neighbours, counters).
 */
import { cryptoBackend, toHex } from "@bbc1/bbclib";
import { api, ApiError, fromBase64, type NodeInfo, type StoredTx } from "./api.js";
import { bytesText, h, replace, shortId } from "./dom.js";
import { drawGraph, legend } from "./graph.js";
import { assetsWithFiles, check, describe, fileMatches, flatten, summary } from "./tx.js";

/** Files up to this size are fetched and checked against their digest without asking. */
const AUTO_CHECK_FILE_BYTES = 4 * 1024 * 1024;

const view = document.getElementById("view")!;
const domainSelect = document.getElementById("domain") as HTMLSelectElement;
let node: NodeInfo | undefined;
let currentDomain = "";

type Route =
  | { name: "latest"; domain: string }
  | { name: "tx"; domain: string; txid: string }
  | { name: "find"; domain: string; by: "group" | "asset" | "user"; id: string }
  | { name: "node" };

function parseRoute(): Route {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "node") return { name: "node" };
  if (parts[0] === "d" && parts[1] !== undefined) {
    if (parts[2] === "tx" && parts[3] !== undefined) return { name: "tx", domain: parts[1], txid: parts[3] };
    if (parts[2] === "find" && (parts[3] === "group" || parts[3] === "asset" || parts[3] === "user") && parts[4] !== undefined) return { name: "find", domain: parts[1], by: parts[3], id: parts[4] };
    return { name: "latest", domain: parts[1] };
  }
  return { name: "latest", domain: currentDomain };
}

const txHref = (domain: string, txid: string) => `#/d/${domain}/tx/${txid}`;

function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof ApiError ? `${e.status}: ${e.message}` : String((e as Error)?.message ?? e);
  return h("div", { class: "error", role: "alert" }, msg);
}

async function loadNode(): Promise<void> {
  node = await api.node();
  const summaryEl = document.getElementById("node-summary")!;
  summaryEl.textContent = `bbc1-ts ${node.version} · client port ${node.client.port} · up ${Math.floor(node.uptime_seconds / 60)} min`;
  const withLedger = node.domains.filter((d) => d.has_ledger);
  replace(domainSelect, ...withLedger.map((d) => h("option", { value: d.domain_id }, `${d.domain_id.slice(0, 16)}… (${d.transactions ?? "?"} tx)`)));
  if (currentDomain === "" && withLedger[0] !== undefined) currentDomain = withLedger[0].domain_id;
  domainSelect.value = currentDomain;
}

// ---- the latest transactions, and lookups by asset group / asset / user -------------------------

function txRow(domain: string, t: StoredTx): HTMLElement {
  if (t.data === null) return h("tr", { "data-txid": t.transaction_id }, h("td", {}, h("a", { href: txHref(domain, t.transaction_id) }, shortId(t.transaction_id))), h("td", { colspan: 4, class: "muted" }, "not readable"));
  const data = fromBase64(t.data);
  const c = check(t.transaction_id, data);
  if (c.tx === null) return h("tr", { "data-txid": t.transaction_id }, h("td", {}, h("a", { href: txHref(domain, t.transaction_id) }, shortId(t.transaction_id))), h("td", { colspan: 4, class: "bad" }, `undecodable: ${c.decodeError}`));
  const sm = summary(c.tx);
  return h(
    "tr",
    { "data-txid": t.transaction_id },
    h("td", {}, h("a", { href: txHref(domain, t.transaction_id) }, shortId(t.transaction_id))),
    h("td", {}, sm.time),
    h("td", {}, sm.parts),
    h("td", {}, ...sm.groups.slice(0, 2).map((g) => shortId(g, 10)), sm.groups.length > 2 ? ` +${sm.groups.length - 2}` : ""),
    h("td", { class: "num" }, bytesText(data.length)),
    h("td", {}, h("span", { class: c.valid ? "badge ok" : "badge bad", "data-verdict": c.valid ? "valid" : "invalid" }, c.valid ? "valid" : "invalid")),
  );
}

async function showList(domain: string, title: string, by?: "group" | "asset" | "user", id?: string): Promise<void> {
  const tbody = h("tbody");
  const more = h("button", { id: "older", type: "button", hidden: true }, "Older");
  const seen = new Set<string>();
  let next: number | null = null;
  const load = async () => {
    more.setAttribute("disabled", "");
    const page = await api.page(domain, { before: next, by, id });
    for (const t of page.transactions) {
      if (seen.has(t.transaction_id)) continue;
      seen.add(t.transaction_id);
      tbody.append(txRow(domain, t));
    }
    next = page.next;
    more.toggleAttribute("hidden", next === null);
    more.removeAttribute("disabled");
    if (seen.size === 0) tbody.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "no transactions")));
  };
  more.addEventListener("click", () => void load().catch((e: unknown) => view.append(errorBox(e))));
  replace(
    view,
    h("h2", {}, title),
    h("table", { class: "list", id: "tx-list" }, h("thead", {}, h("tr", {}, h("th", {}, "transaction"), h("th", {}, "time (UTC)"), h("th", {}, "parts"), h("th", {}, "asset groups"), h("th", {}, "size"), h("th", {}, "signatures"))), tbody),
    more,
    h("p", { class: "muted" }, "Newest first, by their asset rows (a transaction without any asset is found by its id). Verdicts are computed in this browser."),
  );
  await load();
}

// ---- one transaction --------------------------------------------------------------------------

function fieldTable(rows: [string, string][], checked: ReturnType<typeof check>): HTMLElement {
  const tbody = h("tbody");
  for (const [path, value] of rows) {
    const sigMatch = /^signatures\.(\d+)\.signature$/.exec(path);
    tbody.append(h("tr", { "data-field": path }, h("th", {}, path), h("td", {}, h("code", { class: "value" }, value))));
    if (sigMatch !== null) {
      const v = checked.signatures[Number(sigMatch[1])]!;
      tbody.append(h("tr", { "data-field": `signatures.${sigMatch[1]}.verdict` }, h("th", {}, `signatures.${sigMatch[1]}.verdict`), h("td", {}, h("span", { class: v.valid ? "badge ok" : "badge bad" }, v.valid ? "valid" : "invalid"), ` ${v.why}`)));
    }
  }
  checked.signatures.forEach((v, i) => {
    if (!rows.some(([p]) => p === `signatures.${i}.signature`)) {
      tbody.append(h("tr", { "data-field": `signatures.${i}.verdict` }, h("th", {}, `signatures.${i}.verdict`), h("td", {}, h("span", { class: "badge bad" }, "invalid"), ` ${v.why}`)));
    }
  });
  return h("table", { class: "fields", id: "fields" }, tbody);
}

function verdictBox(txid: string, c: ReturnType<typeof check>): HTMLElement {
  const lines: (string | HTMLElement)[] = [];
  if (c.tx === null) lines.push(`The stored bytes do not decode: ${c.decodeError}`);
  else {
    const good = c.signatures.filter((x) => x.valid).length;
    lines.push(`${good} of ${c.signatures.length} signature(s) verify over the transaction digest.`);
    lines.push(c.idMatches ? "The id recomputed from the bytes is the id it is stored under." : `The id recomputed from the bytes is ${c.computedId}, not ${txid}: the stored data was changed.`);
  }
  return h(
    "div",
    { id: "verdict", class: c.valid ? "verdict ok" : "verdict bad", "data-verdict": c.valid ? "valid" : "invalid", role: "status" },
    h("strong", {}, c.valid ? "Valid" : "Invalid"),
    h("span", { class: "muted" }, ` (checked in this browser with ${cryptoBackend.name})`),
    ...lines.map((l) => h("div", {}, l)),
  );
}

function assetFiles(domain: string, tx: NonNullable<ReturnType<typeof check>["tx"]>): HTMLElement {
  const files = assetsWithFiles(tx);
  if (files.length === 0) return h("p", { class: "muted" }, "No asset files.");
  const list = h("ul", { id: "asset-files" });
  for (const f of files) {
    const status = h("span", { class: "file-check muted", "data-asset": f.asset }, "not checked");
    const url = api.assetUrl(domain, f.group, f.asset);
    list.append(h("li", {}, h("a", { href: url, download: `${f.asset}.bin`, class: "download", "data-asset": f.asset }, `Download ${f.asset.slice(0, 16)}… (${bytesText(f.size)})`), ` ${f.where} `, status));
    if (f.size <= AUTO_CHECK_FILE_BYTES) {
      void fetch(url).then(async (r) => {
        if (!r.ok) {
          status.textContent = r.status === 404 ? "file not stored on this node" : `HTTP ${r.status}`;
          status.className = "file-check bad";
          return;
        }
        const ok = fileMatches(new Uint8Array(await r.arrayBuffer()), f.digest);
        status.textContent = ok ? "file matches its digest" : "file does NOT match its digest";
        status.className = ok ? "file-check ok" : "file-check bad";
      });
    }
  }
  return list;
}

async function showTx(domain: string, txid: string): Promise<void> {
  replace(view, h("p", { class: "muted" }, "Loading…"));
  const stored = await api.transaction(domain, txid);
  const data = fromBase64(stored.data!);
  const c = check(stored.transaction_id, data);
  const graphBox = h("div", { id: "graph-box" }, h("p", { class: "muted" }, "Loading the graph…"));
  replace(
    view,
    h("h2", {}, "Transaction ", h("code", { id: "tx-id" }, stored.transaction_id)),
    verdictBox(stored.transaction_id, c),
    h("section", {}, h("h3", {}, "Graph"), graphBox),
    h("section", {}, h("h3", {}, "Fields"), c.tx !== null ? fieldTable(flatten(describe(c.tx)), c) : h("p", { class: "bad" }, "undecodable")),
    h("section", {}, h("h3", {}, "Asset files"), c.tx !== null ? assetFiles(domain, c.tx) : ""),
    h("details", {}, h("summary", {}, `Stored bytes (${bytesText(data.length)})`), h("pre", { class: "raw" }, toHex(data.subarray(0, 4096)) + (data.length > 4096 ? "…" : ""))),
  );
  try {
    const g = await api.graph(domain, stored.transaction_id);
    replace(graphBox, drawGraph(g, (id) => txHref(domain, id)), legend(), g.truncated ? h("p", { class: "muted" }, "More transactions are linked than the page shows (search_config.max_traverse).") : "");
  } catch (e) {
    replace(graphBox, errorBox(e));
  }
}

// ---- the node ---------------------------------------------------------------------------------

function kvTable(id: string, m: Record<string, number>): HTMLElement {
  const entries = Object.entries(m);
  if (entries.length === 0) return h("p", { class: "muted" }, "none");
  return h("table", { class: "kv", id }, h("tbody", {}, ...entries.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { class: "num" }, String(v))))));
}

async function showNode(): Promise<void> {
  await loadNode();
  const n = node!;
  const domains = h(
    "table",
    { class: "list", id: "domains" },
    h("thead", {}, h("tr", {}, h("th", {}, "domain"), h("th", {}, "node id"), h("th", {}, "transactions"), h("th", {}, "ledger size"), h("th", {}, "users"), h("th", {}, "database"))),
    h(
      "tbody",
      {},
      ...n.domains.map((d) =>
        h(
          "tr",
          { "data-domain": d.domain_id },
          h("td", {}, d.has_ledger ? h("a", { href: `#/d/${d.domain_id}` }, shortId(d.domain_id)) : shortId(d.domain_id)),
          h("td", {}, shortId(d.node_id)),
          h("td", { class: "num" }, d.transactions === null ? "–" : String(d.transactions)),
          h("td", { class: "num" }, d.size_bytes === null ? "–" : bytesText(d.size_bytes)),
          h("td", { class: "num" }, String(d.registered_users)),
          h("td", {}, d.db_type ?? (d.has_ledger ? "?" : "no ledger")),
        ),
      ),
    ),
  );
  const neighbours = n.p2p
    ? h(
        "div",
        { id: "neighbours" },
        ...n.domains.map((d) =>
          h(
            "div",
            {},
            h("h4", {}, shortId(d.domain_id)),
            (d.neighbours ?? []).length === 0
              ? h("p", { class: "muted" }, "no neighbours")
              : h(
                  "table",
                  { class: "list" },
                  h("thead", {}, h("tr", {}, h("th", {}, "node id"), h("th", {}, "IPv4"), h("th", {}, "IPv6"), h("th", {}, "port"), h("th", {}, "state"), h("th", {}, "static"))),
                  h("tbody", {}, ...(d.neighbours ?? []).map((x) => h("tr", {}, h("td", {}, shortId(x.node_id)), h("td", {}, x.ipv4 ?? "–"), h("td", {}, x.ipv6 ?? "–"), h("td", { class: "num" }, String(x.port)), h("td", {}, x.state ?? "–"), h("td", {}, x.is_static ? "yes" : "")))),
                ),
          ),
        ),
      )
    : h("p", { id: "neighbours", class: "muted" }, `This node runs without a P2P layer (P2P port ${n.p2p_port} advertised only): no neighbours.`);
  replace(
    view,
    h("h2", {}, "Node"),
    h("p", {}, `bbc1-ts ${n.version}, started ${new Date(n.started_at).toISOString()}, client port ${n.client.host}:${n.client.port}, admin commands ${n.node_key ? "checked with the node key" : "NOT authenticated (no node key)"}.`),
    h("h3", {}, "Domains"),
    domains,
    h("h3", {}, "Neighbours"),
    neighbours,
    h("div", { class: "cols" }, h("section", {}, h("h3", {}, "Resources now"), kvTable("resources", n.resources)), h("section", {}, h("h3", {}, "Refusals by limit"), kvTable("refusals", n.refusals))),
    h("h3", {}, "Counters (GET_STATS)"),
    h("div", { class: "cols", id: "stats" }, ...Object.entries(n.stats).map(([cat, m]) => h("section", {}, h("h4", {}, cat), kvTable(`stats-${cat}`, m)))),
  );
}

// ---- routing ----------------------------------------------------------------------------------

async function render(): Promise<void> {
  const r = parseRoute();
  if (r.name !== "node" && r.domain !== "" && r.domain !== currentDomain) {
    currentDomain = r.domain;
    domainSelect.value = currentDomain;
  }
  document.getElementById("nav-latest")!.setAttribute("href", `#/d/${currentDomain}`);
  try {
    if (r.name === "node") return await showNode();
    if (currentDomain === "") return replace(view, h("p", { class: "muted" }, "This node serves no domain with a ledger yet."));
    if (r.name === "tx") return await showTx(currentDomain, r.txid);
    if (r.name === "find") return await showList(currentDomain, `Transactions with ${r.by === "group" ? "asset group" : r.by === "asset" ? "asset" : "user"} ${r.id}`, r.by, r.id);
    return await showList(currentDomain, "Latest transactions");
  } catch (e) {
    replace(view, errorBox(e));
  }
}

document.getElementById("search")!.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const kind = (document.getElementById("search-kind") as HTMLSelectElement).value;
  const id = (document.getElementById("search-id") as HTMLInputElement).value.trim().toLowerCase();
  if (!/^(?:[0-9a-f]{2})+$/.test(id)) {
    replace(view, errorBox(new Error("an id is an even number of hex digits")));
    return;
  }
  location.hash = kind === "tx" ? txHref(currentDomain, id) : `#/d/${currentDomain}/find/${kind}/${id}`;
});
domainSelect.addEventListener("change", () => {
  currentDomain = domainSelect.value;
  location.hash = `#/d/${currentDomain}`;
});
window.addEventListener("hashchange", () => void render());
document.getElementById("crypto-backend")!.textContent = `@bbc1/bbclib, ${cryptoBackend.name} backend`;

void (async () => {
  try {
    await loadNode();
  } catch (e) {
    replace(view, errorBox(e));
    return;
  }
  await render();
  document.body.dataset.ready = "true";
})();
