/**
 * One-line failure messages for both executables: each cause said once (an error's message
 * often already contains its cause's), system error codes in words, and the flag that helps.
 */

interface Chained {
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  syscall?: unknown;
  port?: unknown;
  address?: unknown;
}

/** The innermost error of a cause chain that carries a Node system error code (EADDRINUSE, ...). */
export function systemCause(e: unknown): (Chained & { code: string }) | undefined {
  let found: (Chained & { code: string }) | undefined;
  for (let cur = e as Chained | undefined, i = 0; cur !== undefined && cur !== null && i < 10; cur = cur.cause as Chained | undefined, i++) {
    if (typeof cur.code === "string" && /^E[A-Z]+$/.test(cur.code) && typeof cur.syscall === "string") found = cur as Chained & { code: string };
  }
  return found;
}

/** The messages of an error and its causes, each kept only when the text so far lacks it. */
export function chainMessage(e: unknown): string {
  let text = "";
  for (let cur = e as Chained | undefined, i = 0; cur !== undefined && cur !== null && i < 10; cur = cur.cause as Chained | undefined, i++) {
    const m = typeof cur === "object" ? String(cur.message ?? "") : String(cur);
    if (m === "" || text.includes(m)) continue;
    text = text === "" ? m : `${text}: ${m}`;
  }
  return text === "" ? String(e) : text;
}

/** What a listen error means for an operator, with the flag that fixes it. */
function listenProblem(code: string, flag: string): string | undefined {
  switch (code) {
    case "EADDRINUSE":
      return `the port is already in use (another bbc1-core or another program listens there); stop it or choose another port with ${flag}`;
    case "EACCES":
      return `no permission to listen on this port (ports below 1024 need privileges); choose another with ${flag}`;
    case "EADDRNOTAVAIL":
      return "the address is not one of this machine's; check --bind";
    default:
      return undefined;
  }
}

/**
 * The message bbc1-core prints when it cannot start. A listen failure becomes
 * "cannot listen on HOST:PORT: <meaning>; <fix>" without the driver's repetition of the address.
 */
export function explainStartError(e: unknown): string {
  const err = e as Chained;
  const sys = systemCause(e);
  if (err?.code === "LISTEN_FAILED" && sys !== undefined) {
    const where = /cannot listen on (\S+?):? /.exec(String(err.message))?.[1] ?? `${String(sys.address ?? "")}:${String(sys.port ?? "")}`;
    const http = String(err.message).includes("(http endpoint)");
    const meaning = listenProblem(sys.code, http ? "--http_port N (or turn the endpoint off with --no_http)" : "--coreport N");
    if (meaning !== undefined) return `cannot listen on ${where}${http ? " (http endpoint)" : ""}: ${meaning}`;
  }
  if (err?.code === "P2P_FAILED" && sys !== undefined) {
    const where = /cannot listen on the P2P port (\S+?):? /.exec(String(err.message))?.[1] ?? `${String(sys.address ?? "")}:${String(sys.port ?? "")}`;
    const meaning = listenProblem(sys.code, "--p2pport N");
    if (meaning !== undefined) return `cannot listen on the P2P port ${where}: ${meaning}`;
  }
  const text = chainMessage(e);
  return typeof err?.code === "string" && !/^E[A-Z]+$/.test(err.code) ? `${text} (${err.code})` : text;
}
