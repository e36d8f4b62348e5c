import type { WireMessage } from "@bbc1/wire";
import { NetError } from "./errors.js";
import type { CategoryHandler, ReceiveContext } from "./interfaces.js";
import { u16Of } from "./messages.js";

/** Handles the messages of one `infra_command` (see {@link CommandDispatch}). */
export interface CommandHandler {
  handle(message: WireMessage, context: ReceiveContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

/**
 * A {@link CategoryHandler} that hands each message to the handler of its `infra_command`
 * (2-byte value), so that several components share one category. The DATA category of a domain
 * is one: NOTIFY_INSERTED (`00 04`) belongs to user routing's insert notifications, the
 * replication and repair commands to replication/repair; each registers its own commands.
 *
 * A message without a 2-byte `infra_command` is a `BAD_MESSAGE` drop (v1.1.1 ignores it); one
 * whose command has no handler is a `NO_HANDLER` drop. Both are counted by the network as
 * `network.drop.<code>`.
 */
export class CommandDispatch implements CategoryHandler {
  readonly #handlers = new Map<number, CommandHandler>();
  #closed = false;

  /** Installs (or replaces) the handler of `command`. */
  set(command: number, handler: CommandHandler | ((message: WireMessage, context: ReceiveContext) => void | Promise<void>)): void {
    if (!Number.isInteger(command) || command < 0 || command > 0xffff) throw new NetError("INVALID_ARGUMENT", `infra_command ${command} is not a 16-bit value`);
    this.#handlers.set(command, typeof handler === "function" ? { handle: handler } : handler);
  }

  /** Removes the handler of `command`. */
  delete(command: number): void {
    this.#handlers.delete(command);
  }

  /** True when `command` has a handler. */
  has(command: number): boolean {
    return this.#handlers.has(command);
  }

  handle(message: WireMessage, context: ReceiveContext): void | Promise<void> {
    if (this.#closed) return;
    const command = u16Of(message.infra_command);
    if (command === undefined) throw new NetError("BAD_MESSAGE", "message without a 2-byte infra_command");
    const h = this.#handlers.get(command);
    if (h === undefined) throw new NetError("NO_HANDLER", `no handler for infra_command ${command}`);
    return h.handle(message, context);
  }

  /** Closes every distinct handler once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const seen = new Set<CommandHandler>();
    for (const h of this.#handlers.values()) {
      if (seen.has(h)) continue;
      seen.add(h);
      await h.close?.();
    }
  }
}
