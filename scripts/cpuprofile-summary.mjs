#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof; the e2e bench's BBC1_BENCH_CPU_PROF=<dir>): self time by
// function and by file, and inclusive time by function (each function counted once per sample's stack).
// Usage: node scripts/cpuprofile-summary.mjs <file.cpuprofile> [top N, default 30] [--callers <function name>]
import { readFileSync } from "node:fs";

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error("usage: node scripts/cpuprofile-summary.mjs <file.cpuprofile> [N] [--callers <function>]");
  process.exit(2);
}
const ci = rest.indexOf("--callers");
const callersOf = ci >= 0 ? rest[ci + 1] : undefined;
const N = Number(rest.find((a, i) => /^\d+$/.test(a) && rest[i - 1] !== "--callers") ?? 30);
const p = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const d = p.timeDeltas[i] ?? 0;
  total += d;
  self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + d);
}
const name = (cf) => `${cf.functionName || "(anonymous)"} ${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber + 1}`;
const fileOf = (cf) => (cf.url ? cf.url.replace(/^.*node_modules\//, "").replace(/^.*\/(packages|apps)\//, "") : cf.functionName);
const add = (m, k, t) => m.set(k, (m.get(k) ?? 0) + t);
const fn = new Map();
const files = new Map();
const incl = new Map();
const callers = new Map();
for (const [id, t] of self) {
  const cf = byId.get(id).callFrame;
  add(fn, name(cf), t);
  add(files, fileOf(cf), t);
  const stack = [];
  for (let x = id; x !== undefined; x = parent.get(x)) stack.push(name(byId.get(x).callFrame));
  for (const k of new Set(stack)) add(incl, k, t);
  if (callersOf !== undefined) {
    const at = stack.findIndex((k) => k.startsWith(`${callersOf} `));
    if (at >= 0) add(callers, stack.slice(at, at + 8).join(" < "), t);
  }
}
const print = (title, m) => {
  console.log(`--- ${title}`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(`${((100 * t) / total).toFixed(1).padStart(5)} %  ${(t / 1000).toFixed(0).padStart(7)} ms  ${k}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
print("self time by function", fn);
print("self time by file", files);
print("inclusive time by function", incl);
if (callersOf !== undefined) print(`stacks above ${callersOf}`, callers);
