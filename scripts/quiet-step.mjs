// One step of `npm start` run quietly: its output is captured and shown only when it fails,
// followed by a line naming the step; on failure the process exits with the step's code.
import { spawnSync } from "node:child_process";

/** Runs `command args` in `cwd`; returns the milliseconds it took. Exits the process when it fails. */
export function runQuietly(what, command, args, cwd) {
  const started = Date.now();
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, FORCE_COLOR: "0" } });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    process.stderr.write(`start: ${what} failed${r.error ? `: ${r.error.message}` : ` (exit code ${r.status})`}; its output is above\n`);
    process.exit(r.status ?? 1);
  }
  return Date.now() - started;
}
