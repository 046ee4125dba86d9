/**
 * The REST proxy on two brokers sharing PostgreSQL: records produced through ONE broker's proxy
 * (v3 with explicit partitions and keys, a streamed v3 body, `records:batch`, v2) are all
 * acknowledged, those for partitions the other broker leads after being forwarded to its HTTP
 * listener; kcat then finds every record in the partition it was answered for, and keyed records
 * in the partition Kafka's default partitioner picks. With Basic auth and the authorizer on, the
 * forwarded records keep the caller's principal (no WRITE is refused on both brokers), and a
 * request that was itself forwarded is not forwarded again.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { BUN, MAIN, run } from "../../support/broker_process.ts";
import { clientMissing } from "../../support/skips.ts";
import { postgresBinDir, sharedPostgres, stopSharedPostgres } from "../../support/postgres.ts";
import { partitionForKey } from "../../../src/client/partitioner.ts";
import { PgCluster } from "../scale_out/cluster.ts";
import { createTopic, kcatMissing, waitFor } from "../shared/kbin.ts";

after(stopSharedPostgres);

const NO_POSTGRES = clientMissing("postgresql", postgresBinDir() === null ? "PostgreSQL is not installed" : false);
const MISSING = NO_POSTGRES || kcatMissing();
const AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const USERS = { admin: "admin-secret", alice: "alice-secret", bob: "bob-secret" } as const;
type User = keyof typeof USERS;
const PARTITIONS = 6;
const TOPIC = "pg-rest";

interface Answer {
  error_code: number;
  message?: string;
  partition_id?: number;
  offset?: number;
  timestamp?: string | null;
  key?: unknown;
  value?: unknown;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const lines = (text: string) => text.split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Answer);

describe("REST proxy on two brokers sharing PostgreSQL", { skip: MISSING }, () => {
  let cluster: PgCluster;
  const urls: string[] = [];
  let clusterId = "";
  /** Each partition's leader. */
  let leaders: number[] = [];
  /** value → the partition its answer named. */
  const answered = new Map<string, number>();

  const kbin = (args: string[]) => run(BUN, [MAIN, ...args, "-b", cluster.bootstrap], { timeoutMs: 60_000 });

  function http(
    url: string,
    path: string,
    options: {
      user?: User;
      body: string | ReadableStream<Uint8Array>;
      contentType?: string;
      headers?: Record<string, string>;
    },
  ) {
    const user = options.user ?? "admin";
    return fetch(url + path, {
      method: "POST",
      headers: {
        "content-type": options.contentType ?? "application/json",
        authorization: `Basic ${b64(`${user}:${USERS[user]}`)}`,
        ...options.headers,
      },
      body: options.body,
      // A streamed request body (Node's fetch needs it; Bun's ignores it).
      ...(typeof options.body === "string" ? {} : { duplex: "half" }),
    } as RequestInit);
  }

  const v3 = (path: string) => `/v3/clusters/${clusterId}/topics/${TOPIC}${path}`;

  /** Checks v3 answers are acknowledged with offsets and remembers where each value went. */
  function acknowledged(answers: Answer[], values: string[], text: string): void {
    assert.equal(answers.length, values.length, text);
    for (const [i, a] of answers.entries()) {
      assert.equal(a.error_code, 200, `${values[i]}: ${JSON.stringify(a)}`);
      assert.ok(typeof a.offset === "number" && a.offset >= 0, JSON.stringify(a));
      assert.ok(!Number.isNaN(Date.parse(a.timestamp!)), JSON.stringify(a));
      answered.set(values[i]!, a.partition_id!);
    }
  }

  before(async () => {
    const pg = await sharedPostgres();
    const db = pg.createDatabase(`kbin_rest_pg_${process.pid}`);
    // Users live in the cluster's database: every broker authenticates the same credentials.
    for (const [user, password] of Object.entries(USERS)) {
      const added = await run(BUN, [MAIN, "user", "add", user, "--local", "--storage", db, "--password-stdin"], {
        input: password + "\n",
      });
      assert.equal(added.code, 0, added.stderr);
    }
    cluster = await PgCluster.onDatabase(db, 2, [
      "--http",
      "127.0.0.1:0",
      "--set",
      "kbin.http.authentication=basic",
      "--set",
      `authorizer.class.name=${AUTHORIZER}`,
      // The PLAINTEXT listener (kcat, kbin's CLI) is anonymous; `admin` is the REST super user.
      "--set",
      "super.users=User:ANONYMOUS;User:admin",
      "--set",
      "kbin.cluster.lease.ms=3000",
      "--set",
      "kbin.cluster.heartbeat.ms=200",
    ]);
    for (const b of cluster.brokers) {
      urls.push(await waitFor("the HTTP listener", () => /Listening http=(\S+)/.exec(b.process.log())?.[1]));
    }
    const clusters = await fetch(`${urls[0]}/v3/clusters`, {
      headers: { authorization: `Basic ${b64(`admin:${USERS.admin}`)}` },
    });
    assert.equal(clusters.status, 200);
    clusterId = ((await clusters.json()) as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
    // Partitions are spread over the brokers the creating broker knows: wait until each knows both.
    await waitFor("both brokers to see each other", async () => {
      for (const b of cluster.brokers) {
        const md = await run("kcat", ["-b", b.process.bootstrap, "-L"]);
        if (!/ 2 brokers:/.test(md.stdout)) return undefined;
      }
      return true;
    }, 30_000);
    await createTopic(cluster.brokers[0]!.process, TOPIC, { partitions: PARTITIONS });
    // Both brokers lead some of the topic's partitions (both must be registered first).
    // Both brokers know the topic, and both lead some of its partitions.
    leaders = await waitFor("partitions led by both brokers", async () => {
      const views: string[] = [];
      for (const b of cluster.brokers) {
        const md = await run("kcat", ["-b", b.process.bootstrap, "-L", "-t", TOPIC]);
        const found: number[] = [];
        for (const m of md.stdout.matchAll(/partition (\d+), leader (\d+)/g)) found[Number(m[1])] = Number(m[2]);
        if (found.length !== PARTITIONS || new Set(found).size !== 2) return undefined;
        views.push(found.join(","));
      }
      return views[0] === views[1] ? views[0]!.split(",").map(Number) : undefined;
    }, 30_000).catch((err) => assert.fail(`${(err as Error).message}\n${cluster.logs()}`));
  });
  after(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  test("v3 produce through one broker: explicit partitions and keyed records led by either broker", async () => {
    const records = [];
    const values: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      values.push(`explicit-${p}`);
      records.push({ partition_id: p, value: { type: "STRING", data: `explicit-${p}` } });
    }
    for (let k = 0; k < 12; k++) {
      values.push(`keyed-${k}`);
      records.push({
        key: { type: "STRING", data: `key-${k}` },
        value: { type: "STRING", data: `keyed-${k}` },
        headers: [{ name: "h", value: b64(`h${k}`) }],
      });
    }
    const res = await http(urls[0]!, v3("/records"), { body: records.map((r) => JSON.stringify(r)).join("") });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const answers = lines(text);
    acknowledged(answers, values, text);
    for (let p = 0; p < PARTITIONS; p++) assert.equal(answers[p]!.partition_id, p);
    for (let k = 0; k < 12; k++) {
      const a = answers[PARTITIONS + k]!;
      assert.equal(a.partition_id, partitionForKey(new TextEncoder().encode(`key-${k}`), PARTITIONS), `key-${k}`);
      assert.deepEqual(a.key, { type: "STRING", size: `key-${k}`.length });
      assert.deepEqual(a.value, { type: "STRING", size: `keyed-${k}`.length });
    }
    const forwarded = answers.filter((a) => leaders[a.partition_id!] !== 1).length;
    assert.ok(forwarded > 0, "some records went to partitions broker 2 leads");
  });

  test("a streamed v3 body and records:batch through one broker", async () => {
    const encoder = new TextEncoder();
    const chunks = [0, 1, 2].map((c) =>
      Array.from(
        { length: PARTITIONS },
        (_, p) => JSON.stringify({ partition_id: p, value: { type: "JSON", data: `stream-${c}-${p}` } }),
      ).join("\n")
    );
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else {
          await new Promise((r) => setTimeout(r, 20));
          controller.enqueue(encoder.encode(next + "\n"));
        }
      },
    });
    const res = await http(urls[0]!, v3("/records"), { body });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const values = [0, 1, 2].flatMap((c) => Array.from({ length: PARTITIONS }, (_, p) => `stream-${c}-${p}`));
    const answers = lines(text);
    // JSON values are stored as their JSON text.
    acknowledged(answers, values.map((v) => JSON.stringify(v)), text);
    assert.deepEqual(answers.map((a) => a.partition_id), values.map((v) => Number(v.split("-")[2])));

    const entries = Array.from({ length: PARTITIONS }, (_, p) => ({
      id: `e${p}`,
      partition_id: p,
      value: { type: "STRING", data: `batch-${p}` },
    }));
    const batch = await http(urls[0]!, v3("/records:batch"), {
      body: JSON.stringify({ entries: entries.slice(0, 6) }),
    });
    assert.equal(batch.status, 207);
    const out = (await batch.json()) as { successes: (Answer & { id: string })[]; failures: unknown[] };
    assert.deepEqual(out.failures, []);
    assert.deepEqual(out.successes.map((s) => [s.id, s.partition_id]), entries.map((e) => [e.id, e.partition_id]));
    for (const s of out.successes) {
      assert.ok(typeof s.offset === "number" && s.offset >= 0);
      answered.set(`batch-${s.partition_id}`, s.partition_id!);
    }
  });

  test("v2 produce through one broker, to the topic and to a partition the other broker leads", async () => {
    const records = Array.from({ length: 8 }, (_, i) => ({ key: b64(`v2key-${i}`), value: b64(`v2-${i}`) }));
    const res = await http(urls[0]!, `/topics/${TOPIC}`, {
      contentType: "application/vnd.kafka.binary.v2+json",
      body: JSON.stringify({ records }),
    });
    const json = (await res.json()) as { offsets: { partition: number; offset: number; error_code: unknown }[] };
    assert.equal(res.status, 200, JSON.stringify(json));
    for (const [i, o] of json.offsets.entries()) {
      assert.equal(o.error_code, null, JSON.stringify(o));
      assert.equal(o.partition, partitionForKey(new TextEncoder().encode(`v2key-${i}`), PARTITIONS));
      assert.ok(o.offset >= 0);
      answered.set(`v2-${i}`, o.partition);
    }
    const remote = leaders.findIndex((l) => l === 2);
    const one = await http(urls[0]!, `/topics/${TOPIC}/partitions/${remote}`, {
      contentType: "application/vnd.kafka.json.v2+json",
      body: JSON.stringify({ records: [{ value: "v2-remote" }] }),
    });
    const oneJson = (await one.json()) as { offsets: { partition: number; offset: number; error_code: unknown }[] };
    assert.equal(one.status, 200, JSON.stringify(oneJson));
    assert.deepEqual(oneJson.offsets.map((o) => [o.partition, o.error_code]), [[remote, null]]);
    answered.set(JSON.stringify("v2-remote"), remote);
  });

  test("kcat finds every record in the partition it was answered for", async () => {
    const count = answered.size;
    const read = await waitFor("every record", async () => {
      const r = await run("kcat", ["-b", cluster.bootstrap, "-C", "-t", TOPIC, "-e", "-q", "-f", "%p %k %s\n"]);
      const got = r.stdout.split("\n").filter((l) => l !== "");
      return got.length >= count ? got : undefined;
    }, 30_000);
    assert.equal(read.length, count);
    const found = new Map<string, number>();
    for (const line of read) {
      const [p, _key, ...value] = line.split(" ");
      found.set(value.join(" "), Number(p));
    }
    assert.deepEqual(new Map([...found].sort()), new Map([...answered].sort()));
  });

  test("a forwarded request is not forwarded again: another leader's partition is answered 50003", async () => {
    const remote = leaders.findIndex((l) => l === 2);
    const res = await http(urls[0]!, v3("/records"), {
      body: JSON.stringify({ partition_id: remote, value: { type: "STRING", data: "twice" } }),
      headers: { "x-kbin-forwarded": "2" },
    });
    const [a] = lines(await res.text());
    assert.equal(a!.error_code, 50003);
    assert.match(a!.message!, /NOT_LEADER_OR_FOLLOWER/);
    assert.match(a!.message!, new RegExp(`partition ${remote} of "${TOPIC}" is led by broker 2`));
  });

  test("forwarded records keep the caller's principal: no WRITE is refused on both brokers, WRITE succeeds", async () => {
    for (const [user, op] of [["alice", "describe"], ["bob", "describe"], ["bob", "write"]] as const) {
      const r = await kbin([
        "acl",
        "add",
        "--allow",
        "--principal",
        `User:${user}`,
        "--operation",
        op,
        "--topic",
        TOPIC,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const body = Array.from(
      { length: PARTITIONS },
      (_, p) => JSON.stringify({ partition_id: p, value: { type: "STRING", data: `acl-${p}` } }),
    ).join("\n");
    // Each broker reads new ACLs from the database on its own schedule: retry until both allow bob
    // (then both know alice's too).
    let bobAnswers: Answer[] = [];
    await waitFor("both brokers to allow bob", async () => {
      const bob = await http(urls[0]!, v3("/records"), { user: "bob", body });
      bobAnswers = lines(await bob.text());
      if (bobAnswers.every((a) => a.error_code === 200)) return true;
      await new Promise((r) => setTimeout(r, 200));
      return undefined;
    }, 15_000).catch(() => {});
    assert.deepEqual(
      bobAnswers.map((a) => [a.error_code, a.partition_id]),
      Array.from({ length: PARTITIONS }, (_, p) => [200, p]),
      JSON.stringify(bobAnswers),
    );
    const alice = await http(urls[0]!, v3("/records"), { user: "alice", body });
    const aliceAnswers = lines(await alice.text());
    assert.deepEqual(
      aliceAnswers.map((a) => a.error_code),
      Array(PARTITIONS).fill(40301),
      JSON.stringify(aliceAnswers),
    );
    for (const a of aliceAnswers) assert.equal(a.message, `Not authorized to access topics: [${TOPIC}]`);
  });
});
