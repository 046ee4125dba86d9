/**
 * The REST proxy served by an embedded broker (`startBroker({ http: true })`, on the running
 * runtime's HTTP server): Confluent's error shapes for bad input, which never harms the broker;
 * refused schema formats without a registry; consumer instance rules (limit, modes, patterns,
 * format negotiation); and `kbin.rest.enable=false`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startBroker } from "../../../../mod.ts";

const V2 = "application/vnd.kafka.v2+json";

async function call(
  url: string,
  method: string,
  path: string,
  options: { body?: string | Uint8Array<ArrayBuffer>; type?: string; accept?: string } = {},
): Promise<{ status: number; text: string; json: unknown }> {
  const headers: Record<string, string> = { "content-type": options.type ?? "application/json" };
  if (options.accept) headers["accept"] = options.accept;
  const r = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json };
}

function lines(text: string): { error_code: number; message?: string; offset?: number }[] {
  return text.split("\r\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

test("REST proxy answers hostile and malformed requests in Confluent's shape and keeps serving", async () => {
  await using broker = await startBroker({ http: true, config: { "group.initial.rebalance.delay.ms": "0" } });
  const url = broker.httpUrl!;
  const id = ((await call(url, "GET", "/v3/clusters")).json as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  const created = await call(url, "POST", `/v3/clusters/${id}/topics`, {
    body: JSON.stringify({ topic_name: "h", partitions_count: 2 }),
  });
  assert.equal(created.status, 201, created.text);
  const records = `/v3/clusters/${id}/topics/h/records`;

  const random = new Uint8Array(4096);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 256;
  const nested = "[".repeat(20000) + "]".repeat(20000);
  const wholeRequest: [string, string, string | undefined, number, number][] = [
    ["POST", records, "", 422, 422],
    ["POST", `/v3/clusters/nope/topics/h/records`, "{}", 404, 404],
    ["POST", `/v3/clusters/${id}/topics/missing/records`, "{}", 404, 40401],
    ["POST", `/v3/clusters/${id}/topics/h/records:batch`, JSON.stringify({ entries: [] }), 422, 42208],
    [
      "POST",
      `/v3/clusters/${id}/topics/h/records:batch`,
      JSON.stringify({ entries: [{ id: "a" }, { id: "a" }] }),
      422,
      42208,
    ],
    [
      "POST",
      `/v3/clusters/${id}/topics/h/records:batch`,
      JSON.stringify({ entries: Array.from({ length: 11 }, (_, i) => ({ id: `${i}` })) }),
      422,
      42208,
    ],
    ["POST", `/v3/clusters/${id}/topics/h/records:batch`, "{{", 400, 400],
    ["POST", `/v3/clusters/${id}/topics`, JSON.stringify({ topic_name: "h" }), 400, 40002],
    ["POST", `/v3/clusters/${id}/topics`, JSON.stringify({ topic_name: "bad/name" }), 400, 40002],
    ["POST", `/v3/clusters/${id}/topics`, JSON.stringify({ partitions_count: 1 }), 422, 422],
    ["PATCH", `/v3/clusters/${id}/topics/h`, JSON.stringify({ partitions_count: 1 }), 400, 40002],
    ["GET", `/v3/clusters/${id}/topics/h/partitions/99999999999`, undefined, 404, 40402],
    ["GET", `/v3/clusters/${id}/topics/h/partitions/7`, undefined, 404, 40402],
    ["GET", `/v3/clusters/${id}/topics/h/configs/no.such.config`, undefined, 404, 404],
    ["PUT", `/v3/clusters/${id}/topics/h/configs/retention.ms`, JSON.stringify({ value: "soon" }), 400, 40002],
    ["PUT", `/v3/clusters/${id}/brokers/1/configs/log.retention.ms`, JSON.stringify({ value: "1" }), 400, 40002],
    ["GET", `/v3/clusters/${id}/consumer-groups/none`, undefined, 404, 404],
    ["GET", `/v3/clusters/${id}/brokers/abc`, undefined, 404, 404],
    ["GET", `/topics/missing`, undefined, 404, 40401],
    ["GET", `/v3/nothing`, undefined, 404, 404],
  ];
  for (const [method, path, body, status, code] of wholeRequest) {
    const r = await call(url, method, path, body === undefined ? {} : { body });
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.equal((r.json as { error_code: number }).error_code, code, `${method} ${path}: ${r.text}`);
  }
  // Bodies that start a stream: 200, then one error object, and the stream ends.
  for (
    const body of [random, nested, '{"value":', '{"partition_id":0,"value":{"type":"JSON","data":1}}[1]', '{"a":}']
  ) {
    const r = await call(url, "POST", records, { body });
    assert.equal(r.status, 200, r.text);
    const answers = lines(r.text);
    assert.equal(answers.at(-1)!.error_code, 400, r.text);
  }
  // v2: a Content-Type it does not know is 415.
  const v2Plain = await call(url, "POST", "/topics/h", { body: JSON.stringify({ records: [{ value: 1 }] }) });
  assert.equal(v2Plain.status, 415);
  assert.deepEqual(v2Plain.json, { error_code: 415, message: "HTTP 415 Unsupported Media Type" });
  const v2Empty = await call(url, "POST", "/topics/h", {
    type: "application/vnd.kafka.json.v2+json",
    body: JSON.stringify({ records: [] }),
  });
  assert.equal(v2Empty.status, 422);

  // The broker still serves, and a good record still goes in.
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const ok = await call(url, "POST", records, {
    body: JSON.stringify({ partition_id: 1, value: { type: "JSON", data: 1 } }),
  });
  assert.deepEqual(lines(ok.text).map((l) => [l.error_code, l.offset]), [[200, 0]]);
});

test("schema-based formats without a Schema Registry (kbin.schema.registry.enable=false) are refused with a message that says so", async () => {
  await using broker = await startBroker({
    http: true,
    config: { "auto.create.topics.enable": "false", "kbin.schema.registry.enable": "false" },
  });
  const url = broker.httpUrl!;
  const id = ((await call(url, "GET", "/v3/clusters")).json as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  await call(url, "POST", `/v3/clusters/${id}/topics`, { body: JSON.stringify({ topic_name: "s" }) });
  const v3 = await call(url, "POST", `/v3/clusters/${id}/topics/s/records`, {
    body: JSON.stringify({ value: { type: "AVRO", schema: '"string"', data: "x" } }),
  });
  assert.deepEqual(lines(v3.text)[0]!.error_code, 400);
  assert.match(lines(v3.text)[0]!.message!, /AVRO data needs the Schema Registry/);
  const v2 = await call(url, "POST", "/topics/s", {
    type: "application/vnd.kafka.avro.v2+json",
    body: JSON.stringify({ value_schema: '"string"', records: [{ value: "x" }] }),
  });
  assert.equal(v2.status, 400);
  assert.match((v2.json as { message: string }).message, /Schema Registry/);
  const consumer = await call(url, "POST", "/consumers/g", { type: V2, body: JSON.stringify({ format: "avro" }) });
  assert.equal(consumer.status, 422);
  assert.equal((consumer.json as { error_code: number }).error_code, 42204);
});

test("consumer instances: a limit, exclusive subscribe and assign, patterns, format negotiation", async () => {
  await using broker = await startBroker({
    http: true,
    config: { "kbin.rest.max.consumer.instances": "2", "group.initial.rebalance.delay.ms": "0" },
  });
  const url = broker.httpUrl!;
  const id = ((await call(url, "GET", "/v3/clusters")).json as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  for (const t of ["p-a", "p-b", "other"]) {
    await call(url, "POST", `/v3/clusters/${id}/topics`, { body: JSON.stringify({ topic_name: t }) });
  }

  const anonymous = await call(url, "POST", "/consumers/g", { type: V2 });
  assert.equal(anonymous.status, 200);
  const name = (anonymous.json as { instance_id: string }).instance_id;
  assert.match(name, /^rest-consumer-/);
  const base = `/consumers/g/instances/${name}`;
  const notYet = await call(url, "GET", `${base}/records`);
  assert.equal(notYet.status, 409);
  assert.equal((notYet.json as { error_code: number }).error_code, 40903);
  const both = await call(url, "POST", `${base}/subscription`, {
    type: V2,
    body: JSON.stringify({ topics: ["p-a"], topic_pattern: "p-.*" }),
  });
  assert.equal(both.status, 422);
  assert.equal(
    (await call(url, "POST", `${base}/subscription`, { type: V2, body: JSON.stringify({ topic_pattern: "p-.*" }) }))
      .status,
    204,
  );
  assert.deepEqual((await call(url, "GET", `${base}/subscription`)).json, { topics: ["p-a", "p-b"] });
  const assign = await call(url, "POST", `${base}/assignments`, {
    type: V2,
    body: JSON.stringify({ partitions: [{ topic: "other", partition: 0 }] }),
  });
  assert.equal(assign.status, 409);
  const seekUnassigned = await call(url, "POST", `${base}/positions`, {
    type: V2,
    body: JSON.stringify({ offsets: [{ topic: "other", partition: 0, offset: 3 }] }),
  });
  assert.equal(seekUnassigned.status, 409);
  assert.match((seekUnassigned.json as { message: string }).message, /No current assignment for partition other-0/);
  assert.equal(
    (await call(url, "GET", `${base}/records`, { accept: "application/vnd.kafka.json.v2+json" })).status,
    406,
  );

  assert.equal(
    (await call(url, "POST", "/consumers/g", { type: V2, body: JSON.stringify({ name: "two" }) })).status,
    200,
  );
  const third = await call(url, "POST", "/consumers/g", { type: V2, body: JSON.stringify({ name: "three" }) });
  assert.equal(third.status, 429);
  assert.equal((third.json as { error_code: number }).error_code, 42901);
  const badConfig = await call(url, "POST", "/consumers/g", {
    type: V2,
    body: JSON.stringify({ "auto.offset.reset": "sometimes" }),
  });
  assert.equal((badConfig.json as { error_code: number }).error_code, 42204);
  assert.equal((await call(url, "DELETE", `${base}`, { type: V2 })).status, 204);
  assert.equal((await call(url, "DELETE", `${base}`, { type: V2 })).status, 404);
  assert.equal(
    (await call(url, "POST", "/consumers/g", { type: V2, body: JSON.stringify({ name: "three" }) })).status,
    200,
  );
});

test("kbin.rest.enable=false leaves the REST proxy's paths answering 404", async () => {
  await using broker = await startBroker({ http: true, config: { "kbin.rest.enable": "false" } });
  for (const path of ["/v3/clusters", "/topics", "/brokers", "/consumers/g"]) {
    const r = await fetch(`${broker.httpUrl}${path}`);
    assert.equal(r.status, 404, path);
    assert.match((await r.json()).message, /does not serve the REST proxy/);
  }
});

test("records produced through v3 come back through a subscribed v2 consumer on this runtime's HTTP server", async () => {
  await using broker = await startBroker({ http: true, config: { "group.initial.rebalance.delay.ms": "0" } });
  const url = broker.httpUrl!;
  const id = ((await call(url, "GET", "/v3/clusters")).json as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  await call(url, "POST", `/v3/clusters/${id}/topics`, {
    body: JSON.stringify({ topic_name: "rt", partitions_count: 3 }),
  });
  const body = Array.from(
    { length: 30 },
    (_, i) => JSON.stringify({ key: { type: "JSON", data: i }, value: { type: "JSON", data: { i } } }),
  )
    .join("");
  const produced = lines((await call(url, "POST", `/v3/clusters/${id}/topics/rt/records`, { body })).text);
  assert.equal(produced.length, 30);
  assert.ok(produced.every((p) => p.error_code === 200));
  await call(url, "POST", "/consumers/rt-group", {
    type: V2,
    body: JSON.stringify({ name: "c", format: "json", "auto.offset.reset": "earliest" }),
  });
  const base = "/consumers/rt-group/instances/c";
  await call(url, "POST", `${base}/subscription`, { type: V2, body: JSON.stringify({ topics: ["rt"] }) });
  const seen = new Map<number, unknown>();
  const deadline = Date.now() + 20_000;
  while (seen.size < 30 && Date.now() < deadline) {
    const r = await call(url, "GET", `${base}/records?timeout=500`, { accept: "application/vnd.kafka.json.v2+json" });
    assert.equal(r.status, 200, r.text);
    for (const rec of r.json as { key: number; value: { i: number } }[]) seen.set(rec.key, rec.value.i);
  }
  assert.deepEqual([...seen].sort((a, b) => a[0] - b[0]), Array.from({ length: 30 }, (_, i) => [i, i]));
  // Deleting the instance commits its positions (auto-commit) and leaves the group.
  assert.equal((await call(url, "DELETE", base, { type: V2 })).status, 204);
  const lag = (await call(url, "GET", `/v3/clusters/${id}/consumer-groups/rt-group/lag-summary`)).json as Record<
    string,
    unknown
  >;
  assert.equal(lag["total_lag"], 0);
  const group = (await call(url, "GET", `/v3/clusters/${id}/consumer-groups/rt-group`)).json as Record<string, unknown>;
  assert.equal(group["state"], "EMPTY");
});
