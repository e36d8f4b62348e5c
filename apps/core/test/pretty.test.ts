import { describe, expect, it } from "vitest";
import { formatLogLine } from "../src/pretty.js";

describe("terminal log lines", () => {
  it("shows time, level, message and the extra fields, without pino's bookkeeping", () => {
    const line = JSON.stringify({ level: 30, time: Date.UTC(2026, 10, 30, 23, 59, 1, 123), pid: 1, hostname: "h", name: "bbc1-core", port: 9000, host: "127.0.0.1", msg: "bbc1-core ready" });
    expect(formatLogLine(line, false)).toBe("23:59:01.123 INFO  bbc1-core ready  port=9000 host=127.0.0.1\n");
  });

  it("quotes strings with spaces, shows an error's message, colours the level only when asked", () => {
    const line = JSON.stringify({ level: 50, time: 0, msg: "ledger failure", err: { type: "Error", message: "disk full", stack: "..." }, where: "a b" });
    expect(formatLogLine(line, false)).toBe('00:00:00.000 ERROR ledger failure  err="disk full" where="a b"\n');
    expect(formatLogLine(line, true)).toContain("\x1b[31mERROR\x1b[0m");
  });

  it("passes a line that is not JSON through unchanged", () => {
    expect(formatLogLine("not json\n", false)).toBe("not json\n");
  });
});
