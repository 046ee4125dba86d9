import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SchemaRegistry } from "../../../../../src/http/schema_registry/registry.ts";
import type { SchemaLogRecord, SchemasLog } from "../../../../../src/http/schema_registry/schemas_log.ts";
import {
  registrySerde,
  type SchemaSerde,
  SerdeErrorCode,
} from "../../../../../src/http/schema_registry/serde/serde.ts";

/** A `_schemas` log in memory. */
function memoryLog(): SchemasLog {
  const records: SchemaLogRecord[] = [];
  return {
    leader: () => Promise.resolve(0),
    append: (rs) => {
      for (const r of rs) records.push({ offset: records.length, key: r.key, value: r.value });
      return Promise.resolve();
    },
    readFrom: (offset) =>
      Promise.resolve({ records: records.slice(offset), next: records.length, end: records.length }),
  };
}

function setup(): { registry: SchemaRegistry; serde: SchemaSerde } {
  const registry = new SchemaRegistry(memoryLog());
  return { registry, serde: registrySerde(registry) };
}

const USER = JSON.stringify({
  type: "record",
  name: "User",
  namespace: "acme",
  fields: [
    { name: "id", type: "long" },
    { name: "email", type: ["null", "string"], default: null },
  ],
});

const PROTO = `syntax = "proto3";
package acme;
message Order { int64 id = 1; }
message Envelope {
  string kind = 1;
  message Ping { int32 n = 1; }
  message Pong { string who = 1; }
}
`;

async function resolved(serde: SchemaSerde, req: Parameters<SchemaSerde["resolve"]>[0]) {
  const r = await serde.resolve(req);
  assert.ok(r.ok, r.ok ? "" : `${r.code} ${r.message}`);
  return r;
}

describe("registrySerde()", () => {
  test("resolve() registers a raw schema under the topic's subject once, and serialize() frames the payload", async () => {
    const { registry, serde } = setup();
    const r = await resolved(serde, { format: "AVRO", topic: "users", rawSchema: USER });
    assert.equal(r.id, 1);
    assert.equal(r.subject, "users-value");
    assert.equal(r.version, 1);
    assert.equal(r.format, "AVRO");
    assert.deepEqual(await registry.versions("users-value"), [1]);
    const again = await resolved(serde, { format: "AVRO", topic: "users", rawSchema: USER });
    assert.equal(again.id, 1);
    const key = await resolved(serde, { format: "AVRO", topic: "users", isKey: true, rawSchema: '"string"' });
    assert.equal(key.subject, "users-key");
    assert.equal(key.id, 2);

    const s = serde.serialize(r, { id: 7, email: { string: "a@b" } });
    assert.ok(s.ok);
    assert.deepEqual([...s.bytes!], [0, 0, 0, 0, 1, 14, 2, 6, 0x61, 0x40, 0x62]);
    assert.deepEqual(await serde.deserialize(s.bytes!), {
      ok: true,
      schemaId: 1,
      format: "AVRO",
      value: { id: 7, email: { string: "a@b" } },
    });
  });

  test("serialize() answers 400 with the path when the data does not match", async () => {
    const { serde } = setup();
    const r = await resolved(serde, { format: "AVRO", subject: "u", rawSchema: USER });
    assert.deepEqual(serde.serialize(r, { id: "x", email: null }), {
      ok: false,
      code: SerdeErrorCode.BAD_REQUEST,
      message: '$.id: expected long (a 64-bit integer), got string "x"',
    });
  });

  test("resolve() by id checks the id is a version of the subject, as Confluent does", async () => {
    const { serde } = setup();
    await resolved(serde, { format: "AVRO", subject: "other", rawSchema: USER });
    const loose = await resolved(serde, { schemaId: 1 });
    assert.equal(loose.subject, undefined);
    const named = await resolved(serde, { schemaId: 1, subject: "other" });
    assert.equal(named.version, 1);
    const r = await serde.resolve({ schemaId: 1, topic: "users" });
    assert.ok(!r.ok);
    assert.equal(r.code, SerdeErrorCode.SERIALIZATION);
    assert.match(r.message, /^Error serializing message\. Error when fetching schema version\. subject = users-value/);
    const missing = await serde.resolve({ schemaId: 99 });
    assert.deepEqual(missing, {
      ok: false,
      code: SerdeErrorCode.SERIALIZATION,
      message:
        "Error serializing message. Error when fetching schema by id. schemaId = 99\nSchema 99 not found; error code: 40403",
    });
    assert.deepEqual(await serde.resolve({ schemaId: 1, format: "PROTOBUF" }), {
      ok: false,
      code: SerdeErrorCode.BAD_REQUEST,
      message: "Schema 1 is a AVRO schema, not PROTOBUF",
    });
    const both = await serde.resolve({ schemaId: 1, schemaVersion: 1, subject: "other" });
    assert.ok(!both.ok);
    assert.equal(both.code, SerdeErrorCode.BAD_REQUEST);
  });

  test("resolve() by version or latest of a subject", async () => {
    const { serde } = setup();
    await resolved(serde, { format: "AVRO", topic: "t", rawSchema: USER });
    const evolved = JSON.stringify({
      type: "record",
      name: "User",
      namespace: "acme",
      fields: [{ name: "id", type: "long" }, { name: "email", type: ["null", "string"], default: null }, {
        name: "age",
        type: "int",
        default: 0,
      }],
    });
    await resolved(serde, { format: "AVRO", topic: "t", rawSchema: evolved });
    assert.equal((await resolved(serde, { topic: "t", schemaVersion: 1 })).id, 1);
    const latest = await resolved(serde, { topic: "t" });
    assert.deepEqual([latest.id, latest.version, latest.subject], [2, 2, "t-value"]);
    assert.equal((await resolved(serde, { subject: "t-value", schemaVersion: "latest" })).id, 2);
    assert.equal((await resolved(serde, { subject: "t-value", schemaVersion: -1 })).id, 2);
    assert.deepEqual(await serde.resolve({ topic: "t", schemaVersion: 3 }), {
      ok: false,
      code: SerdeErrorCode.BAD_REQUEST,
      message: "Schema does not exist for subject: t-value, version: 3",
    });
    const none = await serde.resolve({ topic: "nope" });
    assert.ok(!none.ok);
    assert.equal(none.code, SerdeErrorCode.SERIALIZATION);
    assert.equal(
      none.message,
      "Error serializing message. Error when fetching latest schema version. subject = nope-value\nSubject 'nope-value' not found.; error code: 40401",
    );
    const record = await serde.resolve({ topic: "t", subjectNameStrategy: "RECORD_NAME", schemaVersion: 1 });
    assert.deepEqual(record, {
      ok: false,
      code: SerdeErrorCode.BAD_REQUEST,
      message: "Cannot use schema_subject_strategy=RECORD_NAME without schema_id or schema.",
    });
  });

  test("resolve() names subjects by the record name strategies", async () => {
    const { serde } = setup();
    const r = await resolved(serde, {
      format: "AVRO",
      topic: "t",
      subjectNameStrategy: "RECORD_NAME",
      rawSchema: USER,
    });
    assert.equal(r.subject, "acme.User");
    const tr = await resolved(serde, {
      format: "AVRO",
      topic: "t",
      subjectNameStrategy: "TOPIC_RECORD_NAME",
      rawSchema: USER,
    });
    assert.equal(tr.subject, "t-acme.User");
  });

  test("resolve() refuses a raw schema that does not parse (42205) or that the subject does not accept (42207)", async () => {
    const { serde } = setup();
    const bad = await serde.resolve({ format: "AVRO", topic: "t", rawSchema: '{"type": "nope"}' });
    assert.ok(!bad.ok);
    assert.equal(bad.code, SerdeErrorCode.INVALID_SCHEMA);
    assert.match(bad.message, /^Invalid schema: Error when parsing raw schema\. format = AVRO/);
    await resolved(serde, { format: "AVRO", topic: "t", rawSchema: USER });
    const incompatible = await serde.resolve({ format: "AVRO", topic: "t", rawSchema: '"string"' });
    assert.ok(!incompatible.ok);
    assert.equal(incompatible.code, SerdeErrorCode.SERIALIZATION);
    assert.match(incompatible.message, /Error when registering schema\. format = AVRO, subject = t-value/);
    assert.match(incompatible.message, /error code: 409$/);
    const formatless = await serde.resolve({ topic: "t", rawSchema: USER });
    assert.ok(!formatless.ok);
    assert.equal(formatless.code, SerdeErrorCode.BAD_REQUEST);
  });

  test("a JSON null is a null record when the schema accepts null, as Confluent's serializers give", async () => {
    const { serde } = setup();
    const avro = await resolved(serde, { format: "AVRO", subject: "a", rawSchema: '["null", "string"]' });
    assert.deepEqual(serde.serialize(avro, null), { ok: true, bytes: null });
    const wrapped = serde.serialize(avro, { string: "x" });
    assert.ok(wrapped.ok);
    // The consumer side writes a root union without its wrapper (Confluent's AvroConverter).
    assert.deepEqual(await serde.deserialize(wrapped.bytes!), { ok: true, schemaId: 1, format: "AVRO", value: "x" });
    const strict = await resolved(serde, { format: "AVRO", subject: "b", rawSchema: '"string"' });
    assert.equal(serde.serialize(strict, null).ok, false);
    const json = await resolved(serde, { format: "JSONSCHEMA", subject: "j", rawSchema: '{"type": "object"}' });
    const nullJson = serde.serialize(json, null);
    assert.ok(!nullJson.ok);
    assert.equal(nullJson.message, "#: expected type: JSONObject, found: Null");
  });

  test("JSONSCHEMA values are validated, written as JSON and read back", async () => {
    const { serde } = setup();
    const schema = JSON.stringify({
      type: "object",
      properties: { id: { type: "integer" }, tags: { type: "array", items: { type: "string" } } },
      required: ["id"],
    });
    const r = await resolved(serde, { format: "JSONSCHEMA", topic: "j", rawSchema: schema });
    assert.equal(r.format, "JSONSCHEMA");
    const s = serde.serialize(r, { id: 12345678901234567890n, tags: ["a"] });
    assert.ok(s.ok);
    assert.deepEqual([...s.bytes!.subarray(0, 5)], [0, 0, 0, 0, 1]);
    assert.equal(new TextDecoder().decode(s.bytes!.subarray(5)), '{"id":12345678901234567890,"tags":["a"]}');
    assert.deepEqual(await serde.deserialize(s.bytes!), {
      ok: true,
      schemaId: 1,
      format: "JSONSCHEMA",
      value: { id: 12345678901234567890n, tags: ["a"] },
    });
    assert.deepEqual(serde.serialize(r, { tags: [1] }), {
      ok: false,
      code: 400,
      message:
        "#: 2 schema violations found: #: required key [id] not found; #/tags/0: expected type: String, found: Integer",
    });
  });

  test("PROTOBUF: the message is the first one or a named one, with its message indexes before the payload", async () => {
    const { serde } = setup();
    const first = await resolved(serde, { format: "PROTOBUF", topic: "p", rawSchema: PROTO });
    assert.deepEqual([first.messageName, first.messageIndexes], ["acme.Order", [0]]);
    const s = serde.serialize(first, { id: "5" });
    assert.ok(s.ok);
    assert.deepEqual([...s.bytes!], [0, 0, 0, 0, 1, 0, 8, 5]);
    assert.deepEqual(await serde.deserialize(s.bytes!), {
      ok: true,
      schemaId: 1,
      format: "PROTOBUF",
      value: { id: "5" },
      messageName: "acme.Order",
    });

    const pong = await resolved(serde, {
      format: "PROTOBUF",
      topic: "p",
      rawSchema: PROTO,
      messageName: "acme.Envelope.Pong",
    });
    assert.deepEqual([pong.id, pong.messageName, pong.messageIndexes], [1, "acme.Envelope.Pong", [1, 1]]);
    const p = serde.serialize(pong, { who: "me" });
    assert.ok(p.ok);
    assert.deepEqual([...p.bytes!], [0, 0, 0, 0, 1, 4, 2, 2, 10, 2, 0x6d, 0x65]);
    assert.deepEqual(await serde.deserialize(p.bytes!), {
      ok: true,
      schemaId: 1,
      format: "PROTOBUF",
      value: { who: "me" },
      messageName: "acme.Envelope.Pong",
    });
    // confluent-kafka-python 1.7 wrote the same path with unsigned varints.
    const python = new Uint8Array([0, 0, 0, 0, 1, 2, 1, 1, 10, 2, 0x6d, 0x65]);
    const fromPython = await serde.deserialize(python);
    assert.ok(fromPython.ok);
    assert.equal(fromPython.messageName, "acme.Envelope.Pong");

    const relative = await resolved(serde, {
      format: "PROTOBUF",
      topic: "p",
      rawSchema: PROTO,
      messageName: "Envelope",
    });
    assert.deepEqual(relative.messageIndexes, [1]);
    const unknown = await serde.resolve({ format: "PROTOBUF", topic: "p", rawSchema: PROTO, messageName: "acme.Nope" });
    assert.deepEqual(unknown, {
      ok: false,
      code: SerdeErrorCode.BAD_REQUEST,
      message: "Message acme.Nope is not defined in schema 1",
    });
    const wrong = serde.serialize(first, { id: "x" });
    assert.ok(!wrong.ok);
    assert.equal(wrong.code, SerdeErrorCode.BAD_REQUEST);
  });

  test("deserialize() answers 40801 for bytes it cannot read", async () => {
    const { serde } = setup();
    await resolved(serde, { format: "AVRO", subject: "s", rawSchema: '"long"' });
    assert.deepEqual(await serde.deserialize(new Uint8Array([1, 0, 0, 0, 1, 2])), {
      ok: false,
      code: SerdeErrorCode.DESERIALIZATION,
      message: "Error deserializing message: Unknown magic byte!",
    });
    const short = await serde.deserialize(new Uint8Array([0, 0]));
    assert.ok(!short.ok);
    assert.equal(short.code, SerdeErrorCode.DESERIALIZATION);
    assert.deepEqual(await serde.deserialize(new Uint8Array([0, 0, 0, 0, 9, 2])), {
      ok: false,
      code: SerdeErrorCode.DESERIALIZATION,
      message: "Error retrieving schema for id 9\nSchema 9 not found; error code: 40403",
    });
    const truncated = await serde.deserialize(new Uint8Array([0, 0, 0, 0, 1, 0x80]));
    assert.ok(!truncated.ok);
    assert.equal(truncated.code, SerdeErrorCode.DESERIALIZATION);
    assert.match(truncated.message, /^Error deserializing AVRO message for id 1: Unexpected end of data/);
  });

  test("deserialize() reads records written by another serializer for the same id (the cache holds parsed schemas)", async () => {
    const { registry, serde } = setup();
    const { id } = await registry.register("x-value", { schema: '{"type":"map","values":"double"}' });
    const other = registrySerde(registry, { cacheSize: 1 });
    const r = await resolved(other, { schemaId: id });
    const s = other.serialize(r, { pi: 3.14, nan: "NaN" });
    assert.ok(s.ok);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await serde.deserialize(s.bytes!), {
        ok: true,
        schemaId: id,
        format: "AVRO",
        value: { pi: 3.14, nan: "NaN" },
      });
    }
  });
});
