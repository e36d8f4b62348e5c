/** The storage-related keys of the v1.1.1 domain config, resolved as data_handler.py does. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_DOMAIN_STORAGE_CONFIG, ReplicationCode, replicationStrategyOf, resolveStorageConfig, StorageError } from "@bbc1/storage";

const dom = "ab".repeat(32);

describe("resolveStorageConfig", () => {
  it("defaults to SQLite bbc_ledger.sqlite under <workingdir>/<domain>, replication all, internal storage", () => {
    const r = resolveStorageConfig({ domainId: dom, workingDir: ".bbc1" });
    expect(r.dbType).toBe("sqlite");
    expect(r.storageRoot).toBe(join(".bbc1", dom));
    expect(r.servers).toEqual([{ dbNum: 0, file: join(".bbc1", dom, "bbc_ledger.sqlite") }]);
    expect(r.replicationStrategy).toBe("all");
    expect(r.external).toBe(false);
    expect(DEFAULT_DOMAIN_STORAGE_CONFIG.db?.db_name).toBe("bbc_ledger.sqlite");
  });

  it("uses bbc1_db.sqlite when db_name is missing (v1.1.1 code default) and accepts a Uint8Array domain id", () => {
    const r = resolveStorageConfig({ domainId: new Uint8Array(32).fill(0xab), workingDir: "/w", config: { db: { db_type: "sqlite" } } });
    expect(r.servers[0].file).toBe(join("/w", dom, "bbc1_db.sqlite"));
  });

  it("puts the storage root under an absolute storage.root unless storage is external", () => {
    expect(resolveStorageConfig({ domainId: dom, workingDir: "w", config: { storage: { type: "internal", root: "/data" } } }).storageRoot).toBe(join("/data", dom));
    expect(resolveStorageConfig({ domainId: dom, workingDir: "w", config: { storage: { type: "internal", root: "rel" } } }).storageRoot).toBe(join("w", dom));
    const ext = resolveStorageConfig({ domainId: dom, workingDir: "w", config: { storage: { type: "external", root: "/data" } } });
    expect(ext.storageRoot).toBe(join("w", dom));
    expect(ext.external).toBe(true);
  });

  it("maps replication_strategy like v1.1.1: all, p2p, anything else external", () => {
    expect(replicationStrategyOf("all")).toBe("all");
    expect(replicationStrategyOf(undefined)).toBe("all");
    expect(replicationStrategyOf("p2p")).toBe("p2p");
    expect(replicationStrategyOf("external")).toBe("external");
    expect(replicationStrategyOf("whatever")).toBe("external");
    expect(ReplicationCode).toEqual({ all: 0, p2p: 1, external: 2 });
  });

  it("makes one database per db_servers entry for mysql, with v1.1.1's code defaults, and reads db_url / db_schema", () => {
    const r = resolveStorageConfig({
      domainId: dom,
      workingDir: "w",
      config: { db: { db_type: "mysql", db_name: "ledger", db_servers: [{}, { db_addr: "10.0.0.2", db_port: 3307, db_user: "u", db_pass: "p" }, { db_url: "mysql://root@h:3306/other" }] } },
    });
    expect(r.dbType).toBe("mysql");
    expect(r.servers).toEqual([
      { dbNum: 0, host: "127.0.0.1", port: 3306, user: "user", password: "password", database: "ledger", schema: undefined },
      { dbNum: 1, host: "10.0.0.2", port: 3307, user: "u", password: "p", database: "ledger", schema: undefined },
      { dbNum: 2, url: "mysql://root@h:3306/other", database: "other", schema: undefined },
    ]);
    const pg = resolveStorageConfig({ domainId: dom, workingDir: "w", config: { db: { db_type: "postgresql", db_servers: [{ db_url: "postgres://p@h/db", db_schema: "s1" }] } } });
    expect(pg.dbType).toBe("postgres");
    expect(pg.servers[0]).toMatchObject({ url: "postgres://p@h/db", database: "db", schema: "s1" });
    // SQLite ignores db_servers: exactly one DB
    expect(resolveStorageConfig({ domainId: dom, workingDir: "w", config: { db: { db_type: "sqlite", db_servers: [{}, {}] } } }).servers.length).toBe(1);
  });

  it("rejects unusable configs with StorageError BAD_CONFIG / BAD_ARGUMENT", () => {
    const bad = (f: () => unknown, code: string) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(StorageError);
        expect((e as StorageError).code).toBe(code);
        return;
      }
      throw new Error("expected an error");
    };
    bad(() => resolveStorageConfig({ domainId: dom, workingDir: "w", config: { db: { db_type: "oracle" } } }), "BAD_CONFIG");
    bad(() => resolveStorageConfig({ domainId: dom, workingDir: "w", config: { db: { db_type: "mysql", db_servers: [] } } }), "BAD_CONFIG");
    bad(() => resolveStorageConfig({ domainId: dom, workingDir: "w", config: { db: { db_type: "postgres", db_servers: [{ db_url: "not a url" }] } } }), "BAD_CONFIG");
    bad(() => resolveStorageConfig({ domainId: "xyz", workingDir: "w" }), "BAD_ARGUMENT");
  });
});
