/** Produce requests to record bytes, and consumed records to the v2 shapes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Converted,
  convertV2Record,
  convertV3Record,
  parseTimestamp,
  type SchemaSerde,
  type SerializeRequest,
  v2ConsumerRecord,
} from "../../../../src/http/rest_proxy/records.ts";
import { RestError } from "../../../../src/http/rest_proxy/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const base = { topic: "orders", principal: "User:alice", nowMs: 1000n };

function sync(c: Converted | Promise<Converted>): Converted {
  assert.ok(!(c instanceof Promise), "expected a synchronous conversion");
  return c as Converted;
}

function record(c: Converted) {
  assert.ok(c.ok, c.ok ? "" : c.error.message);
  return c.record;
}

function error(c: Converted): { error_code: number; message: string } {
  assert.ok(!c.ok, "expected an error");
  return c.error.body();
}

test("convertV3Record() encodes BINARY, JSON and STRING keys and values, headers, partition and timestamp", () => {
  const r = record(sync(convertV3Record({
    partition_id: 2,
    headers: [{ name: "h1", value: btoa("v1") }, { name: "h2", value: null }],
    key: { type: "BINARY", data: btoa("\u0000\u00ffkey") },
    value: { type: "JSON", data: { a: [1, "x"], b: null } },
    timestamp: "2024-01-02T03:04:05.678Z",
  }, base)));
  assert.equal(r.partition, 2);
  assert.deepEqual(r.key, new Uint8Array([0, 255, 107, 101, 121]));
  assert.deepEqual(r.value, enc('{"a":[1,"x"],"b":null}'));
  assert.deepEqual(r.headers, [{ key: "h1", value: enc("v1") }, { key: "h2", value: null }]);
  assert.equal(r.timestamp, BigInt(Date.parse("2024-01-02T03:04:05.678Z")));
  assert.deepEqual(r.keyInfo, { type: "BINARY", size: 5 });
  assert.deepEqual(r.valueInfo, { type: "JSON", size: 22 });

  const s = record(sync(convertV3Record({ value: { type: "string", data: "héllo" } }, base)));
  assert.equal(s.partition, undefined);
  assert.equal(s.key, null);
  assert.equal(s.keyInfo, undefined);
  assert.deepEqual(s.value, enc("héllo"));
  assert.deepEqual(s.valueInfo, { type: "STRING", size: 6 });
  assert.equal(s.timestamp, 1000n, "records without a timestamp get the request's time");

  // null data is a null key or value (a tombstone), with size 0.
  const t = record(
    sync(convertV3Record({ key: { type: "JSON", data: "k" }, value: { type: "BINARY", data: null } }, base)),
  );
  assert.deepEqual(t.key, enc('"k"'));
  assert.equal(t.value, null);
  assert.deepEqual(t.valueInfo, { type: "BINARY", size: 0 });
});

test("convertV3Record() answers bad input with Confluent's codes, never an exception", () => {
  const cases: [unknown, number, RegExp][] = [
    [[1, 2], 400, /expected a JSON object/],
    [{ partition_id: "1" }, 400, /partition_id: expected an integer/],
    [{ partition_id: -1 }, 40402, /Partition not found/],
    [{ partition_id: 1.5 }, 400, /partition_id/],
    [{ headers: {} }, 400, /headers: expected an array/],
    [{ headers: [{ name: "h", value: "!!" }] }, 400, /header "h": its value is not base64/],
    [{ headers: [{ value: "AA==" }] }, 400, /Cannot read a header/],
    [{ timestamp: "yesterday" }, 400, /ISO-8601/],
    [{ key: "plain" }, 400, /Cannot read the key/],
    [{ value: { type: "BINARY", data: 1 } }, 400, /data=1 is not a base64 string/],
    [{ value: { type: "STRING", data: { a: 1 } } }, 400, /STRING data must be a string/],
    [{ value: { type: "XML", data: "<a/>" } }, 400, /unknown type "XML"/],
    [{ value: { type: "AVRO", data: 1 } }, 400, /AVRO data needs the Schema Registry.*serves none/],
    [{ value: { schema_id: 3, data: 1 } }, 400, /names no "type".*Schema Registry/],
  ];
  for (const [body, code, message] of cases) {
    const e = error(sync(convertV3Record(body, base)));
    assert.equal(e.error_code, code, JSON.stringify(body));
    assert.match(e.message, message, JSON.stringify(body));
  }
});

test("convertV3Record() asks the SchemaSerde for schema formats and reports the schema it used", async () => {
  const asked: SerializeRequest[] = [];
  const serde: SchemaSerde = {
    serialize(request) {
      asked.push(request);
      if (request.schemaId === 99) {
        return Promise.resolve({ ok: false, errorCode: 40403, message: "Schema 99 not found" });
      }
      return Promise.resolve({
        ok: true,
        bytes: new Uint8Array([0, 0, 0, 0, 7, 42]),
        format: request.format ?? "AVRO",
        subject: request.subject ?? `${request.topic}-${request.isKey ? "key" : "value"}`,
        schemaId: 7,
        schemaVersion: 2,
      });
    },
    deserialize: () => Promise.reject(new Error("unused")),
  };
  const pending = convertV3Record({
    key: { type: "STRING", data: "k" },
    value: { type: "AVRO", schema_version: 2, subject_name_strategy: "topic_name", data: { f: 1 } },
  }, { ...base, serde });
  assert.ok(pending instanceof Promise);
  const r = record(await pending);
  assert.deepEqual(r.value, new Uint8Array([0, 0, 0, 0, 7, 42]));
  assert.deepEqual(r.valueInfo, { type: "AVRO", size: 6, subject: "orders-value", schema_id: 7, schema_version: 2 });
  assert.deepEqual(asked[0], {
    topic: "orders",
    isKey: false,
    principal: "User:alice",
    format: "AVRO",
    subject: null,
    subjectNameStrategy: "TOPIC_NAME",
    schemaId: null,
    schemaVersion: 2,
    rawSchema: null,
    data: { f: 1 },
  });
  const failed = await convertV3Record({ value: { schema_id: 99, data: 1 } }, { ...base, serde });
  assert.deepEqual(error(failed), { error_code: 40403, message: "Schema 99 not found" });
  const strategy = await convertV3Record({ value: { type: "AVRO", subject_name_strategy: "NOPE" } }, {
    ...base,
    serde,
  });
  assert.match(error(strategy).message, /subject_name_strategy/);
});

test("convertV2Record() reads binary (base64) and JSON records; the path's partition wins", () => {
  const b = record(convertV2Record({ key: btoa("k"), value: btoa("v"), partition: 1 }, { format: "binary" }));
  assert.deepEqual([b.key, b.value, b.partition], [enc("k"), enc("v"), 1]);
  const j = record(convertV2Record({ value: { x: [1] } }, { format: "json", partition: 3 }));
  assert.deepEqual([j.key, j.value, j.partition], [null, enc('{"x":[1]}'), 3]);
  assert.match(error(convertV2Record({ value: "%%%" }, { format: "binary" })).message, /not base64/);
  assert.equal(error(convertV2Record("x", { format: "json" })).error_code, 400);
});

test("parseTimestamp() takes ISO-8601 instants and milliseconds", () => {
  assert.equal(parseTimestamp(undefined), undefined);
  assert.equal(parseTimestamp(1700000000000), 1700000000000n);
  assert.equal(parseTimestamp("1970-01-01T00:00:01Z"), 1000n);
  assert.ok(parseTimestamp(-5) instanceof RestError);
});

test("v2ConsumerRecord() renders binary as base64 and JSON as embedded JSON, or 42203 for bytes that are not JSON", () => {
  const r = {
    offset: 7n,
    timestamp: 0n,
    attributes: 0,
    timestampDelta: 0n,
    offsetDelta: 0,
    headers: [],
    key: enc('"k"'),
    value: enc('{"a":1}'),
  };
  assert.deepEqual(v2ConsumerRecord(r, { topic: "t", partition: 1, format: "json" }), {
    topic: "t",
    key: "k",
    value: { a: 1 },
    partition: 1,
    offset: 7,
  });
  assert.deepEqual(v2ConsumerRecord({ ...r, key: null }, { topic: "t", partition: 1, format: "binary" }), {
    topic: "t",
    key: null,
    value: btoa('{"a":1}'),
    partition: 1,
    offset: 7,
  });
  const bad = v2ConsumerRecord({ ...r, value: enc("not json") }, { topic: "t", partition: 1, format: "json" });
  assert.ok(bad instanceof RestError);
  assert.equal(bad.errorCode, 42203);
  assert.match(bad.message, /the value of t-1 at offset 7 is not JSON/);
  assert.ok(
    v2ConsumerRecord({ ...r, value: new Uint8Array([0xff, 0xfe]) }, {
      topic: "t",
      partition: 1,
      format: "json",
    }) instanceof RestError,
  );
});
