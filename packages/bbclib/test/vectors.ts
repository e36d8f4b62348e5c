/** Loads every bbclib-*.json golden vector file in test/fixtures (data-driven: no case is named in code). */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface KeyCase {
  curve: number;
  private_key: string;
  public_key: string;
}
export interface SignatureCase {
  key_type: number;
  pubkey: string;
  signature: string;
}
export interface TransactionCase {
  name: string;
  note?: string;
  format_type: number;
  id_length: number;
  serialized: string;
  transaction_id: string;
  asset_ids: string[];
  keys: KeyCase[];
  signatures: SignatureCase[];
  deserialize_ok: boolean;
  valid: { result: boolean; valid_assets: [string, string][]; invalid_assets: [string, string][] };
  asset_files?: Record<string, string>;
  referred_transaction?: string;
}

export const fixturesDir = join(import.meta.dirname, "fixtures");

/** Every case of every bbclib-*.json file, tagged with its file. */
export function transactionCases(): (TransactionCase & { file: string })[] {
  const out: (TransactionCase & { file: string })[] = [];
  for (const f of readdirSync(fixturesDir).filter((n) => /^bbclib-.*\.json$/.test(n)).sort()) {
    const doc = JSON.parse(readFileSync(join(fixturesDir, f), "utf8")) as { cases: TransactionCase[] };
    for (const c of doc.cases) if (typeof c.serialized === "string") out.push({ ...c, file: f });
  }
  return out;
}
