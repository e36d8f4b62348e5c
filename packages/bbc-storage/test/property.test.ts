/** Property tests: arbitrary bytes survive the ledger unchanged, and decoding stored garbage only ever gives a StorageError. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesEqual, getRandomId } from "@bbc1/bbclib";
import { decodeStoredTransaction, openLedgerStore, StorageError, type LedgerStore } from "@bbc1/storage";

let dir = "";
let store: LedgerStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bbc1-prop-"));
  store = await openLedgerStore({ domainId: getRandomId(), workingDir: dir });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ledger round trip (SQLite)", () => {
  it("stores any bytes under any id of 1..64 bytes and returns them unchanged; duplicates are refused", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 3000 }), async (id, data) => {
        const key = Buffer.from(id).toString("hex");
        const r = await store.insertTransaction({ transactionId: id, data, assets: [{ assetGroupId: id, assetId: null, userId: null, assetFileSize: 0, assetFileDigest: null }], pointTo: [id] });
        expect(r.inserted).toBe(!seen.has(key));
        seen.add(key);
        const got = await store.getTransaction(id);
        expect(got).not.toBeNull();
        if (r.inserted) expect(bytesEqual(got!.data, data)).toBe(true);
        expect(got!.data).toBeInstanceOf(Uint8Array);
      }),
      { numRuns: 300 },
    );
  });

  it("decodeStoredTransaction never throws anything but StorageError CORRUPT_DATA on garbage", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.uint8Array({ maxLength: 600 }), (id, data) => {
        try {
          const tx = decodeStoredTransaction({ transactionId: id, data });
          expect(bytesEqual(tx.transactionId!, id)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(StorageError);
          expect((e as StorageError).code).toBe("CORRUPT_DATA");
        }
      }),
      { numRuns: 2000 },
    );
  });
});
