/**
 * Signed admin commands are accepted once. v1.1.1 signs only `admin_info` (which its client
 * fills with 32 random bytes) and keeps no record, so a captured request can be replayed, or its
 * admin_info spliced into another admin command. The digests of the accepted ones are kept in a
 * bounded set (oldest forgotten first) and in `<workingdir>/admin_replay.log`, so a restart does
 * not forget them: each digest is appended and fsynced before its command runs; a torn last
 * record (crash while appending) is cut off when the file is opened; the file is rewritten
 * (temp file, fsync, rename) when it holds twice the capacity.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, ftruncateSync } from "node:fs";
import { dirname, join } from "node:path";
import { sha256, toHex } from "@bbc1/bbclib";
import { CoreError } from "./errors.js";

/** File name of the replay log inside the working directory. */
export const ADMIN_REPLAY_FILE = "admin_replay.log";

const RECORD = 32;

/** The replay cache of signed admin_info digests. */
export class AdminReplayCache {
  readonly path: string;
  readonly capacity: number;
  readonly #seen = new Set<string>();
  #fd: number | undefined;
  #onDisk = 0;

  /** Opens (or creates) `<workingDir>/admin_replay.log`; `capacity` 0 disables the cache. */
  constructor(workingDir: string, capacity: number) {
    this.path = join(workingDir, ADMIN_REPLAY_FILE);
    this.capacity = Math.floor(capacity);
    if (this.capacity <= 0) return;
    try {
      if (existsSync(this.path)) {
        const data = readFileSync(this.path);
        const whole = data.length - (data.length % RECORD);
        for (let o = 0; o < whole; o += RECORD) this.#add(data.subarray(o, o + RECORD).toString("hex"));
        this.#onDisk = whole / RECORD;
        this.#fd = openSync(this.path, "r+");
        if (whole !== data.length) {
          ftruncateSync(this.#fd, whole);
          fsyncSync(this.#fd);
        }
        closeSync(this.#fd);
      }
      this.#fd = openSync(this.path, "a");
      if (this.#onDisk > 2 * this.capacity) this.#compact();
    } catch (cause) {
      throw new CoreError("CONFIG_IO", `cannot open the admin replay log ${this.path}`, { cause });
    }
  }

  /** Digests remembered. */
  get size(): number {
    return this.#seen.size;
  }

  #add(hex: string): void {
    this.#seen.delete(hex);
    this.#seen.add(hex);
    if (this.#seen.size > this.capacity) this.#seen.delete(this.#seen.values().next().value!);
  }

  /**
   * Records `adminInfo` as used. False when it was seen before (a replay: drop the request).
   * Throws `CoreError` `CONFIG_IO` when the record cannot be made durable (the command must not run).
   */
  accept(adminInfo: Uint8Array): boolean {
    if (this.capacity <= 0) return true;
    const d = sha256(adminInfo);
    const hex = toHex(d);
    if (this.#seen.has(hex)) return false;
    try {
      writeSync(this.#fd!, d);
      fsyncSync(this.#fd!);
    } catch (cause) {
      throw new CoreError("CONFIG_IO", `cannot append to the admin replay log ${this.path}`, { cause });
    }
    this.#onDisk++;
    this.#add(hex);
    if (this.#onDisk > 2 * this.capacity) this.#compact();
    return true;
  }

  #compact(): void {
    const tmp = `${this.path}.tmp-${process.pid}`;
    const buf = Buffer.alloc(this.#seen.size * RECORD);
    let o = 0;
    for (const hex of this.#seen) {
      buf.write(hex, o, "hex");
      o += RECORD;
    }
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, buf);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dfd = openSync(dirname(this.path), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = openSync(this.path, "a");
    this.#onDisk = this.#seen.size;
  }

  /** Closes the log file. */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
