import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { KeyPair, sha256, toHex } from "@bbc1/bbclib";
import { ProtocolTimer, type Scheduler } from "./clock.js";
import { NetError } from "./errors.js";

/** The `domain_key` config section (v1.1.1 names). */
export interface DomainKeyConfig {
  /** Sign and verify admin messages with the domain key. Default false. */
  use?: boolean;
  /** Directory holding `<domain_id hex>.pem`. Default `<workingdir>/domain_keys` (the core resolves it). */
  directory?: string;
  /** Seconds the previous key is still accepted after a reload. Default 300. */
  obsolete_timeout?: number;
}

/** The file name of a domain's key: 64 lowercase hex characters + `.pem`. */
export function domainKeyFileName(domainId: Uint8Array): string {
  return `${toHex(domainId)}.pem`;
}

/**
 * The domain key(s) of one domain (§4): a P-256 private key shared by every node of the domain,
 * read from `<directory>/<domain_id hex>.pem`. The newest key signs; older keys are still
 * accepted until `obsolete_timeout` after the last reload.
 */
export class DomainKeys {
  readonly #domainId: Uint8Array;
  readonly #config: DomainKeyConfig;
  readonly #logger: Logger;
  readonly #timer: ProtocolTimer;
  #keys: KeyPair[] = [];

  constructor(deps: { domainId: Uint8Array; config: DomainKeyConfig | undefined; scheduler: Scheduler; logger: Logger }) {
    this.#domainId = deps.domainId.slice();
    this.#config = deps.config ?? {};
    this.#logger = deps.logger;
    this.#timer = new ProtocolTimer(deps.scheduler, () => this.#dropObsolete(), (err) => this.#logger.error({ err }, "domain key timer failed"));
  }

  /** True when the domain signs and checks admin messages. */
  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /** Keys accepted now, newest first. */
  get keyCount(): number {
    return this.#keys.length;
  }

  /**
   * Loads (or reloads, for NOTIFY_DOMAIN_KEY_UPDATE) the key file. With `use` off nothing
   * happens and the domain stays keyless. A readable new key goes to the front; the older ones
   * stay accepted for `obsolete_timeout` seconds. Returns false when the file cannot be used:
   * at first load the domain is keyless (as v1.1.1); on a reload the current keys are kept
   * (v1.1.1 silently dropped them and turned the domain keyless).
   */
  load(): boolean {
    if (this.#config.use !== true) return false;
    const dir = this.#config.directory;
    if (dir === undefined || dir === "") {
      this.#logger.warn("domain_key.use is on but domain_key.directory is not set");
      return false;
    }
    const file = join(dir, domainKeyFileName(this.#domainId));
    let key: KeyPair;
    try {
      key = new KeyPair().fromPrivateKeyPem(readFileSync(file, "utf8"));
      if (key.curveType !== 2) throw new NetError("DOMAIN_KEY", "domain key is not a P-256 key");
    } catch (err) {
      this.#logger.warn({ err, file }, "domain key not loaded");
      return false;
    }
    this.#keys.unshift(key);
    const timeoutS = this.#config.obsolete_timeout ?? 300;
    // v1.1.1 arms the obsolete timer at the first load and only advances it later (Q15).
    this.#timer.advance(timeoutS * 1000);
    return true;
  }

  /** Uses `key` as the newest domain key (for embedding and tests). */
  setKey(key: KeyPair): void {
    this.#keys.unshift(key);
    this.#timer.advance((this.#config.obsolete_timeout ?? 300) * 1000);
  }

  /** `nodekey_signature` of `adminInfo`: ECDSA P-256, 64-byte r||s over SHA-256(adminInfo). */
  sign(adminInfo: Uint8Array): Uint8Array {
    const k = this.#keys[0];
    if (k === undefined) throw new NetError("DOMAIN_KEY", "domain has no key");
    return k.sign(sha256(adminInfo));
  }

  /** True when `signature` verifies over SHA-256(adminInfo) with one of the accepted keys. */
  verify(adminInfo: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== 64) return false;
    const digest = sha256(adminInfo);
    for (const k of this.#keys) if (k.verify(digest, signature)) return true;
    return false;
  }

  /** Stops the obsolete-key timer. */
  close(): void {
    this.#timer.cancel();
  }

  #dropObsolete(): void {
    if (this.#keys.length > 1) this.#keys.length = 1;
  }
}
