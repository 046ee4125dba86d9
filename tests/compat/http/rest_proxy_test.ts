/**
 * The REST proxy end to end: `kbin serve --http 127.0.0.1:0` with Basic authentication and an
 * authorizer, driven by Debian's curl. JSON, binary and string records go in through v3 produce
 * (one record, and a chunked stream of records answered one by one while the body is still open)
 * and come back through a v2 consumer instance (create, subscribe, poll, commit, committed
 * offsets, delete); kcat (librdkafka) reads what REST wrote and writes what REST reads; the v3
 * admin answers are compared with `kbin topic describe`, `kbin topic list`, `kbin group describe
 * --json` and `kcat -L -J`; ACLs apply to REST callers as to Kafka clients (a user without WRITE
 * gets TOPIC_AUTHORIZATION_FAILED per record, one with it succeeds, one without DESCRIBE a 403);
 * an unused consumer instance expires and leaves its group.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BrokerProcess, BUN, MAIN, startBrokerProcess } from "../../support/broker_process.ts";
import { clientMissing } from "../../support/skips.ts";
import { createTopic, kcatMissing, run, waitFor } from "../shared/kbin.ts";

const MISSING = kcatMissing() ||
  clientMissing(
    "curl",
    spawnSync("curl", ["--version"]).error ? "curl is not installed (scripts/install_test_deps.sh installs it)" : false,
  );

const AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const USERS = { admin: "admin-secret", alice: "alice-secret", bob: "bob-secret", carol: "carol-secret" } as const;
type User = keyof typeof USERS;
const V2 = "application/vnd.kafka.v2+json";
const V2_JSON = "application/vnd.kafka.json.v2+json";
const V2_BINARY = "application/vnd.kafka.binary.v2+json";

interface CurlResult {
  status: number;
  text: string;
  json: unknown;
}

interface ProduceResult {
  error_code: number;
  message?: string;
  partition_id?: number;
  offset?: number;
  timestamp?: string;
  key?: { type: string; size: number };
  value?: { type: string; size: number };
}

interface DescribeJson {
  totalLag: number;
  partitions: {
    topic: string;
    partition: number;
    committedOffset: number | null;
    logEndOffset: number | null;
    lag: number | null;
  }[];
}

/** The records of a v3 produce answer: JSON objects separated by CRLF. */
function results(text: string): ProduceResult[] {
  return text.split("\r\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as ProduceResult);
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | null) => (s === null ? null : Buffer.from(s, "base64").toString());

describe("REST proxy with curl and kcat against kbin serve --http", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  let dir: string;
  let url: string;
  let clusterId: string;

  const kbin = (args: string[], input?: string) =>
    run(BUN, [MAIN, ...args, "-b", broker.bootstrap], { timeoutMs: 60_000, ...(input ? { input } : {}) });

  async function curl(
    method: string,
    path: string,
    options: { user?: User; body?: string; contentType?: string; accept?: string; chunked?: boolean } = {},
  ): Promise<CurlResult> {
    const user = options.user ?? "admin";
    const args = ["-sS", "-X", method, "-u", `${user}:${USERS[user]}`, "-w", "\n%{http_code}"];
    if (options.contentType) args.push("-H", `Content-Type: ${options.contentType}`);
    if (options.accept) args.push("-H", `Accept: ${options.accept}`);
    // -T - sends stdin as a chunked body: the streaming form of v3 produce.
    if (options.body !== undefined) args.push(...(options.chunked ? ["-T", "-"] : ["--data-binary", "@-"]));
    args.push(`${url}${path}`);
    const r = await run("curl", args, {
      timeoutMs: 60_000,
      ...(options.body !== undefined ? { input: options.body } : {}),
    });
    assert.equal(r.code, 0, `curl ${args.join(" ")} failed:\n${r.stderr}`);
    const cut = r.stdout.lastIndexOf("\n");
    const text = r.stdout.slice(0, cut);
    let json: unknown = undefined;
    try {
      json = text.trim() === "" ? undefined : JSON.parse(text);
    } catch {
      // a v3 produce answer is several objects
    }
    return { status: Number(r.stdout.slice(cut + 1)), text, json };
  }

  const v3 = (path: string) => `/v3/clusters/${clusterId}${path}`;

  async function kcatConsume(topic: string, count: number) {
    const r = await run("kcat", [
      "-C",
      "-b",
      broker.bootstrap,
      "-t",
      topic,
      "-o",
      "beginning",
      "-c",
      String(count),
      "-e",
      "-J",
      "-q",
    ], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split("\n").map((l) =>
      JSON.parse(l) as {
        partition: number;
        offset: number;
        key: string | null;
        payload: string | null;
        headers?: string[];
      }
    ).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }

  async function describeGroup(group: string): Promise<DescribeJson> {
    const r = await kbin(["group", "describe", group, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as DescribeJson;
  }

  /** Polls a v2 consumer until `count` records came (the first polls may answer while it joins). */
  async function pollAll(group: string, instance: string, accept: string, count: number, user: User = "admin") {
    const got: { topic: string; partition: number; offset: number; key: unknown; value: unknown }[] = [];
    await waitFor(`${count} records through ${group}/${instance}`, async () => {
      const r = await curl("GET", `/consumers/${group}/instances/${instance}/records?timeout=1000`, { accept, user });
      assert.equal(r.status, 200, r.text);
      got.push(...(r.json as typeof got));
      return got.length >= count ? true : undefined;
    }, 30_000);
    return got;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kbin-rest-"));
    broker = await startBrokerProcess({
      dataDir: dir,
      args: [
        "--http",
        "127.0.0.1:0",
        "--set",
        "kbin.http.authentication=basic",
        "--set",
        "connection.failed.authentication.delay.ms=0",
        "--set",
        `authorizer.class.name=${AUTHORIZER}`,
        // The PLAINTEXT listener (kcat, kbin's CLI) is anonymous; `admin` is the REST super user.
        "--set",
        "super.users=User:ANONYMOUS;User:admin",
        "--set",
        "group.initial.rebalance.delay.ms=0",
        "--set",
        "consumer.instance.timeout.ms=2500",
      ],
    });
    const m = /Listening http=(http:\/\/127\.0\.0\.1:\d+)/.exec(broker.log());
    assert.ok(m, `no HTTP listener in the log:\n${broker.log()}`);
    url = m[1]!;
    for (const [user, password] of Object.entries(USERS)) {
      const added = await kbin(["user", "add", user, "--password-stdin"], password + "\n");
      assert.equal(added.code, 0, added.stderr);
    }
    const clusters = await curl("GET", "/v3/clusters");
    assert.equal(clusters.status, 200, clusters.text);
    clusterId = (clusters.json as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("v3 produce: one record, then a chunked stream of JSON, binary and string records answered one per record in order", async () => {
    await createTopic(broker, "rest-orders", { partitions: 2 });
    const one = await curl("POST", v3("/topics/rest-orders/records"), {
      contentType: "application/json",
      body: JSON.stringify({ partition_id: 0, value: { type: "JSON", data: { order: 1, items: ["a", "b"] } } }),
    });
    assert.equal(one.status, 200, one.text);
    const [first] = results(one.text);
    assert.equal(first!.error_code, 200);
    assert.equal(first!.partition_id, 0);
    assert.equal(first!.offset, 0);
    assert.deepEqual(first!.value, { type: "JSON", size: JSON.stringify({ order: 1, items: ["a", "b"] }).length });
    assert.ok(!Number.isNaN(Date.parse(first!.timestamp!)));

    const records = [
      { partition_id: 1, key: { type: "STRING", data: "k1" }, value: { type: "JSON", data: { order: 2 } } },
      {
        partition_id: 1,
        key: { type: "BINARY", data: b64("k2") },
        value: { type: "BINARY", data: b64("binary value") },
        headers: [{ name: "trace", value: b64("abc") }],
      },
      { partition_id: 0, value: { type: "STRING", data: "plain text" }, timestamp: "2024-01-02T03:04:05Z" },
      { partition_id: 1, value: { type: "BINARY", data: 42 } }, // not base64: this record fails, the others go on
      { partition_id: 1, value: { type: "JSON", data: null } },
    ];
    const stream = await curl("POST", v3("/topics/rest-orders/records"), {
      contentType: "application/json",
      chunked: true,
      body: records.map((r) => JSON.stringify(r)).join("\n"),
    });
    assert.equal(stream.status, 200, stream.text);
    const answers = results(stream.text);
    assert.equal(answers.length, records.length, stream.text);
    assert.deepEqual(answers.map((a) => [a.error_code, a.partition_id, a.offset]), [
      [200, 1, 0],
      [200, 1, 1],
      [200, 0, 1],
      [400, undefined, undefined],
      [200, 1, 2],
    ]);
    assert.match(answers[3]!.message!, /not a base64 string/);
    assert.equal(answers[2]!.timestamp, "2024-01-02T03:04:05.000Z");
    assert.deepEqual(answers[1]!.key, { type: "BINARY", size: 2 });

    // kcat reads exactly what REST wrote: keys, values, headers and partitions.
    const read = await kcatConsume("rest-orders", 5);
    assert.deepEqual(read.map((r) => [r.partition, r.offset, r.key, r.payload]), [
      [0, 0, null, JSON.stringify({ order: 1, items: ["a", "b"] })],
      [0, 1, null, "plain text"],
      [1, 0, "k1", JSON.stringify({ order: 2 })],
      [1, 1, "k2", "binary value"],
      [1, 2, null, null],
    ]);
    assert.deepEqual(read[3]!.headers, ["trace", "abc"]);
  });

  test("v3 produce streams answers while the request body is still open", async () => {
    await createTopic(broker, "rest-stream", { partitions: 1 });
    const { hostname, port } = new URL(url);
    const socket = netConnect({ host: hostname, port: Number(port) });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString()));
    const chunk = (text: string) => socket.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
    try {
      socket.write(
        `POST ${v3("/topics/rest-stream/records")} HTTP/1.1\r\nHost: ${hostname}\r\n` +
          `Authorization: Basic ${b64(`admin:${USERS.admin}`)}\r\nContent-Type: application/json\r\n` +
          `Transfer-Encoding: chunked\r\n\r\n`,
      );
      for (let i = 0; i < 3; i++) {
        chunk(JSON.stringify({ value: { type: "JSON", data: { n: i } } }));
        // Each record is answered before the next one is sent.
        await waitFor(
          `the answer to record ${i}`,
          () => (received.split('"error_code":200').length - 1 === i + 1 ? true : undefined),
        );
      }
      socket.write("0\r\n\r\n");
      await waitFor("the end of the answer", () => (received.endsWith("0\r\n\r\n") ? true : undefined));
    } finally {
      socket.destroy();
    }
    assert.match(received, /^HTTP\/1\.1 200/);
    for (let i = 0; i < 3; i++) assert.match(received, new RegExp(`"offset":${i}`));
  });

  test("a v2 consumer instance created with curl subscribes, polls, commits, reports committed offsets and is deleted", async () => {
    await createTopic(broker, "rest-json", { partitions: 2 });
    const values = Array.from({ length: 6 }, (_, i) => ({ n: i, text: `record ${i}` }));
    const produced = await curl("POST", v3("/topics/rest-json/records"), {
      contentType: "application/json",
      body: values.map((v, i) =>
        JSON.stringify({
          partition_id: i % 2,
          key: { type: "JSON", data: `key-${i}` },
          value: { type: "JSON", data: v },
        })
      ).join(""),
    });
    assert.ok(results(produced.text).every((r) => r.error_code === 200), produced.text);

    const created = await curl("POST", "/consumers/rest-json-readers", {
      contentType: V2,
      body: JSON.stringify({
        name: "reader-1",
        format: "json",
        "auto.offset.reset": "earliest",
        "auto.commit.enable": "false",
      }),
    });
    assert.equal(created.status, 200, created.text);
    assert.deepEqual(created.json, {
      instance_id: "reader-1",
      base_uri: `${url}/consumers/rest-json-readers/instances/reader-1`,
    });
    const again = await curl("POST", "/consumers/rest-json-readers", {
      contentType: V2,
      body: JSON.stringify({ name: "reader-1" }),
    });
    assert.equal(again.status, 409);
    assert.equal((again.json as { error_code: number }).error_code, 40902);

    const base = "/consumers/rest-json-readers/instances/reader-1";
    const sub = await curl("POST", `${base}/subscription`, {
      contentType: V2,
      body: JSON.stringify({ topics: ["rest-json"] }),
    });
    assert.equal(sub.status, 204, sub.text);
    assert.deepEqual((await curl("GET", `${base}/subscription`)).json, { topics: ["rest-json"] });
    const mismatch = await curl("GET", `${base}/records`, { accept: V2_BINARY });
    assert.equal(mismatch.status, 406);
    assert.equal((mismatch.json as { error_code: number }).error_code, 40601);

    const got = await pollAll("rest-json-readers", "reader-1", V2_JSON, values.length);
    assert.deepEqual(
      got.map((r) => r.value).sort((a, b) => (a as { n: number }).n - (b as { n: number }).n),
      values,
    );
    for (const r of got) assert.equal(r.key, `key-${(r.value as { n: number }).n}`);
    const assigned = (await curl("GET", `${base}/assignments`)).json as {
      partitions: { topic: string; partition: number }[];
    };
    assert.deepEqual(assigned.partitions, [{ topic: "rest-json", partition: 0 }, { topic: "rest-json", partition: 1 }]);

    // Commit what was read (no body: every position), then ask for the committed offsets.
    const commit = await curl("POST", `${base}/offsets`, { contentType: V2 });
    assert.equal(commit.status, 200, commit.text);
    const ends = new Map<number, number>();
    for (const r of got) ends.set(r.partition, Math.max(ends.get(r.partition) ?? 0, r.offset + 1));
    // Confluent's GET takes a body, which Bun and Deno drop: the partitions go in the query string,
    // and without them the answer covers the assignment.
    for (const query of ["?partitions=rest-json:0,rest-json:1", ""]) {
      const committed = await curl("GET", `${base}/offsets${query}`, { contentType: V2 });
      assert.equal(committed.status, 200, committed.text);
      const offsets = (committed.json as { offsets: { topic: string; partition: number; offset: number }[] }).offsets;
      assert.deepEqual(offsets.map((o) => [o.partition, o.offset]), [[0, ends.get(0)], [1, ends.get(1)]]);
    }
    const described = await describeGroup("rest-json-readers");
    assert.equal(described.totalLag, 0);
    for (const p of described.partitions) assert.equal(p.committedOffset, ends.get(p.partition));

    // An explicit commit names the last record read (Confluent commits offset + 1).
    const explicit = await curl("POST", `${base}/offsets`, {
      contentType: V2,
      body: JSON.stringify({ offsets: [{ topic: "rest-json", partition: 0, offset: 0 }] }),
    });
    assert.equal(explicit.status, 200, explicit.text);
    const p0 = (await describeGroup("rest-json-readers")).partitions.find((p) => p.partition === 0)!;
    assert.equal(p0.committedOffset, 1);

    const deleted = await curl("DELETE", base, { contentType: V2 });
    assert.equal(deleted.status, 204, deleted.text);
    const gone = await curl("GET", `${base}/records`, { accept: V2_JSON });
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.json, { error_code: 40403, message: "Consumer instance not found." });
    await waitFor("the instance to leave its group", async () => {
      const d = await kbin(["group", "describe", "rest-json-readers", "--json"]);
      return (JSON.parse(d.stdout) as { members: unknown[] }).members.length === 0 ? true : undefined;
    });
  });

  test("what kcat produces, a binary v2 consumer reads (assigned by hand, seeking to the beginning)", async () => {
    await createTopic(broker, "kcat-in", { partitions: 1 });
    const lines = ["a:alpha", "b:beta", "c:gamma"];
    const produced = await run("kcat", ["-P", "-b", broker.bootstrap, "-t", "kcat-in", "-K", ":", "-p", "0"], {
      input: lines.join("\n") + "\n",
      timeoutMs: 30_000,
    });
    assert.equal(produced.code, 0, produced.stderr);
    const base = "/consumers/kcat-readers/instances/bin";
    const created = await curl("POST", "/consumers/kcat-readers", {
      contentType: V2,
      body: JSON.stringify({ name: "bin" }),
    });
    assert.equal(created.status, 200, created.text);
    const assign = await curl("POST", `${base}/assignments`, {
      contentType: V2,
      body: JSON.stringify({ partitions: [{ topic: "kcat-in", partition: 0 }] }),
    });
    assert.equal(assign.status, 204, assign.text);
    const seek = await curl("POST", `${base}/positions/beginning`, {
      contentType: V2,
      body: JSON.stringify({ partitions: [{ topic: "kcat-in", partition: 0 }] }),
    });
    assert.equal(seek.status, 204, seek.text);
    const got = await pollAll("kcat-readers", "bin", V2_BINARY, 3);
    assert.deepEqual(got.map((r) => [r.offset, unb64(r.key as string), unb64(r.value as string)]), [
      [0, "a", "alpha"],
      [1, "b", "beta"],
      [2, "c", "gamma"],
    ]);
    // Seek back to offset 1, with max_bytes leaving room for one record only.
    await curl("POST", `${base}/positions`, {
      contentType: V2,
      body: JSON.stringify({ offsets: [{ topic: "kcat-in", partition: 0, offset: 1 }] }),
    });
    const one = await curl("GET", `${base}/records?timeout=1000&max_bytes=6`, { accept: V2_BINARY });
    assert.deepEqual((one.json as { offset: number }[]).map((r) => r.offset), [1]);
    assert.equal((await curl("DELETE", base, { contentType: V2 })).status, 204);
  });

  test("v3 admin answers match kbin topic describe, kbin topic list, kcat -L and kbin group describe", async () => {
    await createTopic(broker, "rest-admin", {
      partitions: 3,
      configs: { "cleanup.policy": "compact", "retention.ms": "3600000" },
    });
    const created = await curl("POST", v3("/topics"), {
      contentType: "application/json",
      body: JSON.stringify({
        topic_name: "rest-created",
        partitions_count: 4,
        configs: [{ name: "segment.bytes", value: "1048576" }],
      }),
    });
    assert.equal(created.status, 201, created.text);
    const exists = await curl("POST", v3("/topics"), {
      contentType: "application/json",
      body: JSON.stringify({ topic_name: "rest-created" }),
    });
    assert.equal(exists.status, 400);
    assert.deepEqual(exists.json, { error_code: 40002, message: "Topic 'rest-created' already exists." });

    // Topics: the same names as kbin topic list.
    const listed = (await curl("GET", v3("/topics"))).json as {
      kind: string;
      data: { topic_name: string; partitions_count: number }[];
    };
    assert.equal(listed.kind, "KafkaTopicList");
    const cliList = await kbin(["topic", "list"]);
    assert.deepEqual(listed.data.map((t) => t.topic_name), cliList.stdout.trim().split("\n"));

    // One topic: partitions, replication factor and overrides as kbin topic describe prints them.
    const described = await kbin(["topic", "describe", "rest-admin"]);
    assert.equal(described.code, 0, described.stderr);
    const header = /PartitionCount: (\d+)\tReplicationFactor: (\d+)\tConfigs: (\S*)/.exec(described.stdout)!;
    const topic = (await curl("GET", v3("/topics/rest-admin"))).json as Record<string, unknown>;
    assert.equal(topic["kind"], "KafkaTopic");
    assert.equal(topic["partitions_count"], Number(header[1]));
    assert.equal(topic["replication_factor"], Number(header[2]));
    assert.equal((topic["metadata"] as { self: string }).self, `${url}/v3/clusters/${clusterId}/topics/rest-admin`);
    const configs = (await curl("GET", v3("/topics/rest-admin/configs"))).json as {
      data: { name: string; value: string; source: string }[];
    };
    const overrides = configs.data.filter((c) => c.source === "DYNAMIC_TOPIC_CONFIG").map((c) => `${c.name}=${c.value}`)
      .sort();
    assert.deepEqual(overrides, header[3]!.split(",").sort());
    const one = (await curl("GET", v3("/topics/rest-admin/configs/cleanup.policy"))).json as Record<string, unknown>;
    assert.equal(one["value"], "compact");
    assert.equal(one["is_default"], false);

    // Config changes through REST show in kbin topic describe.
    assert.equal(
      (await curl("PUT", v3("/topics/rest-admin/configs/retention.ms"), {
        contentType: "application/json",
        body: JSON.stringify({ value: "7200000" }),
      })).status,
      204,
    );
    assert.equal(
      (await curl("POST", v3("/topics/rest-admin/configs:alter"), {
        contentType: "application/json",
        body: JSON.stringify({
          data: [{ name: "cleanup.policy", operation: "DELETE" }, { name: "max.message.bytes", value: "2000000" }],
        }),
      })).status,
      204,
    );
    const after = /Configs: (\S*)/.exec((await kbin(["topic", "describe", "rest-admin"])).stdout)![1]!.split(",")
      .sort();
    assert.deepEqual(after, ["max.message.bytes=2000000", "retention.ms=7200000"]);

    // Partitions and leaders as kcat -L sees them; brokers likewise.
    const metadata = await run("kcat", ["-L", "-J", "-b", broker.bootstrap, "-t", "rest-admin"], { timeoutMs: 30_000 });
    assert.equal(metadata.code, 0, metadata.stderr);
    const md = JSON.parse(metadata.stdout) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[] }[] }[];
    };
    const partitions = (await curl("GET", v3("/topics/rest-admin/partitions"))).json as {
      data: { partition_id: number; leader: { related: string } }[];
    };
    const leaders = partitions.data.map((
      p,
    ) => [p.partition_id, Number(/\/replicas\/(\d+)$/.exec(p.leader.related)![1])]);
    assert.deepEqual(
      leaders,
      md.topics[0]!.partitions.map((p) => [p.partition, p.leader]).sort((a, b) => a[0]! - b[0]!),
    );
    const cliLeaders = [...described.stdout.matchAll(/Partition: (\d+)\tLeader: (\d+)/g)].map((
      m,
    ) => [Number(m[1]), Number(m[2])]);
    assert.deepEqual(leaders, cliLeaders);
    const replicas = (await curl("GET", v3("/topics/rest-admin/partitions/0/replicas"))).json as {
      data: { broker_id: number; is_leader: boolean; is_in_sync: boolean }[];
    };
    assert.deepEqual(replicas.data.map((r) => [r.broker_id, r.is_leader, r.is_in_sync]), [[
      md.topics[0]!.partitions[0]!.leader,
      true,
      true,
    ]]);
    const brokers = (await curl("GET", v3("/brokers"))).json as {
      data: { broker_id: number; host: string; port: number }[];
    };
    assert.deepEqual(
      brokers.data.map((b) => [b.broker_id, `${b.host}:${b.port}`]),
      md.brokers.map((b) => [b.id, b.name]),
    );
    assert.deepEqual((await curl("GET", "/brokers")).json, { brokers: md.brokers.map((b) => b.id) });

    // Consumer group lag: what kbin group describe computes for a kcat group.
    await run("kcat", ["-P", "-b", broker.bootstrap, "-t", "rest-admin", "-p", "0"], { input: "a\nb\nc\nd\n" });
    await run("kcat", ["-P", "-b", broker.bootstrap, "-t", "rest-admin", "-p", "2"], { input: "e\nf\n" });
    const offsetCommit = await curl("POST", "/consumers/rest-admin-group", {
      contentType: V2,
      body: JSON.stringify({ name: "c", "auto.commit.enable": "false" }),
    });
    assert.equal(offsetCommit.status, 200);
    const base = "/consumers/rest-admin-group/instances/c";
    await curl("POST", `${base}/assignments`, {
      contentType: V2,
      body: JSON.stringify({
        partitions: [{ topic: "rest-admin", partition: 0 }, { topic: "rest-admin", partition: 2 }],
      }),
    });
    await curl("POST", `${base}/offsets`, {
      contentType: V2,
      body: JSON.stringify({
        offsets: [{ topic: "rest-admin", partition: 0, offset: 0 }, { topic: "rest-admin", partition: 2, offset: 1 }],
      }),
    });
    await curl("DELETE", base, { contentType: V2 });
    const group = await describeGroup("rest-admin-group");
    const lags = (await curl("GET", v3("/consumer-groups/rest-admin-group/lags"))).json as {
      data: { topic_name: string; partition_id: number; current_offset: number; log_end_offset: number; lag: number }[];
    };
    assert.deepEqual(
      lags.data.map((l) => [l.partition_id, l.current_offset, l.log_end_offset, l.lag]),
      group.partitions.filter((p) => p.lag !== null).map((
        p,
      ) => [p.partition, p.committedOffset, p.logEndOffset, p.lag]),
    );
    assert.deepEqual(lags.data.map((l) => l.lag), [3, 0]);
    const summary = (await curl("GET", v3("/consumer-groups/rest-admin-group/lag-summary"))).json as Record<
      string,
      unknown
    >;
    assert.equal(summary["total_lag"], group.totalLag);
    assert.equal(summary["max_lag"], 3);
    assert.equal(summary["max_lag_partition_id"], 0);
    const offset = (await curl("GET", v3("/topics/rest-admin/partitions/0/offset"))).json as Record<string, unknown>;
    assert.deepEqual([offset["earliest_offset"], offset["latest_offset"]], [0, 4]);

    // Grow, then delete, a topic; errors keep Confluent's shape.
    const grown = await curl("PATCH", v3("/topics/rest-created"), {
      contentType: "application/json",
      body: JSON.stringify({ partitions_count: 6 }),
    });
    assert.equal((grown.json as { partitions_count: number }).partitions_count, 6);
    assert.equal((await curl("DELETE", v3("/topics/rest-created"))).status, 204);
    const missing = await curl("GET", v3("/topics/rest-created"));
    assert.equal(missing.status, 404);
    assert.equal((missing.json as { error_code: number }).error_code, 40403);
    const wrongCluster = await curl("GET", "/v3/clusters/nope/topics");
    assert.deepEqual(wrongCluster.json, { error_code: 404, message: "Cluster nope cannot be found." });
  });

  test("ACLs apply to REST callers: no WRITE gives TOPIC_AUTHORIZATION_FAILED per record, WRITE succeeds, no DESCRIBE is 403", async () => {
    await createTopic(broker, "rest-secure", { partitions: 1 });
    for (const [user, op] of [["alice", "describe"], ["bob", "write"], ["bob", "read"]] as const) {
      const r = await kbin([
        "acl",
        "add",
        "--allow",
        "--principal",
        `User:${user}`,
        "--operation",
        op,
        "--topic",
        "rest-secure",
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await kbin([
      "acl",
      "add",
      "--allow",
      "--principal",
      "User:bob",
      "--operation",
      "read",
      "--group",
      "bob-group",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.stringify({ value: { type: "STRING", data: "secret" } });
    const path = v3("/topics/rest-secure/records");

    const alice = await curl("POST", path, { user: "alice", contentType: "application/json", body });
    assert.equal(alice.status, 200, alice.text);
    assert.deepEqual(results(alice.text), [{
      error_code: 40301,
      message: "Not authorized to access topics: [rest-secure]",
    }]);
    const bob = await curl("POST", path, { user: "bob", contentType: "application/json", body });
    assert.equal(results(bob.text)[0]!.error_code, 200, bob.text);
    const carol = await curl("POST", path, { user: "carol", contentType: "application/json", body });
    assert.equal(carol.status, 403);
    assert.deepEqual(carol.json, { error_code: 40301, message: "Not authorized to access topics: [rest-secure]" });
    const v2Alice = await curl("POST", "/topics/rest-secure", {
      user: "alice",
      contentType: V2_JSON,
      body: JSON.stringify({ records: [{ value: "x" }] }),
    });
    assert.equal(v2Alice.status, 403);
    assert.equal((v2Alice.json as { offsets: { error_code: number }[] }).offsets[0]!.error_code, 40301);
    const wrongPassword = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-u",
      "bob:nope",
      `${url}/v3/clusters`,
    ]);
    assert.equal(wrongPassword.stdout, "401");

    // Only bob's record is in the topic, and bob's consumer (READ on topic and group) reads it.
    const created = await curl("POST", "/consumers/bob-group", {
      user: "bob",
      contentType: V2,
      body: JSON.stringify({ name: "b", "auto.offset.reset": "earliest" }),
    });
    assert.equal(created.status, 200, created.text);
    // Another user cannot use bob's instance.
    const stolen = await curl("GET", "/consumers/bob-group/instances/b/records", { user: "alice", accept: V2_BINARY });
    assert.equal(stolen.status, 404);
    await curl("POST", "/consumers/bob-group/instances/b/subscription", {
      user: "bob",
      contentType: V2,
      body: JSON.stringify({ topics: ["rest-secure"] }),
    });
    const got = await pollAll("bob-group", "b", V2_BINARY, 1, "bob");
    assert.deepEqual(got.map((x) => unb64(x.value as string)), ["secret"]);
    // Alice may not read the group: her consumer's poll is refused.
    await curl("POST", "/consumers/alice-group", {
      user: "alice",
      contentType: V2,
      body: JSON.stringify({ name: "a" }),
    });
    await curl("POST", "/consumers/alice-group/instances/a/subscription", {
      user: "alice",
      contentType: V2,
      body: JSON.stringify({ topics: ["rest-secure"] }),
    });
    const refused = await waitFor("alice's poll to be refused", async () => {
      const p = await curl("GET", "/consumers/alice-group/instances/a/records?timeout=500", {
        user: "alice",
        accept: V2_BINARY,
      });
      return p.status === 403 ? p : undefined;
    });
    assert.equal((refused.json as { error_code: number }).error_code, 40301);
  });

  test("a consumer instance unused for consumer.instance.timeout.ms is closed and leaves its group", async () => {
    await createTopic(broker, "rest-idle", { partitions: 1 });
    await curl("POST", "/consumers/idle-group", { contentType: V2, body: JSON.stringify({ name: "sleepy" }) });
    const base = "/consumers/idle-group/instances/sleepy";
    await curl("POST", `${base}/subscription`, { contentType: V2, body: JSON.stringify({ topics: ["rest-idle"] }) });
    // Poll until the instance is in the group.
    await waitFor("the instance to join its group", async () => {
      await curl("GET", `${base}/records?timeout=200`, { accept: V2_BINARY });
      const d = await kbin(["group", "describe", "idle-group", "--json"]);
      return (JSON.parse(d.stdout) as { members: unknown[] }).members.length === 1 ? true : undefined;
    });
    const idleSince = Date.now();
    await waitFor("the instance to expire", async () => {
      const d = await kbin(["group", "describe", "idle-group", "--json"]);
      return (JSON.parse(d.stdout) as { members: unknown[]; state: string }).members.length === 0 ? true : undefined;
    }, 20_000);
    assert.ok(Date.now() - idleSince >= 2000, "expired before consumer.instance.timeout.ms");
    const gone = await curl("GET", `${base}/records`, { accept: V2_BINARY });
    assert.equal(gone.status, 404);
    assert.equal((gone.json as { error_code: number }).error_code, 40403);
  });
});
