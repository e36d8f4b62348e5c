/**
 * Human-readable log lines for a terminal: `23:59:01.123 INFO  bbc1-core ready  port=9000 host=127.0.0.1`.
 * Only used when the log goes to standard error and that is a TTY; files and pipes get pino's JSON lines.
 */
import type { DestinationStream } from "pino";

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO ", 40: "WARN ", 50: "ERROR", 60: "FATAL" };
const COLORS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
const HIDDEN = new Set(["level", "time", "msg", "pid", "hostname", "name", "v"]);

function value(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** Formats one pino JSON line; a line that is not JSON is returned as it is. */
export function formatLogLine(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof o.level === "number" ? o.level : 30;
  const time = typeof o.time === "number" ? new Date(o.time).toISOString().slice(11, 23) : "";
  const name = LEVELS[level] ?? String(level);
  const tag = color ? `\x1b[${COLORS[level] ?? "0"}m${name}\x1b[0m` : name;
  const fields = Object.entries(o)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${k === "err" && typeof v === "object" && v !== null && "message" in v ? value((v as { message: unknown }).message) : value(v)}`);
  return `${time} ${tag} ${String(o.msg ?? "")}${fields.length > 0 ? "  " + fields.join(" ") : ""}\n`;
}

/** A pino destination writing formatted lines to `out` (standard error by default). */
export function prettyDestination(out: NodeJS.WriteStream = process.stderr): DestinationStream {
  const color = out.isTTY === true && process.env.NO_COLOR === undefined;
  return { write: (line: string) => void out.write(formatLogLine(line, color)) };
}
