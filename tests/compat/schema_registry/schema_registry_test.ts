/**
 * The Schema Registry through real clients against `kbin serve --http`: confluent-kafka-python 1.7's
 * SchemaRegistryClient with its Avro and JSON Schema serializers (Debian; the Avro one over a
 * fastavro shim on Apache Avro, see shim/) and the npm package @kafkajs/confluent-schema-registry
 * register, evolve and read schemas; records one produces carry Confluent's wire format (magic 0,
 * the schema id) and deserialize in the other; an incompatible change is refused with Confluent's
 * 409 body; schemas survive a restart (they live in the compacted topic `_schemas`); two brokers on
 * one PostgreSQL serve the same registry (the one that does not lead `_schemas` forwards).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, startBrokerProcess } from "../../support/broker_process.ts";
import { clientMissing } from "../../support/skips.ts";
import { postgresBinDir, stopSharedPostgres } from "../../support/postgres.ts";
import { PgCluster } from "../scale_out/cluster.ts";
import { createTopic, kcatMissing, PYTHON, pythonMissing, runJsonDriver, waitFor } from "../shared/kbin.ts";

after(stopSharedPostgres);

const DRIVER = fileURLToPath(new URL("./sr_client.py", import.meta.url));
const SHIM = fileURLToPath(new URL("./shim", import.meta.url));
const NO_POSTGRES = clientMissing("postgresql", postgresBinDir() === null ? "PostgreSQL is not installed" : false);
const MISSING = pythonMissing("confluent_kafka", "requests", "jsonschema", "avro") || kcatMissing();

const USER_V1 = {
  type: "record",
  name: "User",
  namespace: "com.acme",
  fields: [{ name: "id", type: "long" }, { name: "name", type: "string" }],
};
const USER_V2 = {
  ...USER_V1,
  fields: [...USER_V1.fields, { name: "email", type: ["null", "string"], default: null }],
};
const USER_BAD = { ...USER_V1, fields: [...USER_V1.fields, { name: "age", type: "int" }] };
const ORDER_JSON = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "Order",
  type: "object",
  properties: { id: { type: "integer" }, item: { type: "string" } },
  required: ["id"],
};

async function httpUrlOf(broker: BrokerProcess): Promise<string> {
  return await waitFor("the HTTP listener", () => /Listening http=(\S+)/.exec(broker.log())?.[1]);
}

async function py(broker: BrokerProcess, url: string, ops: Record<string, unknown>[]) {
  const out = await runJsonDriver<{ results: Record<string, any>[] }>(PYTHON, [DRIVER], {
    bootstrap: broker.bootstrap,
    ops,
  }, { broker, timeoutMs: 120_000, env: { KBIN_SCHEMA_REGISTRY_URL: url, PYTHONPATH: SHIM } });
  for (const r of out.results) assert.equal(r["exception"], undefined, String(r["exception"]));
  return out.results;
}

describe("Schema Registry through real clients", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  let url = "";
  let dataDir = "";
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "kbin-sr-"));
    broker = await startBrokerProcess({ dataDir, args: ["--http", "127.0.0.1:0"] });
    url = await httpUrlOf(broker);
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("confluent-kafka registers, evolves and reads Avro schemas; an incompatible change gets Confluent's 409", async () => {
    const [v1, again, v2, bad, latest, found, missing, compatible, subjects] = await py(broker, url, [
      { op: "register", subject: "users-value", schema: JSON.stringify(USER_V1) },
      { op: "register", subject: "users-value", schema: JSON.stringify(USER_V1) },
      { op: "register", subject: "users-value", schema: JSON.stringify(USER_V2) },
      { op: "register", subject: "users-value", schema: JSON.stringify(USER_BAD) },
      { op: "latest", subject: "users-value" },
      { op: "lookup", subject: "users-value", schema: JSON.stringify(USER_V1) },
      { op: "lookup", subject: "users-value", schema: JSON.stringify(USER_BAD) },
      { op: "compatible", subject: "users-value", schema: JSON.stringify(USER_BAD) },
      { op: "subjects" },
    ]);
    assert.equal(v1!["id"], again!["id"], "registering the same schema again gives its id");
    assert.notEqual(v2!["id"], v1!["id"]);
    assert.equal(bad!["error"].status, 409);
    assert.equal(bad!["error"].code, 409);
    assert.match(
      bad!["error"].message,
      /^Schema being registered is incompatible with an earlier schema for subject "users-value", details: \[.*READER_FIELD_MISSING_DEFAULT_VALUE.*'age'/,
    );
    assert.deepEqual([latest!["id"], latest!["version"], latest!["type"]], [v2!["id"], 2, "AVRO"]);
    assert.deepEqual(found, { id: v1!["id"], version: 1 });
    assert.equal(missing!["error"].code, 40403);
    assert.deepEqual(compatible, { compatible: false });
    assert.ok((subjects!["subjects"] as string[]).includes("users-value"));
  });

  test("Avro records from confluent-kafka's serializer carry the wire format and deserialize with KafkaJS and @kafkajs/confluent-schema-registry, and back", async () => {
    await createTopic(broker, "sr-avro", { partitions: 1 });
    const values = [{ id: 1, name: "ada", email: null }, { id: 2, name: "bob", email: "b@x" }];
    const [produced, consumed] = await py(broker, url, [
      { op: "produce", topic: "sr-avro", format: "avro", schema: JSON.stringify(USER_V2), values },
      { op: "consume", topic: "sr-avro", format: "avro", count: 2 },
    ]);
    assert.equal(produced!["delivered"], 2);
    assert.deepEqual(consumed!["values"], values);
    const registry = new SchemaRegistry({ host: url });
    const { id: registeredId } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(USER_V2) },
      { subject: "sr-avro-value" },
    );
    assert.deepEqual(consumed!["ids"], [[0, registeredId], [0, registeredId]], "magic 0 and the subject's id");

    // KafkaJS reads the python records with the npm registry client, and writes its own.
    const kafka = new Kafka({ clientId: "kafkajs-sr", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: "kafkajs-sr" });
    await consumer.connect();
    await consumer.subscribe({ topic: "sr-avro", fromBeginning: true });
    const decoded: unknown[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => void decoded.push({ ...(await registry.decode(message.value!)) }),
    });
    await waitFor("KafkaJS decoding both records", () => decoded.length >= 2 || undefined, 30_000);
    await consumer.disconnect();
    assert.deepEqual(decoded, values);
    const producer = kafka.producer();
    await producer.connect();
    const mine = { id: 3, name: "cy", email: null };
    await producer.send({
      topic: "sr-avro",
      messages: [{ key: "2", value: await registry.encode(registeredId, mine) }],
    });
    await producer.disconnect();
    // The python group committed the first two; it reads on from there.
    const [readBack] = await py(broker, url, [{ op: "consume", topic: "sr-avro", format: "avro", count: 1 }]);
    assert.deepEqual(readBack!["values"], [mine]);
  });

  test("JSON Schema: confluent-kafka's JSON serializer and @kafkajs/confluent-schema-registry share the subject and its records", async () => {
    await createTopic(broker, "sr-json", { partitions: 1 });
    const values = [{ id: 7, item: "pen" }, { id: 8 }];
    const [produced, consumed] = await py(broker, url, [
      { op: "produce", topic: "sr-json", format: "json", schema: JSON.stringify(ORDER_JSON), values },
      { op: "consume", topic: "sr-json", format: "json", schema: JSON.stringify(ORDER_JSON), count: 2 },
    ]);
    assert.equal(produced!["delivered"], 2);
    assert.deepEqual(consumed!["values"], values);
    const registry = new SchemaRegistry({ host: url });
    const id = await registry.getLatestSchemaId("sr-json-value");
    assert.deepEqual(consumed!["ids"], [[0, id], [0, id]]);
    const schema = await registry.getSchema(id);
    assert.ok(schema, "the npm client reads the JSON schema by id");
    // A closed-content change that drops a required property's type is refused for both clients.
    const narrowed = { ...ORDER_JSON, properties: { ...ORDER_JSON.properties, id: { type: "string" } } };
    await assert.rejects(
      registry.register({ type: SchemaType.JSON, schema: JSON.stringify(narrowed) }, { subject: "sr-json-value" }),
      (e: Error) => /incompatible/i.test(e.message),
    );
  });

  test("REST proxy v3 produces AVRO and JSONSCHEMA values through the registry; confluent-kafka's deserializers read them", async () => {
    await createTopic(broker, "sr-rest", { partitions: 1 });
    await createTopic(broker, "sr-rest-json", { partitions: 1 });
    const clusters = await (await fetch(`${url}/v3/clusters`)).json() as { data: { cluster_id: string }[] };
    const base = `${url}/v3/clusters/${clusters.data[0]!.cluster_id}/topics`;
    const produce = async (topic: string, body: unknown) => {
      const r = await fetch(`${base}/${topic}/records`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: await r.json() as Record<string, any> };
    };
    // An inline schema is registered under <topic>-value; later records name it by version or id.
    const first = await produce("sr-rest", {
      value: { type: "AVRO", schema: JSON.stringify(USER_V2), data: { id: 1, name: "rest", email: { string: "r@x" } } },
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body["value"].type, "AVRO");
    const id = first.body["value"].schema_id as number;
    const second = await produce("sr-rest", {
      value: { schema_id: id, data: { id: 2, name: "again", email: null } },
    });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const mismatch = await produce("sr-rest", { value: { schema_id: id, data: { id: "three" } } });
    assert.notEqual(mismatch.body["error_code"] ?? mismatch.status, 200, JSON.stringify(mismatch.body));
    assert.match(String(mismatch.body["message"]), /three|long/, "the message names what does not match");
    const jsonRecord = await produce("sr-rest-json", {
      value: { type: "JSONSCHEMA", schema: JSON.stringify(ORDER_JSON), data: { id: 5, item: "cup" } },
    });
    assert.equal(jsonRecord.status, 200, JSON.stringify(jsonRecord.body));
    const [avro, json] = await py(broker, url, [
      { op: "consume", topic: "sr-rest", format: "avro", count: 2 },
      { op: "consume", topic: "sr-rest-json", format: "json", schema: JSON.stringify(ORDER_JSON), count: 1 },
    ]);
    assert.deepEqual(avro!["values"], [{ id: 1, name: "rest", email: "r@x" }, { id: 2, name: "again", email: null }]);
    assert.deepEqual(avro!["ids"], [[0, id], [0, id]]);
    assert.deepEqual(json!["values"], [{ id: 5, item: "cup" }]);

    // A v2 consumer instance in the avro format reads them back (Avro's JSON encoding: unions wrapped).
    const V2 = "application/vnd.kafka.v2+json";
    const consumer = `${url}/consumers/sr-v2`;
    const created = await fetch(consumer, {
      method: "POST",
      headers: { "content-type": V2 },
      body: JSON.stringify({ name: "avro-reader", format: "avro", "auto.offset.reset": "earliest" }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    const instance = `${consumer}/instances/avro-reader`;
    const subscribed = await fetch(`${instance}/subscription`, {
      method: "POST",
      headers: { "content-type": V2 },
      body: JSON.stringify({ topics: ["sr-rest"] }),
    });
    assert.equal(subscribed.status, 204);
    const seen: unknown[] = [];
    const deadline = Date.now() + 30_000;
    while (seen.length < 2 && Date.now() < deadline) {
      const r = await fetch(`${instance}/records?timeout=1000`, {
        headers: { accept: "application/vnd.kafka.avro.v2+json" },
      });
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(r.headers.get("content-type"), "application/vnd.kafka.avro.v2+json");
      for (const rec of await r.json() as { value: unknown }[]) seen.push(rec.value);
    }
    assert.deepEqual(seen.slice(0, 2), [
      { id: 1, name: "rest", email: { string: "r@x" } },
      { id: 2, name: "again", email: null },
    ]);
    assert.equal((await fetch(instance, { method: "DELETE", headers: { "content-type": V2 } })).status, 204);
  });

  test("@kafkajs/confluent-schema-registry: subject config 404 (40408) then PUT, register and evolve", async () => {
    const registry = new SchemaRegistry({ host: url });
    const subject = "kjs-users-value";
    const first = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(USER_V1) },
      { subject, compatibility: "BACKWARD" as never },
    );
    const second = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(USER_V2) },
      { subject, compatibility: "BACKWARD" as never },
    );
    assert.notEqual(first.id, second.id);
    assert.equal(await registry.getLatestSchemaId(subject), second.id);
    const res = await fetch(`${url}/config/${subject}`);
    assert.deepEqual(await res.json(), { compatibilityLevel: "BACKWARD" });
    await assert.rejects(
      registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(USER_BAD) }, { subject }),
      (e: Error & { status?: number }) => /incompatible/.test(e.message),
    );
    const encoded = await registry.encode(second.id, { id: 9, name: "z", email: "z@z" });
    assert.equal(encoded[0], 0);
    assert.equal(encoded.readInt32BE(1), second.id);
    assert.deepEqual({ ...(await registry.decode(encoded)) }, { id: 9, name: "z", email: "z@z" });
  });

  test("_schemas holds Confluent's records as kcat reads them: SCHEMA and CONFIG keys, JSON values, tombstones", async () => {
    const subject = "layout-value";
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
    const schemaText = JSON.stringify({ ...USER_V1, name: "Layout" });
    assert.equal((await call("POST", `/subjects/${subject}/versions`, { schema: schemaText })).status, 200);
    assert.equal((await call("PUT", `/config/${subject}`, { compatibility: "FULL" })).status, 200);
    assert.equal((await call("DELETE", `/subjects/${subject}`)).status, 200);
    assert.equal((await call("DELETE", `/subjects/${subject}?permanent=true`)).status, 200);
    const kcat = spawnSync(
      "kcat",
      ["-b", broker.bootstrap, "-C", "-t", "_schemas", "-e", "-q", "-Z", "-f", "%k\t%s\n"],
      {
        timeout: 30_000,
      },
    );
    assert.equal(kcat.status, 0, kcat.stderr.toString());
    const mine = kcat.stdout.toString().trim().split("\n").map((l) => l.split("\t"))
      .map(([k, v]) => [JSON.parse(k!), v === "NULL" ? null : JSON.parse(v!)])
      .filter(([k]) => k.subject === subject);
    const id = mine[0]![1].id;
    const schema = mine[0]![1].schema;
    assert.deepEqual(mine, [
      [{ keytype: "SCHEMA", subject, version: 1, magic: 1 }, { subject, version: 1, id, schema, deleted: false }],
      [{ keytype: "CONFIG", subject, magic: 0 }, { compatibilityLevel: "FULL" }],
      [{ keytype: "SCHEMA", subject, version: 1, magic: 1 }, { subject, version: 1, id, schema, deleted: true }],
      [{ keytype: "SCHEMA", subject, version: 1, magic: 1 }, null],
      [{ keytype: "CONFIG", subject, magic: 0 }, null],
    ]);
  });

  test("schemas survive a restart: ids, versions and subject configs come back from _schemas", async () => {
    const before = await (await fetch(`${url}/subjects/users-value/versions/latest`)).json();
    const port = Number(new URL(url).port);
    await broker.stop("SIGKILL");
    broker = await startBrokerProcess({ dataDir, args: ["--http", `127.0.0.1:${port}`] });
    url = await httpUrlOf(broker);
    const after = await (await fetch(`${url}/subjects/users-value/versions/latest`)).json();
    assert.deepEqual(after, before);
    const [v] = await py(broker, url, [{ op: "register", subject: "users-value", schema: JSON.stringify(USER_V1) }]);
    assert.equal(v!["id"], 1, "the first id is still the first schema's");
  });
});

describe(
  "Schema Registry on two brokers sharing PostgreSQL",
  {
    skip: MISSING || NO_POSTGRES,
  },
  () => {
    let cluster: PgCluster;
    const urls: string[] = [];
    before(async () => {
      cluster = await PgCluster.start(`kbin_sr_${process.pid}`, 2, [
        "--http",
        "127.0.0.1:0",
        "--set",
        "kbin.cluster.lease.ms=3000",
        "--set",
        "kbin.cluster.heartbeat.ms=200",
      ]);
      for (const b of cluster.brokers) urls.push(await httpUrlOf(b.process));
    });
    after(async () => {
      await cluster?.[Symbol.asyncDispose]();
    });

    test("a schema registered through either broker is served by both, with one id sequence", async () => {
      const registry = (u: string) => new SchemaRegistry({ host: u });
      const ids: number[] = [];
      for (const [i, u] of urls.entries()) {
        const schema = { ...USER_V1, name: `User${i}` };
        ids.push(
          (await registry(u).register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, {
            subject: `pg-${i}-value`,
          })).id,
        );
      }
      assert.deepEqual(ids, [1, 2]);
      for (const u of urls) {
        const subjects = await (await fetch(`${u}/subjects`)).json();
        assert.deepEqual(subjects, ["pg-0-value", "pg-1-value"]);
        assert.match((await registry(u).getSchema(2) as { name: string }).name, /User1/);
      }
    });
  },
);
