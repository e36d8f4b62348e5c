/**
 * The reference / pointer graph around a transaction as an SVG picture: one column per hop,
 * older transactions (what it references) to the left, newer ones (what references it) to the
 * right, an arrow from each transaction to the one it references or points to. Each node links
 * to its transaction.
 */
import { deserialize } from "@bbc1/bbclib";
import { fromBase64, type Graph } from "./api.js";
import { s } from "./dom.js";
import { edgeKinds, summary } from "./tx.js";

const COL_W = 190;
const ROW_H = 58;
const NODE_W = 150;
const NODE_H = 40;
const PAD = 20;

/** Draws `g`; `href(id)` is the link of a node. */
export function drawGraph(g: Graph, href: (txid: string) => string): SVGElement {
  const byHop = new Map<number, Graph["nodes"]>();
  for (const n of g.nodes) {
    const col = byHop.get(n.hop) ?? [];
    col.push(n);
    byHop.set(n.hop, col);
  }
  const hops = [...byHop.keys()].sort((a, b) => a - b);
  const rows = Math.max(1, ...[...byHop.values()].map((c) => c.length));
  const width = PAD * 2 + (hops.length - 1) * COL_W + NODE_W;
  const height = PAD * 2 + (rows - 1) * ROW_H + NODE_H;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [hop, col] of byHop) {
    const top = PAD + ((rows - col.length) * ROW_H) / 2;
    col.forEach((n, i) => pos.set(n.transaction_id, { x: PAD + hops.indexOf(hop) * COL_W, y: top + i * ROW_H }));
  }
  // edge kinds from the decoded transactions that reference or point
  const kinds = new Map<string, string>();
  const labels = new Map<string, string>();
  for (const n of g.nodes) {
    if (n.data === null) continue;
    try {
      const tx = deserialize(fromBase64(n.data));
      for (const [to, kind] of edgeKinds(tx)) kinds.set(`${n.transaction_id}>${to}`, kind);
      labels.set(n.transaction_id, summary(tx).time);
    } catch {
      labels.set(n.transaction_id, "undecodable");
    }
  }
  const svg = s("svg", { id: "graph", xmlns: "http://www.w3.org/2000/svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "references and pointers around the transaction" });
  svg.append(
    s(
      "defs",
      {},
      s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" })),
    ),
  );
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (a === undefined || b === undefined) continue;
    // from the left side of the newer node to the right side of the older one
    const x1 = a.x;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x + NODE_W;
    const y2 = b.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    const kind = kinds.get(`${e.from}>${e.to}`) ?? "edge";
    svg.append(
      s("path", { class: `edge ${kind}`, "data-from": e.from, "data-to": e.to, "data-kind": kind, d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, "marker-end": "url(#arrow)" }, s("title", {}, `${kind}: ${e.from.slice(0, 8)} → ${e.to.slice(0, 8)}`)),
    );
  }
  for (const n of g.nodes) {
    const p = pos.get(n.transaction_id)!;
    const cls = ["node", n.hop === 0 ? "origin" : "", n.stored === false ? "missing" : ""].filter(Boolean).join(" ");
    const label = n.stored === false ? "not stored here" : (labels.get(n.transaction_id) ?? "");
    svg.append(
      s(
        "a",
        { href: href(n.transaction_id), class: cls, "data-txid": n.transaction_id, "data-hop": n.hop },
        s("title", {}, n.transaction_id),
        s("rect", { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: 6 }),
        s("text", { x: p.x + 10, y: p.y + 17, class: "nid" }, n.transaction_id.slice(0, 16)),
        s("text", { x: p.x + 10, y: p.y + 32, class: "nlabel" }, label),
      ),
    );
  }
  return svg;
}

/** A legend for the graph. */
export function legend(): SVGElement {
  const item = (x: number, cls: string, text: string) => [
    s("line", { x1: x, y1: 10, x2: x + 28, y2: 10, class: `edge ${cls}` }),
    s("text", { x: x + 34, y: 14, class: "nlabel" }, text),
  ];
  return s("svg", { class: "legend", width: 420, height: 20 }, ...item(0, "reference", "reference"), ...item(120, "pointer", "pointer"), ...item(230, "edge", "topology (undecoded)"));
}
