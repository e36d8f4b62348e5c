#!/usr/bin/env node
/**
 * bbc1-core: runs a BBc-1 v1.1.1 core node (client port 9000, working dir .bbc1, SQLite ledger,
 * loopback by default). SIGINT / SIGTERM close it cleanly: requests already read finish, ledgers
 * and files are closed, the config is saved. SIGHUP reopens the log file and reloads the node key.
 */
import { spawn } from "node:child_process";
import { isMainThread } from "node:worker_threads";
import { existsSync, readFileSync, rmSync, writeFileSync, openSync } from "node:fs";
import { resolve } from "node:path";
import pino from "pino";
import { BBcCoreService, isCoreError } from "@bbc1/core";
import { USAGE, parseArgs, pinoLevel, type CoreArgs } from "./args.js";
import { prettyDestination } from "./pretty.js";
import { explainStartError } from "./explain.js";

/** PID file of `--daemon` / `--kill` (the reference's fixed path). */
export const PID_FILE = "/tmp/bbc1.pid";

function fail(msg: string, code = 2): never {
  process.stderr.write(`bbc1-core: ${msg}\n`);
  process.exit(code);
}

function killDaemon(): never {
  if (!existsSync(PID_FILE)) fail(`no ${PID_FILE}; is a daemon running?`, 1);
  const pid = Number(readFileSync(PID_FILE, "utf8").trim());
  try {
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, "SIGTERM");
  } catch (e) {
    process.stderr.write(`bbc1-core: cannot signal ${pid}: ${(e as Error).message}\n`);
  }
  rmSync(PID_FILE, { force: true });
  process.exit(0);
}

/** Log file of a daemon started without `--log` (a daemon has no terminal to write to). */
export const DAEMON_LOG_FILE = "bbc1-core.log";

/**
 * Starts the node detached and waits for it to report back over an IPC channel, so that a
 * daemon that cannot start (port in use, bad config) is an error here and not a silent exit.
 * Without `--log` the daemon logs to `<workingdir>/bbc1-core.log`, and this says so.
 */
function daemonize(argv: string[], args: CoreArgs): void {
  let rest = argv.filter((x) => x !== "-d" && x !== "--daemon");
  let logNote = "";
  if (args.log === "-") {
    const file = resolve(args.workingdir, DAEMON_LOG_FILE);
    rest = [...rest, "--log", file];
    logNote = `; log: ${file} (no --log given)`;
  } else logNote = `; log: ${resolve(args.log)}`;
  const out = openSync("/dev/null", "a");
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...rest], {
    detached: true,
    stdio: ["ignore", out, out, "ipc"],
  });
  const timer = setTimeout(() => fail(`the daemon (pid ${child.pid}) did not report ready within 60 s${logNote}`, 1), 60_000);
  child.once("message", (m: { ready?: boolean; port?: number; http?: string; error?: string }) => {
    clearTimeout(timer);
    if (m.ready !== true) fail(`the daemon could not start: ${m.error ?? "unknown error"}`, 1);
    writeFileSync(PID_FILE, `${child.pid}\n`);
    process.stdout.write(`bbc1-core: daemon pid ${child.pid}, client port ${m.port}${m.http !== undefined ? `, http ${m.http}` : ""}${logNote}\n`);
    child.disconnect();
    child.unref();
    process.exit(0);
  });
  child.once("exit", (code) => fail(`the daemon exited during start (code ${code})${logNote}`, 1));
}

/** Tells a `--daemon` parent (if any) how the start went, then lets the channel go. */
function reportToParent(m: { ready: boolean; port?: number; p2pPort?: number; http?: string; error?: string }): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) return Promise.resolve();
  return new Promise((resolve) => {
    send(m, undefined, undefined, () => {
      process.disconnect?.();
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let args: CoreArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${USAGE}\n`);
    fail((e as Error).message);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (args.kill) killDaemon();
  if (args.daemon) {
    daemonize(argv, args);
    return;
  }

  // a terminal gets readable lines; files, pipes and daemons get pino's JSON lines
  const file = args.log !== "-" ? pino.destination({ dest: args.log, mkdir: true, sync: false }) : undefined;
  const dest = file ?? (process.stderr.isTTY === true ? prettyDestination() : pino.destination(2));
  // errWithCause keeps each cause as its own field instead of appending its text to the message
  const logger = pino({ name: "bbc1-core", level: pinoLevel(args.verbose_level), serializers: { err: pino.stdSerializers.errWithCause } }, dest);
  let useNodeKey: boolean | undefined;
  if (args.no_nodekey) useNodeKey = false;
  else if (args.nodekey) useNodeKey = true;

  let node: BBcCoreService;
  try {
    node = await BBcCoreService.start({
      corePort: args.coreport,
      p2pPort: args.p2pport,
      p2pHost: args.p2pbind,
      workingDir: args.workingdir,
      configFile: args.config,
      defaultConfigFile: args.default_config,
      useNodeKey,
      useDomain0: args.domain0,
      useLedgerSubsystem: args.ledgersubsystem,
      ip4addr: args.ip4addr,
      ip6addr: args.ip6addr,
      host: args.bind,
      // the executable serves the HTTP endpoint unless --no_http or http.enabled false
      http: args.no_http ? false : { port: args.http_port, host: args.http_bind, enabled: args.http_port !== undefined || args.http_bind !== undefined ? true : undefined },
      logger,
    });
  } catch (e) {
    const why = explainStartError(e);
    // on standard error the line below is the report; a log file gets it too, with the details
    if (file !== undefined) {
      logger.fatal(isCoreError(e) ? { code: e.code } : { err: e }, `cannot start: ${why}`);
      logger.flush?.();
    }
    await reportToParent({ ready: false, error: why });
    fail(why, 1);
  }
  logger.info({ port: node.port, host: node.host, p2p_port: node.p2pPort, http: node.http?.url ?? null, workingdir: args.workingdir, pid: process.pid }, "bbc1-core ready");
  await reportToParent({ ready: true, port: node.port, p2pPort: node.p2pPort, http: node.http?.url });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    node
      .close()
      .then(() => {
        logger.flush?.();
        process.exit(0);
      })
      .catch((e: unknown) => {
        logger.error({ err: e }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // logrotate: reopen the log file (the old one was renamed); also pick up a rotated node key
  process.on("SIGHUP", () => {
    file?.reopen();
    logger.info({ log: file !== undefined ? args.log : "-" }, "SIGHUP: log file reopened");
    try {
      node.reloadNodeKey();
    } catch (e) {
      logger.error({ err: e }, "SIGHUP: node key not reloaded");
    }
  });
}

// the module may be loaded as a worker entry (signature verification) when bundled
if (isMainThread) void main();
