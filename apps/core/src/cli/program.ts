/** The `bbc1` command tree (commander): global options, every command, error reporting. */
import { Command, CommanderError, Option } from "commander";
import { addAdminCommands } from "./admin.js";
import { CliError, describeFailure, globals, parseInteger, type GlobalOptions } from "./common.js";
import { addKeyCommands } from "./keys.js";
import { addLedgerCommands } from "./ledger.js";
import { addTxCommands } from "./tx.js";

/** Builds the program; `runProgram` parses and runs it. */
export function buildProgram(): Command {
  const program = new Command("bbc1")
    .description("administer a BBc-1 node: info, domains, keys, the ledger (tx, export/import, backup, migrate)")
    .option("-4, --host <addr>", "the node's address", "127.0.0.1")
    .option("-6, --host6 <addr>", "the node's IPv6 address (instead of -4)")
    .option("-p, --port <port>", "the node's client port (bbc1-core --coreport)", parseInteger(1, 65535), 9000)
    .option("-w, --workingdir <dir>", "the node's working directory (bbc1-core -w): its node_key.pem, config.json and ledgers", ".bbc1")
    .option("-k, --node-key <file>", "the node key signing admin commands (default: <workingdir>/node_key.pem when it exists)")
    .option("-c, --config <file>", "the node's config file (default: <workingdir>/config.json)")
    .addOption(new Option("--timeout <ms>", "how long to wait for an answer").argParser(parseInteger(1, 3_600_000)).default(10_000))
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();
  addAdminCommands(program);
  addTxCommands(program);
  addLedgerCommands(program);
  addKeyCommands(program);
  program.addHelpText(
    "after",
    `
ids are 64 hex digits (bbc1 id-create makes one). Run bbc1 where the node runs (npm start: the clone),
or point it at the node with -p PORT and -w WORKDIR. Every command has --help.`,
  );
  // every (sub)command stops on a usage error instead of exiting inside commander
  const override = (c: Command) => {
    c.exitOverride();
    c.showHelpAfterError("(add --help for usage)");
    for (const s of c.commands) override(s);
  };
  override(program);
  return program;
}

/** Parses `argv` (node, script, args...) and runs the command; exits with 0, 1 (failed) or 2 (usage). */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  let g: GlobalOptions | undefined;
  program.hook("preAction", (_root, action) => {
    g = globals(action);
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version print and exit 0; usage errors were printed by commander
      process.exit(e.exitCode === 0 ? 0 : 2);
    }
    process.stderr.write(`bbc1: ${describeFailure(e, g)}\n`);
    process.exit(e instanceof CliError ? e.exitCode : 1);
  }
  // a command may set process.exitCode (verify failed); let pending output drain
}
