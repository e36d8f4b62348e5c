/**
 * The browser entry must not pull in any `node:` module: bundle the package for the browser
 * platform (from sources and from the built dist) and inspect what went in, then run the
 * bundle to check that it builds, signs and verifies a transaction with the portable backend.
 */
import { build, type Metafile } from "esbuild";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const pkgDir = fileURLToPath(new URL("..", import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), "bbclib-browser-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const entrySource = `
import { KeyPair, addEventAsset, cryptoBackend, deserialize, getNewId, makeTransaction, toHex, validateTransaction, BBcFormat } from "@bbc1/bbclib";
export function roundTrip(format) {
  const keys = KeyPair.generate();
  const user = getNewId("browser user");
  const tx = makeTransaction({ eventNum: 1, witness: true, formatType: format });
  addEventAsset(tx, 0, getNewId("group"), user, { assetBody: "from a browser" });
  tx.witness.addWitness(user);
  tx.addSignature(user, tx.sign(keys));
  const back = deserialize(tx.serialize());
  return { backend: cryptoBackend.name, id: toHex(back.transactionId), same: toHex(tx.transactionId) === toHex(back.transactionId), valid: validateTransaction(back).valid };
}
export const formats = Object.values(BBcFormat);
`;

async function bundle(conditions: string[], name: string): Promise<{ metafile: Metafile; file: string }> {
  const entry = join(outDir, `${name}-entry.mjs`);
  writeFileSync(entry, entrySource);
  const file = join(outDir, `${name}.mjs`);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    conditions,
    outfile: file,
    metafile: true,
    logLevel: "silent",
    nodePaths: [join(pkgDir, "..", "..", "node_modules")],
  });
  expect(result.errors).toEqual([]);
  return { metafile: result.metafile!, file };
}

function nodeImports(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const [path, input] of Object.entries(metafile.inputs)) {
    if (path.startsWith("node:") || /node-backend|sha256-node|inflate-node/.test(path)) found.push(path);
    for (const imp of input.imports) {
      if (imp.path.startsWith("node:") || imp.external) found.push(`${path} -> ${imp.path}`);
    }
  }
  return found;
}

describe("browser bundle", () => {
  for (const [label, conditions] of [
    ["sources", ["@bbc1/source"]],
    ["dist", []],
  ] as const) {
    it(`bundles from ${label} for the browser without any node: module, and works`, async () => {
      const { metafile, file } = await bundle([...conditions], label);
      expect(nodeImports(metafile)).toEqual([]);
      const inputs = Object.keys(metafile.inputs).join("\n");
      expect(inputs).toMatch(/noble-backend/);
      const mod = await import(pathToFileURL(file).href);
      for (const format of mod.formats as number[]) {
        const r = mod.roundTrip(format);
        expect(r.backend).toBe("noble");
        expect(r.same).toBe(true);
        expect(r.valid).toBe(true);
      }
    }, 60_000);
  }
});
