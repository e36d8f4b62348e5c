/**
 * Wiring of the HTTP endpoint into a node: reads the `http` section, and adapts the service to
 * what the endpoint reads ({@link HttpNode}).
 * @module
 */
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { RefusalCounter } from "@bbc1/wire";
import type { BBcConfig } from "../config.js";
import type { Domain } from "../domain.js";
import type { BBcStats } from "../stats.js";
import type { ResolvedLimits } from "../limits.js";
import type { CoreMetrics } from "./metrics.js";
import { HttpEndpoint, type HttpNode } from "./server.js";
import { readHttpSection, resolveHttpOptions, type HttpOptions } from "./options.js";
import type { P2pView } from "./p2p-view.js";

export { HttpEndpoint } from "./server.js";
export { DEFAULT_HTTP_PORT, type HttpOptions, type ResolvedHttpOptions } from "./options.js";
export type { P2pView } from "./p2p-view.js";

/** The parts of the service the endpoint reads. */
export interface HttpServiceView {
  readonly config: BBcConfig;
  readonly logger: Logger;
  readonly metrics: CoreMetrics;
  readonly refusals: RefusalCounter;
  readonly domains: ReadonlyMap<string, Domain>;
  readonly limits: ResolvedLimits;
  readonly searchMaxCount: number;
  readonly traverseMaxCount: number;
  readonly stats: BBcStats;
  readonly nodeKey: unknown;
  readonly p2pPort: number;
  readonly port: number;
  readonly host: string;
  resources(): Record<string, number>;
  /** Neighbours per domain and P2P readiness, when the node has a P2P layer. */
  p2pView?(): P2pView | undefined;
}

let version: string | undefined;
function packageVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "unknown";
    } catch {
      version = "unknown";
    }
  }
  return version;
}

/** Starts the endpoint when the option or the config turns it on; undefined otherwise. */
export async function startHttpEndpoint(svc: HttpServiceView, option: boolean | HttpOptions | undefined): Promise<HttpEndpoint | undefined> {
  const section = readHttpSection(svc.config.config.http);
  const opts: HttpOptions | undefined = option === undefined ? undefined : option === true ? {} : option === false ? { enabled: false } : option;
  const resolved = resolveHttpOptions(section, opts, opts !== undefined, svc.config.workingDir);
  if (!resolved.enabled) return undefined;
  const startedAt = Date.now();
  const node: HttpNode = {
    metrics: svc.metrics,
    refusals: svc.refusals,
    domains: svc.domains,
    limits: svc.limits,
    searchMaxCount: svc.searchMaxCount,
    traverseMaxCount: svc.traverseMaxCount,
    stats: svc.stats,
    resources: () => svc.resources(),
    info: () => ({ version: packageVersion(), startedAt, clientHost: svc.host, clientPort: svc.port, p2pPort: svc.p2pPort, nodeKey: svc.nodeKey !== null }),
    p2pListening: () => svc.p2pView?.()?.listening,
  };
  if (svc.p2pView !== undefined) node.neighbours = (hex) => svc.p2pView?.()?.neighbours(hex);
  return HttpEndpoint.start(node, resolved, svc.logger.child({ component: "http" }));
}
