/**
 * Asset files on disk in the v1.1.1 layout: `<storageRoot>/<asset_group_id hex>/<asset_id hex>`, raw bytes.
 * Writes are atomic and durable: temp file in the same directory, fsync, then rename (or link when an existing
 * file must be kept), then fsync of the directory.
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { StorageError } from "./errors.js";

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** Outcome of {@link AssetFileStore.verify}. */
export type AssetVerifyStatus = "ok" | "missing" | "mismatch";

/** Options of {@link AssetFileStore}. */
export interface AssetFileStoreOptions {
  /** `storage.type` "external": the node does not write asset files (writes resolve false); reads still look. */
  external?: boolean;
}

/** Asset files of one domain. */
export class AssetFileStore {
  /** The domain's storage root. */
  readonly root: string;
  /** True when writes are disabled (`storage.type` "external"). */
  readonly external: boolean;
  /** Files durable in the ledger's commit log but not yet written to their place (see {@link setPendingSource}). */
  #pending: ((assetGroupId: Uint8Array, assetId: Uint8Array) => Uint8Array | undefined) | undefined;

  constructor(root: string, options: AssetFileStoreOptions = {}) {
    this.root = root;
    this.external = options.external ?? false;
  }

  /**
   * @internal The store's commit log: `read` (and what builds on it) also finds files that are durable there but
   * not yet written to their place.
   */
  setPendingSource(fn: (assetGroupId: Uint8Array, assetId: Uint8Array) => Uint8Array | undefined): void {
    this.#pending = fn;
  }

  /** Path of an asset file (whether or not it exists). */
  pathOf(assetGroupId: Uint8Array, assetId: Uint8Array): string {
    checkId(assetGroupId, "asset_group_id");
    checkId(assetId, "asset_id");
    return join(this.root, hex(assetGroupId), hex(assetId));
  }

  /**
   * Store a file. Without `overwrite` an existing file is kept and the call resolves false (v1.1.1
   * `store_in_storage`); repair passes `overwrite: true`. With `conflict: "error"` an existing
   * file whose content differs rejects with `ASSET_CONFLICT` instead of being kept silently (an
   * identical one still resolves false). Resolves true once the file is durable. Resolves false
   * without writing for external storage.
   */
  async write(
    assetGroupId: Uint8Array,
    assetId: Uint8Array,
    content: Uint8Array,
    options: { overwrite?: boolean; conflict?: "keep" | "error" } = {},
  ): Promise<boolean> {
    const path = this.pathOf(assetGroupId, assetId);
    if (this.external) return false;
    const dir = join(this.root, hex(assetGroupId));
    const tmp = join(dir, `.${hex(assetId)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    const checkExisting = async (): Promise<false> => {
      if (options.conflict === "error" && !(await this.#sameContent(path, content))) {
        throw new StorageError("ASSET_CONFLICT", `asset file ${hex(assetGroupId)}/${hex(assetId)} already holds other content`, {
          details: { assetGroupId: hex(assetGroupId), assetId: hex(assetId), path },
        });
      }
      return false;
    };
    // an existing file is kept: skip the temp file and its fsync (a duplicate insert, a retried batch)
    if (!options.overwrite && (await fsp.stat(path).then((st) => st.isFile(), () => false))) return checkExisting();
    try {
      await fsp.mkdir(dir, { recursive: true });
      const fh = await fsp.open(tmp, "wx", 0o644);
      try {
        await fh.writeFile(content);
        await fh.sync();
      } finally {
        await fh.close();
      }
      let stored = true;
      if (options.overwrite) {
        await fsp.rename(tmp, path);
      } else {
        try {
          await fsp.link(tmp, path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
          stored = false;
        }
        await fsp.unlink(tmp);
        if (!stored) return await checkExisting();
      }
      await syncDir(dir);
      return stored;
    } catch (cause) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (cause instanceof StorageError) throw cause;
      throw new StorageError("IO_ERROR", `cannot write asset file ${path}: ${(cause as Error).message}`, { cause, details: { path } });
    }
  }

  async #sameContent(path: string, content: Uint8Array): Promise<boolean> {
    const existing = await fsp.readFile(path).catch(() => null);
    return existing !== null && Buffer.compare(existing, Buffer.from(content.buffer, content.byteOffset, content.byteLength)) === 0;
  }

  /** Content of an asset file, or null when it does not exist. */
  async read(assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array | null> {
    const first = await this.#readDisk(assetGroupId, assetId);
    if (first !== null || this.#pending === undefined) return first;
    const pending = this.#pending(assetGroupId, assetId);
    if (pending !== undefined) return pending;
    // no longer pending: written to its place while the first read ran
    return this.#readDisk(assetGroupId, assetId);
  }

  async #readDisk(assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array | null> {
    const path = this.pathOf(assetGroupId, assetId);
    try {
      const b = await fsp.readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw new StorageError("IO_ERROR", `cannot read asset file ${path}: ${(cause as Error).message}`, { cause, details: { path } });
    }
  }

  /** Content of an asset file; rejects with StorageError `ASSET_MISSING` when it does not exist. */
  async readRequired(assetGroupId: Uint8Array, assetId: Uint8Array): Promise<Uint8Array> {
    const got = await this.read(assetGroupId, assetId);
    if (got === null) {
      throw new StorageError("ASSET_MISSING", `asset file ${hex(assetGroupId)}/${hex(assetId)} is missing`, {
        details: { assetGroupId: hex(assetGroupId), assetId: hex(assetId), path: this.pathOf(assetGroupId, assetId) },
      });
    }
    return got;
  }

  /** Compare a file's SHA-256 with the digest recorded in the transaction. */
  async verify(assetGroupId: Uint8Array, assetId: Uint8Array, digest: Uint8Array): Promise<{ status: AssetVerifyStatus; content: Uint8Array | null }> {
    const content = await this.read(assetGroupId, assetId);
    if (content === null) return { status: "missing", content };
    const d = createHash("sha256").update(content).digest();
    return { status: Buffer.compare(d, Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength)) === 0 ? "ok" : "mismatch", content };
  }

  /** Like {@link verify} but rejects with `ASSET_MISSING` / `ASSET_DIGEST_MISMATCH`; resolves with the content. */
  async readVerified(assetGroupId: Uint8Array, assetId: Uint8Array, digest: Uint8Array): Promise<Uint8Array> {
    const { status, content } = await this.verify(assetGroupId, assetId, digest);
    if (status === "missing") return this.readRequired(assetGroupId, assetId);
    if (status === "mismatch") {
      throw new StorageError("ASSET_DIGEST_MISMATCH", `asset file ${hex(assetGroupId)}/${hex(assetId)} does not match its digest`, {
        details: { assetGroupId: hex(assetGroupId), assetId: hex(assetId) },
      });
    }
    return content as Uint8Array;
  }

  /** Delete an asset file; resolves false when there was none. */
  async remove(assetGroupId: Uint8Array, assetId: Uint8Array): Promise<boolean> {
    const path = this.pathOf(assetGroupId, assetId);
    try {
      await fsp.unlink(path);
      await syncDir(join(this.root, hex(assetGroupId)));
      return true;
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw new StorageError("IO_ERROR", `cannot remove asset file ${path}: ${(cause as Error).message}`, { cause, details: { path } });
    }
  }
}

function checkId(id: Uint8Array, what: string): void {
  if (!(id instanceof Uint8Array) || id.length === 0) throw new StorageError("BAD_ARGUMENT", `${what} must be a non-empty Uint8Array`);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
