import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/args.js";

describe("bbc1-core command line (v1.1.1 command.py)", () => {
  it("--config / -c / --config= and --default_config name the files; defaults are the reference's", () => {
    expect(parseArgs(["-c", "my.json", "--default_config", "dflt.json"])).toMatchObject({ config: "my.json", default_config: "dflt.json" });
    expect(parseArgs(["--config=other.json"]).config).toBe("other.json");
    const d = parseArgs([]);
    expect(d).toMatchObject({ coreport: 9000, p2pport: 6641, workingdir: ".bbc1", log: "-", verbose_level: "debug", nodekey: false, no_nodekey: false });
    expect(d.config).toBeUndefined();
    expect(d.default_config).toBeUndefined();
    expect(() => parseArgs(["--default_config"])).toThrow(/expected one argument/);
    expect(() => parseArgs(["-cp", "70000"])).toThrow(/invalid port/);
  });
});
