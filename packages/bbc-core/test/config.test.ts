import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BBcConfig, defaultConfig } from "../src/index.js";
import { createWorkingDir } from "../src/config.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bbc1-conf-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("BBcConfig (bbc_config.py)", () => {
  it("writes the v1.1.1 defaults with 4-space indentation on first use", () => {
    const wd = join(tmp(), "wd");
    const c = new BBcConfig({ workingDir: wd });
    const text = readFileSync(join(wd, "config.json"), "utf8");
    expect(text).toContain('\n    "client": {');
    const j = JSON.parse(text);
    expect(j).toEqual({ ...defaultConfig(), workingdir: wd });
    expect(Object.keys(j)).toEqual(["workingdir", "client", "network", "domain_key", "search_config", "domains", "domain_default", "ethereum"]);
    expect(c.searchMaxCount).toBe(30);
    expect(j.domains["0".repeat(64)].module).toBe("p2p_domain0");
  });

  it("deep-merges the file over the defaults, keeps unknown keys, arrays replace", () => {
    const wd = tmp();
    writeFileSync(join(wd, "config.json"), JSON.stringify({ search_config: { max_count: 5 }, extra: { a: 1 }, domain_default: { db: { db_servers: [] } } }));
    const c = new BBcConfig({ workingDir: wd });
    expect(c.searchMaxCount).toBe(5);
    expect(c.traverseMaxCount).toBe(30);
    expect(c.config.extra).toEqual({ a: 1 });
    expect((c.config.domain_default as { db: { db_servers: unknown[]; db_type: string } }).db).toMatchObject({ db_servers: [], db_type: "sqlite" });
  });

  it("--config names another file; --default_config sections replace whole sections", () => {
    const wd = tmp();
    const file = join(wd, "my.json");
    writeFileSync(file, JSON.stringify({ search_config: { max_count: 7, max_traverse: 9 } }));
    const dflt = join(wd, "default.json");
    writeFileSync(dflt, JSON.stringify({ search_config: { max_count: 3 } }));
    const c = new BBcConfig({ workingDir: wd, configFile: file, defaultConfigFile: dflt });
    expect(c.config.search_config).toEqual({ max_count: 3 });
    expect(c.traverseMaxCount).toBe(30);
    expect(JSON.parse(readFileSync(file, "utf8")).search_config).toEqual({ max_count: 3 });
  });

  it("rejects a config file that is not JSON", () => {
    const wd = tmp();
    writeFileSync(join(wd, "config.json"), "{ not json");
    expect(() => new BBcConfig({ workingDir: wd })).toThrow(/JSON format/);
  });

  it("a new domain section is a copy of domain_default, removal is persisted", () => {
    const wd = tmp();
    const c = new BBcConfig({ workingDir: wd });
    const hex = "ab".repeat(32);
    const s = c.domainConfig(hex, true)!;
    s.node_id = "cd".repeat(32);
    expect((c.config.domain_default as Record<string, unknown>).node_id).toBeUndefined();
    c.save();
    expect(JSON.parse(readFileSync(join(wd, "config.json"), "utf8")).domains[hex].node_id).toBe("cd".repeat(32));
    c.removeDomainConfig(hex);
    expect(JSON.parse(readFileSync(join(wd, "config.json"), "utf8")).domains[hex]).toBeUndefined();
  });
});

describe("the working directory", () => {
  it("is created one level deep; one that another process made in between is not an error, a missing parent is", () => {
    const base = mkdtempSync(join(tmpdir(), "bbc1-wd-"));
    try {
      const wd = join(base, "node");
      createWorkingDir(wd);
      expect(existsSync(wd)).toBe(true);
      // what the race leaves: the directory exists by the time mkdir runs (a daemon's log file made it)
      const raced = join(base, "raced");
      mkdirSync(raced);
      expect(() => createWorkingDir(raced)).not.toThrow();
      expect(() => new BBcConfig({ workingDir: raced })).not.toThrow();
      expect(() => createWorkingDir(join(base, "no", "such", "parent"))).toThrow(/cannot create working directory/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
