import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, configKey, isCoreError, resolveLimits } from "../src/index.js";
import { startNode } from "./helpers/node.js";
import { RawClient } from "./helpers/raw-client.js";

describe("limits section of config.json", () => {
  it("absent: every default", () => {
    const r = resolveLimits(undefined);
    expect(r.process).toEqual(DEFAULT_LIMITS.process);
    expect(r.client).toEqual(DEFAULT_LIMITS.client);
    expect(r.decode).toEqual(DEFAULT_LIMITS.decode);
    expect(r.p2p).toEqual({});
  });

  it("snake_case keys override defaults; options override the file; p2p and decode sections pass through", () => {
    const r = resolveLimits(
      { partial_frames_total_bytes: 1000, client: { max_frame_bytes: 5000, read_timeout_ms: 7, some_future_key: 1 }, p2p: { max_frame_bytes: 9 }, decode: { max_elements: 100, x: 1 } },
      { client: { readTimeoutMs: 8 }, decode: { maxInflateRatio: 4 } },
    );
    expect(r.process.partialFramesTotalBytes).toBe(1000);
    expect(r.client.maxFrameBytes).toBe(5000);
    expect(r.client.readTimeoutMs).toBe(8);
    // the small-frame limit never exceeds the absolute one
    expect(r.client.maxRequestBytes).toBe(5000);
    expect(r.p2p).toEqual({ max_frame_bytes: 9 });
    expect(r.decode.maxElements).toBe(100);
    expect(r.decode.maxInflateRatio).toBe(4);
    expect(r.decode.maxInflatedBytes).toBe(DEFAULT_LIMITS.decode.maxInflatedBytes);
    expect(configKey("maxConnectionsPerAddress")).toBe("max_connections_per_address");
  });

  it("wrong types are config errors naming the key", () => {
    for (const bad of [{ client: { max_frame_bytes: "big" } }, { client: { idle_timeout_ms: -1 } }, { client: 3 }, { output_total_bytes: true }, 7, { p2p: [] }, { decode: { max_elements: "x" } }]) {
      try {
        resolveLimits(bad as never);
        expect.unreachable();
      } catch (e) {
        expect(isCoreError(e) && e.code).toBe("CONFIG_INVALID");
      }
    }
    expect(() => resolveLimits({}, { client: { nonsense: 1 } as never })).toThrow(/unknown limit/);
  });

  it("a node reads them from config.json and counts refusals under GET_STATS category 'limits'", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bbc1-limits-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ limits: { partial_frames_total_bytes: 256 * 1024, client: { max_frame_bytes: 1 << 20 } } }));
    const t = await startNode({}, dir);
    try {
      expect(t.node.limits.client.maxFrameBytes).toBe(1 << 20);
      expect(t.node.partialFrames.limit).toBe(256 * 1024);
      // a header beyond max_frame_bytes: closed, counted as frame_size
      const c = await RawClient.connect(t.port);
      const h = new Uint8Array(8);
      new DataView(h.buffer).setUint16(0, 2);
      new DataView(h.buffer).setUint32(4, (1 << 20) + 1);
      c.sendRaw(h);
      await new Promise((r) => c.socket.once("close", r));
      expect(t.node.stats.get("limits", "frame_size")).toBe(1);
      expect(t.node.refusals.get("frame_size")).toBe(1);
    } finally {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
