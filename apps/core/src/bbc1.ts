#!/usr/bin/env node
/**
 * bbc1: administration of a node, replacing v1.1.1's utils (bbc_info.py, bbc_domain_update.py,
 * domain_key_setup.py, bbc_ping.py, id_create.py) and adding what an operator of a ledger node
 * needs: look into the ledger (tx ...), export / import a domain, back up, migrate between
 * back ends, manage the node key.
 *
 *   bbc1 [-4 HOST | -6 HOST] [-p PORT] [-w NODE_WORKDIR] [-k NODE_KEY] <command> [args]
 *
 * Admin messages are signed with the node key (default <workingdir>/node_key.pem when it exists).
 */
import { isMainThread } from "node:worker_threads";
import { buildProgram, runProgram } from "./cli/program.js";

if (isMainThread) void runProgram(buildProgram(), process.argv);
