/** Command line of bbc1-core: the v1.1.1 `command.py` flag set (long and short forms) plus `--bind`. */

export interface CoreArgs {
  coreport: number;
  p2pport: number;
  workingdir: string;
  config?: string;
  default_config?: string;
  nodekey: boolean;
  no_nodekey: boolean;
  domain0: boolean;
  ledgersubsystem: boolean;
  ip4addr?: string;
  ip6addr?: string;
  log: string;
  verbose_level: string;
  daemon: boolean;
  kill: boolean;
  /** Extension: address the client server binds to (default 127.0.0.1). */
  bind: string;
  /** Extension: address the P2P port binds to (default 0.0.0.0, as v1.1.1). */
  p2pbind: string;
  /** Extension: port of the HTTP endpoint (metrics, health, explorer); default config `http.port` (9180). */
  http_port?: number;
  /** Extension: address of the HTTP endpoint; default config `http.host` (127.0.0.1). */
  http_bind?: string;
  /** Extension: no HTTP endpoint. */
  no_http: boolean;
  help: boolean;
}

export const USAGE = `usage: bbc1-core [--coreport <number>] [--p2pport <number>] [--workingdir <dir>]
                 [--config <filename>] [--default_config <filename>] [--nodekey] [--no_nodekey]
                 [--domain0] [--ledgersubsystem] [--ip4addr <IP addr>] [--ip6addr <IPv6 addr>]
                 [--log <filename>] [--verbose_level <string>] [--daemon] [--kill]
                 [--bind <addr>] [--p2pbind <addr>] [--http_port <number>] [--http_bind <addr>]
                 [--no_http] [--help]

  -cp, --coreport N        client TCP port (default 9000)
  -pp, --p2pport N         P2P port, UDP and TCP (default 6641; 0 = any free port)
  -w,  --workingdir DIR    working directory (default .bbc1)
  -c,  --config FILE       config file (default <workingdir>/config.json)
       --default_config F  file whose top-level sections replace the config's
       --nodekey           check admin commands with <workingdir>/node_key.pem
       --no_nodekey        do not check admin commands (unsafe but on a single-user machine)
       --domain0           also serve domain_global_0
       --ledgersubsystem   accepted; no ledger subsystem module is available
       --ip4addr ADDR      IPv4 address shown to peers
       --ip6addr ADDR      IPv6 address shown to peers
  -l,  --log FILE          log file, "-" = standard error (default)
  -v,  --verbose_level L   all/debug/info/warning/error/critical/none (default debug)
  -d,  --daemon            run in the background (pid in /tmp/bbc1.pid)
  -k,  --kill              stop the daemon and exit
       --bind ADDR         address the client port binds to (default 127.0.0.1; "::" = all)
       --p2pbind ADDR      IPv4 address the P2P port binds to (default 0.0.0.0 = all)
       --http_port N       port of the HTTP endpoint: /metrics, /healthz, /readyz, /explorer/ (default 9180)
       --http_bind ADDR    address of the HTTP endpoint (default 127.0.0.1; other addresses need http.token)
       --no_http           no HTTP endpoint
  -h,  --help              this text`;

const VALUE: Record<string, keyof CoreArgs> = {
  "-cp": "coreport", "--coreport": "coreport",
  "-pp": "p2pport", "--p2pport": "p2pport",
  "-w": "workingdir", "--workingdir": "workingdir",
  "-c": "config", "--config": "config",
  "--default_config": "default_config",
  "--ip4addr": "ip4addr", "--ip6addr": "ip6addr",
  "-l": "log", "--log": "log",
  "-v": "verbose_level", "--verbose_level": "verbose_level",
  "--bind": "bind",
  "--p2pbind": "p2pbind",
  "--http_port": "http_port", "--http_bind": "http_bind",
};
const FLAG: Record<string, keyof CoreArgs> = {
  "--nodekey": "nodekey", "--no_nodekey": "no_nodekey",
  "--domain0": "domain0", "--ledgersubsystem": "ledgersubsystem",
  "-d": "daemon", "--daemon": "daemon", "-k": "kill", "--kill": "kill",
  "-h": "help", "--help": "help",
  "--no_http": "no_http",
};

/** Parses argv (without node and script). Throws an Error with a message on bad input. */
export function parseArgs(argv: readonly string[]): CoreArgs {
  const a: CoreArgs = {
    coreport: 9000, p2pport: 6641, workingdir: ".bbc1", nodekey: false, no_nodekey: false, domain0: false,
    ledgersubsystem: false, log: "-", verbose_level: "debug", daemon: false, kill: false, bind: "127.0.0.1", p2pbind: "0.0.0.0", help: false,
    no_http: false,
  };
  const rec = a as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg in FLAG) {
      rec[FLAG[arg]!] = true;
      continue;
    }
    const key = VALUE[arg];
    if (key === undefined) throw new Error(`unrecognized argument: ${argv[i]}`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`argument ${arg}: expected one argument`);
    if (key === "coreport" || key === "p2pport" || key === "http_port") {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`argument ${arg}: invalid port: '${v}'`);
      rec[key] = n;
    } else rec[key] = v;
  }
  return a;
}

/** v1.1.1 levels → pino levels. */
export function pinoLevel(level: string): string {
  switch (level.toLowerCase()) {
    case "all":
      return "trace";
    case "debug":
      return "debug";
    case "info":
      return "info";
    case "warning":
      return "warn";
    case "error":
      return "error";
    case "critical":
      return "fatal";
    case "none":
      return "silent";
    default:
      return "trace";
  }
}
