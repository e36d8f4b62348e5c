/**
 * The domain export file, format "bbc1-domain-export" version 1 (docs/export-format.md): JSON
 * Lines, gzip-compressed when the file name ends in .gz. Line 1 is the header, then one line per
 * transaction with its asset files, then an end line with totals and a digest over everything.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip, createGzip, type Gzip } from "node:zlib";
import { fromHex, toHex } from "@bbc1/bbclib";
import { CliError } from "./common.js";

export const EXPORT_FORMAT = "bbc1-domain-export";
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: number;
  domain_id: string;
  created_at: string;
  producer: string;
  /** Transactions in the ledger when the export started (the end line has the exact number). */
  transactions_at_start: number;
}

export interface ExportTransaction {
  type: "transaction";
  id: string;
  data: string;
  asset_files?: Record<string, string>;
}

export interface ExportEnd {
  type: "end";
  transactions: number;
  asset_files: number;
  asset_file_bytes: number;
  digest: string;
}

/** SHA-256 over, per transaction in file order: id, SHA-256(data), then (asset id, SHA-256(content)) by asset id. */
export class ExportDigest {
  readonly #h = createHash("sha256");
  add(id: Uint8Array, data: Uint8Array, files: ReadonlyMap<string, Uint8Array>): void {
    this.#h.update(id);
    this.#h.update(createHash("sha256").update(data).digest());
    for (const k of [...files.keys()].sort()) {
      this.#h.update(fromHex(k));
      this.#h.update(createHash("sha256").update(files.get(k)!).digest());
    }
  }
  hex(): string {
    return this.#h.digest("hex");
  }
}

/** Writes an export file line by line (backpressure respected). */
export class ExportWriter {
  readonly #out: WriteStream | NodeJS.WriteStream;
  readonly #gz: Gzip | undefined;
  readonly #digest = new ExportDigest();
  transactions = 0;
  assetFiles = 0;
  assetFileBytes = 0;
  bytes = 0;

  constructor(file: string) {
    this.#out = file === "-" ? process.stdout : createWriteStream(file, { flags: "wx" });
    if (file.endsWith(".gz")) {
      this.#gz = createGzip();
      this.#gz.pipe(this.#out as WriteStream);
    }
  }

  async #line(o: unknown): Promise<void> {
    const text = `${JSON.stringify(o)}\n`;
    this.bytes += text.length;
    const target = (this.#gz ?? this.#out) as NodeJS.WritableStream;
    if (!target.write(text)) await new Promise<void>((r) => target.once("drain", () => r()));
  }

  header(h: ExportHeader): Promise<void> {
    return this.#line(h);
  }

  async transaction(id: Uint8Array, data: Uint8Array, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const rec: ExportTransaction = { type: "transaction", id: toHex(id), data: Buffer.from(data).toString("base64") };
    if (files.size > 0) {
      rec.asset_files = {};
      for (const [k, v] of files) {
        rec.asset_files[k] = Buffer.from(v).toString("base64");
        this.assetFiles++;
        this.assetFileBytes += v.length;
      }
    }
    this.#digest.add(id, data, files);
    this.transactions++;
    await this.#line(rec);
  }

  /** Writes the end line and closes the file. */
  async end(): Promise<ExportEnd> {
    const end: ExportEnd = { type: "end", transactions: this.transactions, asset_files: this.assetFiles, asset_file_bytes: this.assetFileBytes, digest: this.#digest.hex() };
    await this.#line(end);
    const last = this.#gz ?? this.#out;
    if (this.#out === process.stdout) {
      if (this.#gz) await new Promise<void>((r) => this.#gz!.end(() => r()));
      return end;
    }
    await new Promise<void>((resolve, reject) => {
      (this.#out as WriteStream).once("close", () => resolve());
      (this.#out as WriteStream).once("error", reject);
      last.end();
    });
    return end;
  }
}

/** One decoded record of an export file. */
export type ExportRecord =
  | { type: "transaction"; id: Uint8Array; data: Uint8Array; files: Map<string, Uint8Array>; line: number }
  | { type: "end"; end: ExportEnd; line: number };

function bad(file: string, line: number, what: string): CliError {
  return new CliError(`${file} line ${line}: ${what}`);
}

/** Reads an export file: the header first, then records as they come. */
export async function openExport(file: string): Promise<{ header: ExportHeader; records: AsyncGenerator<ExportRecord>; bytesRead: () => number }> {
  const raw = file === "-" ? process.stdin : createReadStream(file);
  let read = 0;
  raw.on("data", (c: Buffer | string) => (read += c.length));
  const text = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input: text, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next().catch((e: unknown) => {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
  });
  if (first.done === true) throw new CliError(`${file} is empty`);
  let header: ExportHeader;
  try {
    header = JSON.parse(first.value) as ExportHeader;
  } catch {
    throw bad(file, 1, "not a bbc1 export (the first line is not JSON)");
  }
  if (header.format !== EXPORT_FORMAT) throw bad(file, 1, `not a bbc1 export (format ${JSON.stringify(header.format)})`);
  if (header.version !== EXPORT_VERSION) throw bad(file, 1, `export format version ${header.version}; this bbc1 reads version ${EXPORT_VERSION}`);
  if (typeof header.domain_id !== "string" || !/^[0-9a-f]{64}$/i.test(header.domain_id)) throw bad(file, 1, "header lacks a 64-hex-digit domain_id");
  async function* records(): AsyncGenerator<ExportRecord> {
    let n = 1;
    for (;;) {
      const next = await lines.next();
      if (next.done === true) return;
      n++;
      if (next.value === "") continue;
      let o: { type?: unknown; id?: unknown; data?: unknown; asset_files?: Record<string, unknown> };
      try {
        o = JSON.parse(next.value) as typeof o;
      } catch {
        throw bad(file, n, "not JSON (the file is damaged or truncated)");
      }
      if (o.type === "end") {
        yield { type: "end", end: o as unknown as ExportEnd, line: n };
        continue;
      }
      if (o.type !== "transaction" || typeof o.id !== "string" || !/^[0-9a-f]+$/i.test(o.id) || typeof o.data !== "string") throw bad(file, n, "not a transaction record");
      const files = new Map<string, Uint8Array>();
      for (const [k, v] of Object.entries(o.asset_files ?? {})) {
        if (!/^[0-9a-f]+$/i.test(k) || typeof v !== "string") throw bad(file, n, "bad asset_files entry");
        files.set(k.toLowerCase(), new Uint8Array(Buffer.from(v, "base64")));
      }
      yield { type: "transaction", id: fromHex(o.id), data: new Uint8Array(Buffer.from(o.data, "base64")), files, line: n };
    }
  }
  return { header, records: records(), bytesRead: () => read };
}
