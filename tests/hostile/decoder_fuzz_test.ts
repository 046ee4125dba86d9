/**
 * Every decoder survives garbage: each request decoder at every version the codecs define (the
 * served ones also as whole frames, as the dispatcher decodes them), every response decoder, the
 * request header, the embedded data schemas, record batches, legacy message sets, the
 * decompressors and frame splitting, fed valid, truncated, mutated, length-attacked and random
 * inputs from fixed seeds. A decoder may return or throw its own error (DecodeError, or a
 * CORRUPT_MESSAGE / INVALID_RECORD answer on the produce path), within a time bound, without
 * allocating past what the input can justify. `scripts/fuzz.ts` runs the same targets for longer.
 *
 * Then malformed frames go over real connections to an in-process broker: each closes its own
 * connection while another client keeps being served.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../mod.ts";
import { Codec, createCodecs, DEFAULT_MAX_OUTPUT_BYTES } from "../../src/protocol/compression/mod.ts";
import { APIS } from "../../src/protocol/generated/api_keys.ts";
import { ErrorCode } from "../../src/protocol/generated/errors.ts";
import { buildBatch, inspectBatch } from "../../src/protocol/records/mod.ts";
import { encodeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { DecodeError, Reader } from "../../src/protocol/reader.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { assertServes, type RawClient, rawClient } from "../support/raw_client.ts";
import {
  AllocationGuard,
  allTargets,
  decodeRequestFrame,
  formatFailure,
  generateMessage,
  isServed,
  loadNativeCodecs,
  Rng,
  runRound,
  SERVED,
  type Target,
  uvarintBytes,
} from "./fuzz/mod.ts";
import { countElements, TracingReader } from "./fuzz/messages.ts";

/** The suite's seed: failures reproduce with `bun scripts/fuzz.ts --seed 1801873774 --replay ...`. */
const SEED = 0x6b62696e;
/** Longest one case may take; real decodes take microseconds. */
const CASE_TIME_MS = 2000;
const TIMEOUT_MS = 120_000;

const targets = allTargets({ native: await loadNativeCodecs() });

/** The targets of one statistics group (at least one). */
function group(name: string): Target[] {
  const selected = targets.filter((t) => t.group === name);
  assert.ok(selected.length > 0, `no fuzz target in group "${name}"`);
  return selected;
}

/** Runs `rounds` rounds of each target under an allocation guard; fails with the first failure. */
function fuzz(selected: Target[], rounds: number): number {
  const guard = new AllocationGuard();
  guard.install();
  let cases = 0;
  try {
    for (const target of selected) {
      for (let round = 0; round < rounds; round++) {
        const result = runRound(target, { seed: SEED, round, caseTimeMs: CASE_TIME_MS, guard });
        cases += result.cases;
        if (result.failure) assert.fail(formatFailure(result.failure, { maxHexChars: 4096 }));
      }
    }
  } finally {
    guard.uninstall();
  }
  return cases;
}

describe("request and response decoders survive truncated, mutated and random bodies", () => {
  for (const api of APIS.values()) {
    const window = SERVED.get(api.apiKey);
    const served = window ? `, served v${window.minVersion}–v${window.maxVersion} also as frames` : "";
    test(
      `${api.name} (key ${api.apiKey}) decoders at v${api.minVersion}–v${api.maxVersion}${served}`,
      { timeout: TIMEOUT_MS },
      () => {
        // Rounds cycle through message shapes: "normal", "deep" (every array and tag present)
        // and "wide" (long arrays). Served versions get two rounds of each.
        const mine = targets.filter((t) => t.group === api.name || t.group === `${api.name} response`);
        const requests = mine.filter((t) => t.id.endsWith("request"));
        fuzz(requests.filter((t) => t.served), 6);
        fuzz(requests.filter((t) => !t.served), 3);
        fuzz(mine.filter((t) => t.id.endsWith("response")), 2);
      },
    );
  }

  test("the request header decoder survives garbage at v0–v2", { timeout: TIMEOUT_MS }, () => {
    fuzz(group("RequestHeader"), 6);
  });

  test(
    "the data schema decoders (consumer protocol, control records, ...) survive garbage",
    { timeout: TIMEOUT_MS },
    () => {
      fuzz(group("Data schemas"), 3);
    },
  );
});

describe("length fields that claim more than the frame holds", () => {
  test("are refused at once at every served request version: 2^31 - 1, 2^32 - 1, -1 and one past the end", () => {
    let attacked = 0;
    for (const [apiKey, window] of SERVED) {
      const api = APIS.get(apiKey)!;
      for (let v = window.minVersion; v <= window.maxVersion; v++) {
        const msg = generateMessage(api.decodeRequest, { version: v, rng: new Rng(v + 1000 * apiKey), mode: "deep" });
        const w = new Writer();
        api.encodeRequest(w, v, msg);
        const body = w.toBytes();
        const trace = new TracingReader(body);
        api.decodeRequest(trace, v);
        for (const site of trace.sites) {
          const rest = body.length - site.at - site.width;
          const claims = site.kind === "uv" ? [0xffffffff, 0x80000000, rest + 2] : [0x7fffffff, -2, rest + 1];
          for (const claim of claims) {
            let value: Uint8Array;
            if (site.kind === "uv") value = uvarintBytes(claim);
            else {
              value = new Uint8Array(site.width);
              const dv = new DataView(value.buffer);
              if (site.kind === "i16") dv.setInt16(0, Math.min(claim, 0x7fff));
              else dv.setInt32(0, claim);
            }
            const bad = new Uint8Array(body.length - site.width + value.length);
            bad.set(body.subarray(0, site.at));
            bad.set(value, site.at);
            bad.set(body.subarray(site.at + site.width), site.at + value.length);
            const start = performance.now();
            try {
              // A claim can land where it is still valid (a tagged field's size, say): then the
              // message must still hold no more array elements than its bytes.
              const decoded = api.decodeRequest(new Reader(bad), v);
              assert.ok(countElements(decoded) <= bad.length, `${api.name} v${v} @${site.at}: too many elements`);
            } catch (e) {
              assert.ok(e instanceof DecodeError, `${api.name} v${v} @${site.at}: ${e}`);
            }
            assert.ok(performance.now() - start < 100, `${api.name} v${v} @${site.at} took too long`);
            attacked++;
          }
        }
      }
    }
    assert.ok(attacked > 1000, `only ${attacked} length fields attacked`);
  });
});

describe("the produce path's record parsers survive garbage", () => {
  test(
    "inspectBatch answers only CORRUPT_MESSAGE or INVALID_RECORD, and batchRecords throws only its own errors, for every codec",
    {
      timeout: TIMEOUT_MS,
    },
    () => {
      fuzz(group("Records"), 40);
    },
  );

  test("upConvertMessageSet answers only CORRUPT_MESSAGE or INVALID_RECORD, and what it converts is a valid batch", {
    timeout: TIMEOUT_MS,
  }, () => {
    fuzz(group("MessageSet"), 32);
  });

  for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
    test(`${codec} decompression throws only CompressionError and allocates no more than the input can expand to`, {
      timeout: TIMEOUT_MS,
    }, () => {
      fuzz(group(codec), 16);
    });
  }

  test("a batch whose records inflate past the decompression cap is CORRUPT_MESSAGE, for every codec", async () => {
    // The broker builds its codecs with the default cap (1 GiB per payload); a smaller one here.
    assert.equal(DEFAULT_MAX_OUTPUT_BYTES, 1 << 30);
    const codecs = createCodecs(await loadNativeCodecs(), { maxOutputBytes: 1 << 20 });
    const zeros = new Uint8Array(4 << 20);
    for (const codec of [Codec.GZIP, Codec.SNAPPY, Codec.LZ4, Codec.ZSTD]) {
      const batch = buildBatch([{ value: zeros }], { compression: codec, compress: codecs.compress, now: () => 0n });
      assert.ok(batch.length < 512 << 10, `${codec}: a bomb is small`);
      const start = performance.now();
      const r = inspectBatch(batch, 0, batch.length, { decompress: codecs.decompress });
      assert.ok(!r.ok && r.code === ErrorCode.CORRUPT_MESSAGE, `${codec}: ${JSON.stringify(r, (_k, v) => String(v))}`);
      assert.match(r.message, /exceeds the limit of 1048576 bytes/);
      assert.ok(performance.now() - start < 2000, `${codec}: refused promptly`);
    }
  });

  test("FrameSplitter yields frames or one error for any byte stream in any chunking", { timeout: TIMEOUT_MS }, () => {
    fuzz(group("Frames"), 40);
  });
});

describe("malformed frames over a real connection", () => {
  let broker: EmbeddedBroker;
  let bystander: RawClient;
  let correlationId = 1000;

  const serves = (client: RawClient) => assertServes(client, ++correlationId);

  before(async () => {
    broker = await startBroker({ logLevel: "silent" });
    bystander = await rawClient(broker.port);
    await serves(bystander);
  });
  after(async () => {
    bystander.end();
    await broker.close();
  });

  /**
   * Frames from the fuzz rounds whose header (API key, stable served version) is intact but
   * which the decoders refuse: so the broker reaches the body decoder, and must close.
   */
  function undecodableFrames(): { name: string; frame: Uint8Array }[] {
    const out: { name: string; frame: Uint8Array }[] = [];
    for (const target of targets) {
      const api = target.apiKey === null ? undefined : APIS.get(target.apiKey);
      if (!api || !target.id.endsWith("request") || !target.served || target.version === null) continue;
      if (api.latestVersionUnstable && target.version === api.maxVersion) continue;
      if (target.version % 4 !== 1 && target.version !== api.maxVersion - 1) continue;
      const taken = new Set<string>();
      for (const c of target.round(SEED, 1)) {
        const kind = c.strategy.split(" ").slice(0, 2).join(" ");
        if (!c.strategy.startsWith("frame") || taken.has(kind) || c.bytes.length < 8) continue;
        const dv = new DataView(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
        if (dv.getInt16(0) !== api.apiKey || dv.getInt16(2) !== target.version) continue;
        try {
          if (decodeRequestFrame(c.bytes) !== null) continue;
        } catch {
          continue;
        }
        taken.add(kind);
        const framed = new Uint8Array(4 + c.bytes.length);
        new DataView(framed.buffer).setInt32(0, c.bytes.length);
        framed.set(c.bytes, 4);
        out.push({ name: `${target.id} (${c.strategy})`, frame: framed });
      }
    }
    return out;
  }

  test("each undecodable request closes only its own connection while another client keeps being served", {
    timeout: TIMEOUT_MS,
  }, async () => {
    const frames = undecodableFrames();
    assert.ok(frames.length >= 40, `only ${frames.length} frames`);
    assert.ok(new Set(frames.map((f) => f.name.split(" ")[0])).size >= 15, "frames should span many APIs");
    for (let i = 0; i < frames.length; i += 8) {
      const batch = frames.slice(i, i + 8);
      const clients = await Promise.all(batch.map(() => rawClient(broker.port)));
      batch.forEach((f, j) => clients[j]!.send(f.frame));
      const closed = await Promise.all(clients.map((c) => c.closed()));
      batch.forEach((f, j) => assert.equal(closed[j], true, `${f.name} should close its connection`));
      await serves(bystander);
    }
  });

  test("a decodable request on a fresh connection is answered and leaves it open", async () => {
    const c = await rawClient(broker.port);
    const w = new Writer();
    encodeRequestHeader(w, 1, { requestApiKey: 3, requestApiVersion: 1, correlationId: 5, clientId: "fuzz" });
    APIS.get(3)!.encodeRequest(w, 1, { topics: [] });
    const body = w.toBytes();
    assert.notEqual(decodeRequestFrame(body), null);
    assert.ok(isServed(3, 1));
    const framed = new Uint8Array(4 + body.length);
    new DataView(framed.buffer).setInt32(0, body.length);
    framed.set(body, 4);
    c.send(framed);
    const r = new Reader(await c.frame());
    assert.equal(r.int32(), 5);
    await serves(c);
    c.end();
  });
});
