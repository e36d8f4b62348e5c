/**
 * The node's HTTP endpoint: `/metrics` (Prometheus), `/healthz`, `/readyz`, and the read-only
 * ledger explorer (`/explorer/`, its static files and its JSON API under `/api/`). Loopback by
 * default; with a token configured, everything but the two probes needs it.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { RefusalCounter } from "@bbc1/wire";
import { CoreError } from "../errors.js";
import type { Domain } from "../domain.js";
import type { CoreMetrics } from "./metrics.js";
import { isLoopbackHost, tokenMatches, type ResolvedHttpOptions } from "./options.js";
import { LedgerView } from "./ledger-view.js";
import { ExplorerApi, type ExplorerNode } from "./api.js";
import { explorerFile } from "./static.js";

/** What the endpoint needs from the node. */
export interface HttpNode extends ExplorerNode {
  readonly metrics: CoreMetrics;
  readonly refusals: RefusalCounter;
  readonly domains: ReadonlyMap<string, Domain>;
  /** P2P readiness, when the node has a P2P layer: undefined = no P2P layer configured. */
  p2pListening?(): boolean | undefined;
}

const COOKIE = "bbc1_token";
const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** The HTTP endpoint of one node. */
export class HttpEndpoint {
  readonly options: ResolvedHttpOptions;
  readonly #node: HttpNode;
  readonly #log: Logger;
  readonly #api: ExplorerApi;
  readonly #server: Server;
  #inFlight = 0;

  private constructor(node: HttpNode, options: ResolvedHttpOptions, logger: Logger) {
    this.#node = node;
    this.options = options;
    this.#log = logger;
    this.#api = new ExplorerApi(node);
    this.#server = createServer({ requestTimeout: options.requestTimeoutMs, headersTimeout: Math.min(options.requestTimeoutMs, 10_000), keepAliveTimeout: 5_000 }, (req, res) => {
      this.#handle(req, res).catch((e: unknown) => {
        this.#log.error({ err: e, path: pathOf(req) }, "http request failed");
        if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n");
        else res.destroy();
      });
    });
    this.#server.maxConnections = 64;
  }

  /** Binds and starts serving. Throws `LISTEN_FAILED` when the address is taken. */
  static async start(node: HttpNode, options: ResolvedHttpOptions, logger: Logger): Promise<HttpEndpoint> {
    const ep = new HttpEndpoint(node, options, logger);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(new CoreError("LISTEN_FAILED", `cannot listen on ${options.host}:${options.port} (http endpoint): ${e.message}`, { cause: e }));
      ep.#server.once("error", onError);
      ep.#server.listen(options.port, options.host, () => {
        ep.#server.off("error", onError);
        ep.#server.on("error", (e) => logger.error({ err: e }, "http server error"));
        resolve();
      });
    });
    logger.info({ url: ep.url, explorer: options.explorer, token: options.tokenDigest !== null }, "http endpoint listening (/metrics, /healthz, /readyz" + (options.explorer ? ", /explorer/)" : ")"));
    return ep;
  }

  /** The port it listens on. */
  get port(): number {
    const a = this.#server.address();
    return a !== null && typeof a === "object" ? a.port : 0;
  }

  /** `http://host:port` of the endpoint. */
  get url(): string {
    const a = this.#server.address();
    if (a === null || typeof a !== "object") return "";
    return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    this.#log.trace({ method: req.method, path }, "http request");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, 405, "text/plain; charset=utf-8", "read-only: GET and HEAD only\n");
    }
    if (path === "/healthz") return send(res, 200, "text/plain; charset=utf-8", "ok\n");
    if (!this.#hostAllowed(req)) return send(res, 403, "text/plain; charset=utf-8", "forbidden: the Host header names no loopback address (set http.token to serve other names)\n");
    if (path === "/readyz") return this.#ready(req, res);
    const authorized = this.#authorized(req, url);
    if (authorized === "cookie-from-query") {
      // the token came in the query string: keep it in a cookie and drop it from the address bar
      res.setHeader("Set-Cookie", `${COOKIE}=${encodeURIComponent(url.searchParams.get("token")!)}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete("token");
      res.setHeader("Location", url.pathname + (url.search === "?" ? "" : url.search));
      return send(res, 303, "text/plain; charset=utf-8", "");
    }
    if (!authorized) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="bbc1"');
      const html = path.startsWith("/explorer");
      return send(
        res,
        401,
        html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8",
        html ? "<!doctype html><title>bbc1 explorer</title><p>This endpoint needs its token: open <code>/explorer/?token=&lt;http.token&gt;</code> once (kept in a cookie).</p>\n" : "unauthorized: send Authorization: Bearer <http.token>\n",
      );
    }
    if (path === "/metrics") {
      const body = await this.#node.metrics.text();
      return send(res, 200, this.#node.metrics.contentType, body);
    }
    if (!this.options.explorer) return send(res, 404, "text/plain; charset=utf-8", "not found\n");
    if (path === "/" || path === "/explorer") {
      res.setHeader("Location", "/explorer/");
      return send(res, 302, "text/plain; charset=utf-8", "");
    }
    if (path.startsWith("/explorer/")) {
      const f = await explorerFile(path.slice("/explorer/".length) || "index.html");
      if (f === undefined) return send(res, 404, "text/plain; charset=utf-8", "not found\n");
      if (f === null) return send(res, 503, "text/plain; charset=utf-8", "the explorer's files are not built: run `npm run build`\n");
      res.setHeader("Cache-Control", "no-cache");
      return send(res, 200, f.type, f.body);
    }
    if (path.startsWith("/api/")) {
      if (this.#inFlight >= this.options.maxConcurrentRequests) {
        this.#node.refusals.count("http_concurrency");
        res.setHeader("Retry-After", "1");
        return sendJson(res, 503, { error: `busy: ${this.options.maxConcurrentRequests} explorer requests in progress` });
      }
      this.#inFlight++;
      const work = this.#api.handle(path.slice("/api/".length), url.searchParams);
      // the slot is held until the work ends, even when the answer went out on the timeout
      void work.finally(() => this.#inFlight--).catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), this.options.requestTimeoutMs)));
      const r = await Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
      res.setHeader("Cache-Control", "no-store");
      if (r === "timeout") return sendJson(res, 503, { error: `the ledger did not answer within ${this.options.requestTimeoutMs} ms` });
      if (r.kind === "json") return sendJson(res, r.status, r.body);
      res.setHeader("Content-Disposition", `attachment; filename="${r.filename}"`);
      const body = r.open();
      if (body instanceof Uint8Array) return send(res, 200, "application/octet-stream", body);
      head(res, 200, "application/octet-stream", r.size);
      if (req.method === "HEAD") {
        body.destroy();
        return void res.end();
      }
      await pipeline(body, res);
      return;
    }
    return send(res, 404, "text/plain; charset=utf-8", "not found\n");
  }

  /**
   * Without a token, only loopback names are served: a page of another site whose name was
   * re-pointed at 127.0.0.1 (DNS rebinding) must not read the ledger.
   */
  #hostAllowed(req: IncomingMessage): boolean {
    if (this.options.tokenDigest !== null) return true;
    const host = req.headers.host;
    if (host === undefined) return true;
    const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
    return isLoopbackHost(name) || name === this.options.host;
  }

  #authorized(req: IncomingMessage, url: URL): boolean | "cookie-from-query" {
    const digest = this.options.tokenDigest;
    if (digest === null) return true;
    const auth = req.headers.authorization;
    if (auth !== undefined && /^Bearer /i.test(auth)) return tokenMatches(auth.slice(7).trim(), digest);
    const q = url.searchParams.get("token");
    if (q !== null) return tokenMatches(q, digest) ? "cookie-from-query" : false;
    const cookie = cookieValue(req.headers.cookie, COOKIE);
    return cookie !== undefined && tokenMatches(cookie, digest);
  }

  async #ready(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const problems: string[] = [];
    const probes = [...this.#node.domains.values()].map(async (d) => {
      if (d.ledger === null) return;
      if (!(await LedgerView.of(d.ledger).probe(2_000))) problems.push(`domain ${d.hex.slice(0, 16)}: ledger not answering`);
    });
    await Promise.all(probes);
    const p2p = this.#node.p2pListening?.();
    if (p2p === false) problems.push("P2P port not listening");
    const detail = this.options.tokenDigest === null || this.#authorized(req, new URL("http://x")) === true;
    if (problems.length === 0) return send(res, 200, "text/plain; charset=utf-8", `ready: ${this.#node.domains.size} domain(s)${p2p === true ? ", P2P listening" : ""}\n`);
    return send(res, 503, "text/plain; charset=utf-8", detail ? `not ready:\n${problems.join("\n")}\n` : `not ready (${problems.length} problem(s))\n`);
  }
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? "/", "http://x").pathname;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function head(res: ServerResponse, status: number, type: string, length: number): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  res.statusCode = status;
  res.setHeader("Content-Type", type);
  res.setHeader("Content-Length", length);
}

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  head(res, status, type, typeof body === "string" ? Buffer.byteLength(body) : body.length);
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
}
