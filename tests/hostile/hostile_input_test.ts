import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type EmbeddedBroker, startBroker } from "../../mod.ts";
import { decodeApiVersionsResponse } from "../../src/protocol/generated/18_api_versions.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { assertServes, type RawClient, rawClient, requestFrame } from "../support/raw_client.ts";

describe("hostile input", () => {
  let broker: EmbeddedBroker;
  let bystander: RawClient;

  before(async () => {
    broker = await startBroker({ logLevel: "silent" });
    bystander = await rawClient(broker.port);
    await assertServes(bystander);
  });
  after(async () => {
    bystander.end();
    await broker.close();
  });

  const cases: [string, Uint8Array][] = [
    ["random bytes", new Uint8Array(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) & 0xff))],
    ["a negative size prefix", new Uint8Array([0xff, 0xff, 0xff, 0xfe, 1, 2, 3])],
    ["a 2 GiB size prefix", new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0])],
    ["API key 999", requestFrame(999, 0, 1, new Uint8Array(0))],
    ["a frame shorter than a request header", new Uint8Array([0, 0, 0, 3, 0, 18, 0])],
    ["Metadata v1 with a body that cannot be decoded", requestFrame(3, 1, 1, new Uint8Array([0x7f, 0xff, 0xff, 0xff]))],
    ["an unsupported Metadata version", requestFrame(3, 99, 1, new Uint8Array(0))],
  ];
  for (const [name, bytes] of cases) {
    test(`the broker closes a connection that sends ${name}, and keeps serving others`, async () => {
      const c = await rawClient(broker.port);
      c.send(bytes);
      assert.equal(await c.closed(), true, "connection should be closed");
      await assertServes(bystander);
      const fresh = await rawClient(broker.port);
      await assertServes(fresh);
      fresh.end();
    });
  }

  test("a truncated frame leaves the broker waiting, and closing it harms nobody", async () => {
    const c = await rawClient(broker.port);
    const full = requestFrame(18, 0, 9, new Uint8Array(0));
    c.send(full.subarray(0, full.length - 3));
    await assert.rejects(c.frame(200));
    c.end();
    await assertServes(bystander);
  });

  test("ApiVersions v99 is answered at v0 with UNSUPPORTED_VERSION and the supported ranges", async () => {
    const c = await rawClient(broker.port);
    c.send(requestFrame(18, 99, 42, new Uint8Array([0, 0, 0])));
    const r = new Reader(await c.frame());
    assert.equal(r.int32(), 42);
    const res = decodeApiVersionsResponse(r, 0);
    assert.equal(res.errorCode, 35);
    const av = res.apiKeys.find((k) => k.apiKey === 18);
    assert.deepEqual(av && [av.minVersion, av.maxVersion], [0, 4]);
    await assertServes(c);
    c.end();
  });

  test("pipelined requests are answered in order", async () => {
    const c = await rawClient(broker.port);
    const frames = [1, 2, 3, 4, 5].map((id) => requestFrame(18, 0, id, new Uint8Array(0)));
    c.send(new Uint8Array(Buffer.concat(frames)));
    for (const id of [1, 2, 3, 4, 5]) {
      const r = new Reader(await c.frame());
      assert.equal(r.int32(), id);
    }
    c.end();
  });
});
