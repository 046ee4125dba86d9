/**
 * The HTTP plane's app (src/http/app.ts) without sockets — health and readiness, metrics format
 * negotiation, reserved paths, Basic and Bearer authentication — and, through `startBroker({ http:
 * true })`, served by the running runtime's HTTP server.
 */
import assert from "node:assert/strict";
import { get as httpsGet } from "node:https";
import { test } from "node:test";
import { Hono } from "hono";
import { startBroker } from "../../../mod.ts";
import type { Broker } from "../../../src/broker/broker.ts";
import { BrokerConfig, ConfigError } from "../../../src/broker/config.ts";
import { silentLogger } from "../../../src/broker/logger.ts";
import { BrokerMetrics } from "../../../src/broker/metrics/broker_metrics.ts";
import { Readiness } from "../../../src/broker/readiness.ts";
import { UserStore } from "../../../src/broker/sasl/credentials.ts";
import { credentialOf, saltPassword } from "../../../src/broker/sasl/scram.ts";
import { createHttpApp, type HttpEnv } from "../../../src/http/app.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { CREATE_TOPICS_API } from "../../../src/protocol/generated/19_create_topics.ts";
import type { StateStorage } from "../../../src/storage/engine.ts";
import { makeTestCerts } from "../../support/certs.ts";
import { connect } from "../../support/runtime.ts";

/** A state store in a Map (what the user store keeps its documents in). */
function memoryState(): StateStorage {
  const docs = new Map<string, string>();
  return {
    get: (ns, key) => Promise.resolve(docs.get(`${ns}/${key}`) ?? null),
    list: (ns) =>
      Promise.resolve(
        [...docs].filter(([k]) => k.startsWith(`${ns}/`)).map(([k, v]) =>
          [k.slice(ns.length + 1), v] as [string, string]
        )
          .sort(),
      ),
    put: (ns, entries) => {
      for (const [k, v] of entries) v === null ? docs.delete(`${ns}/${k}`) : docs.set(`${ns}/${k}`, v);
      return Promise.resolve();
    },
  };
}

async function setPassword(users: UserStore, user: string, password: string): Promise<void> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const salted = await saltPassword("SCRAM-SHA-256", password, salt, 4096);
  await users.alter(user, [], [["SCRAM-SHA-256", await credentialOf("SCRAM-SHA-256", salt, salted, 4096)]]);
}

function appWith(settings: Record<string, string>, options: { ready?: boolean; withBroker?: boolean } = {}) {
  const config = new BrokerConfig(Object.entries({ "connection.failed.authentication.delay.ms": "0", ...settings }));
  const users = new UserStore(memoryState());
  const fake = { users, config, oauthKeys: null, clock: { now: () => Date.now() } } as unknown as Broker;
  const readiness = new Readiness();
  if (options.ready !== false) readiness.set("ready");
  const seen: string[] = [];
  const schemaRegistry = new Hono<HttpEnv>().get("/subjects", (c) => {
    seen.push(c.get("principal"));
    return c.json([]);
  });
  const app = createHttpApp({
    broker: () => (options.withBroker === false ? null : fake),
    readiness,
    metrics: new BrokerMetrics(),
    config,
    logger: silentLogger,
    clock: { now: () => Date.now() },
    schemaRegistry,
  });
  return { app, users, readiness, seen };
}

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

test("createHttpApp() answers /healthz at once and /readyz 503 with the phase until ready", async () => {
  const { app, readiness } = appWith({}, { ready: false, withBroker: false });
  readiness.set("opening storage");
  assert.equal((await app.request("/healthz")).status, 200);
  const starting = await app.request("/readyz");
  assert.equal(starting.status, 503);
  assert.deepEqual(await starting.json(), {
    status: "not ready",
    phase: "opening storage",
    reason: "the broker is opening storage",
  });
  readiness.set("ready");
  readiness.whileReady(() => "lease lapsed");
  assert.equal((await app.request("/readyz")).status, 503);
  readiness.whileReady(() => null);
  assert.deepEqual(await (await app.request("/readyz")).json(), { status: "ready", phase: "ready" });
  readiness.set("stopping");
  assert.equal((await app.request("/readyz")).status, 503);
});

test("/metrics answers the text format 0.0.4 by default and OpenMetrics 1.0 when the Accept header asks", async () => {
  const { app } = appWith({});
  await app.request("/healthz");
  const text = await app.request("/metrics");
  assert.equal(text.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const body = await text.text();
  assert.match(body, /^# TYPE kbin_http_requests_total counter$/m);
  assert.match(body, /^kbin_http_requests_total\{service="health",route="\/healthz",status="2xx"\} 1$/m);
  assert.doesNotMatch(body, /# EOF/);
  const om = await app.request("/metrics", { headers: { accept: "application/openmetrics-text; version=1.0.0" } });
  assert.equal(om.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  const omBody = await om.text();
  assert.match(omBody, /^# TYPE kbin_http_requests counter$/m);
  assert.ok(omBody.endsWith("# EOF\n"));
});

test("Schema Registry and REST proxy paths are reserved: a mounted router serves, the rest is 404 JSON", async () => {
  const { app } = appWith({});
  assert.deepEqual(await (await app.request("/subjects")).json(), []);
  for (const path of ["/schemas/ids/1", "/v3/clusters", "/topics/t", "/consumers/g"]) {
    const r = await app.request(path);
    assert.equal(r.status, 404, path);
    assert.equal((await r.json()).error_code, 404);
  }
  const unknown = await app.request("/nothing-here");
  assert.deepEqual(await unknown.json(), { error_code: 404, message: "HTTP 404 Not Found" });
});

test("Basic authentication checks SCRAM users; health stays open and /metrics needs credentials", async () => {
  const { app, users, seen } = appWith({ "kbin.http.authentication": "basic" });
  await setPassword(users, "alice", "alice-secret");
  assert.equal((await app.request("/healthz")).status, 200);
  assert.equal((await app.request("/readyz")).status, 200);
  for (const auth of [null, basic("alice", "wrong"), basic("mallory", "alice-secret"), "Bearer abc", "Basic !!!"]) {
    const r = await app.request("/metrics", auth === null ? {} : { headers: { authorization: auth } });
    assert.equal(r.status, 401, String(auth));
    assert.equal(r.headers.get("www-authenticate"), 'Basic realm="kbin", charset="UTF-8"');
    assert.equal((await r.json()).error_code, 401);
  }
  assert.equal(
    (await app.request("/metrics", { headers: { authorization: basic("alice", "alice-secret") } })).status,
    200,
  );
  assert.equal(
    (await app.request("/subjects", { headers: { authorization: basic("alice", "alice-secret") } })).status,
    200,
  );
  assert.deepEqual(seen, ["User:alice"]);
  // A new password takes effect at once, although the old one was verified (and remembered) before.
  await setPassword(users, "alice", "new-secret");
  assert.equal(
    (await app.request("/metrics", { headers: { authorization: basic("alice", "alice-secret") } })).status,
    401,
  );
  assert.equal(
    (await app.request("/metrics", { headers: { authorization: basic("alice", "new-secret") } })).status,
    200,
  );
});

test("Bearer authentication accepts OAUTHBEARER tokens and puts their subject on the context", async () => {
  const { app, seen } = appWith({ "kbin.http.authentication": "basic,bearer" });
  const part = (o: unknown) => btoa(JSON.stringify(o)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  const token = `${part({ alg: "none" })}.${part({ sub: "carol", exp: Math.floor(Date.now() / 1000) + 60 })}.`;
  const ok = await app.request("/subjects", { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  assert.deepEqual(seen, ["User:carol"]);
  const expired = `${part({ alg: "none" })}.${part({ sub: "carol", exp: 1 })}.`;
  const refused = await app.request("/subjects", { headers: { authorization: `Bearer ${expired}` } });
  assert.equal(refused.status, 401);
  const challenges = refused.headers.get("www-authenticate") ?? "";
  assert.match(challenges, /Basic realm="kbin"/);
  assert.match(challenges, /Bearer realm="kbin", error="invalid_token"/);
});

test("Open paths are configurable, and credentials are answered 503 while the broker starts", async () => {
  const { app } = appWith({
    "kbin.http.authentication": "basic",
    "kbin.http.authentication.open.paths": "/healthz,/readyz,/metrics",
  }, { withBroker: false });
  assert.equal((await app.request("/metrics")).status, 200);
  assert.equal((await app.request("/subjects", { headers: { authorization: basic("a", "b") } })).status, 503);
  assert.throws(() => appWith({ "kbin.http.authentication": "digest" }), ConfigError);
});

test("startBroker({ http: true }) serves the HTTP plane on a free port, and /metrics counts Kafka requests", async () => {
  await using broker = await startBroker({ http: true });
  assert.match(broker.httpUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${broker.httpUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${broker.httpUrl}/readyz`)).status, 200);
  const conn = await KafkaConnection.open("127.0.0.1", broker.port, { connect });
  try {
    const r = await conn.request(CREATE_TOPICS_API, 5, {
      topics: [{ name: "t", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    assert.equal(r.topics[0]!.errorCode, 0);
    const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    assert.match(text, /^kbin_kafka_requests_total\{api="CreateTopics",version="5"\} 1$/m);
    assert.match(text, /^kafka_topic_partitions\{topic="t"\} 3$/m);
    assert.match(text, /^kbin_kafka_connections\{listener="PLAINTEXT",security_protocol="PLAINTEXT"\} 1$/m);
    assert.match(text, /^kbin_ready 1$/m);
  } finally {
    conn.close();
  }
});

test("kbin.http.listeners=https://… serves TLS with the broker's PEM key store", async () => {
  const certs = makeTestCerts();
  try {
    await using broker = await startBroker({
      config: {
        "kbin.http.listeners": "https://127.0.0.1:0",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.key": certs.server.key,
        "ssl.keystore.certificate.chain": certs.server.cert,
      },
    });
    assert.match(broker.httpUrl ?? "", /^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsGet(`${broker.httpUrl}/healthz`, { ca: certs.ca.cert }, (res) => {
        let body = "";
        res.on("data", (d: Uint8Array) => (body += new TextDecoder().decode(d)));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
    });
    assert.deepEqual(answer, { status: 200, body: '{"status":"ok"}' });
  } finally {
    certs.remove();
  }
});

test("kbin.http.listeners refuses other schemes, several listeners and an https listener without a key store", async () => {
  for (
    const [config, pattern] of [
      [{ "kbin.http.listeners": "ftp://127.0.0.1:0" }, /expected http:\/\/HOST:PORT/],
      [{ "kbin.http.listeners": "http://127.0.0.1:0,http://127.0.0.1:0" }, /one HTTP listener/],
      [{ "kbin.http.listeners": "https://127.0.0.1:0" }, /PEM/],
    ] as const
  ) {
    await assert.rejects(startBroker({ config }), pattern);
  }
});
