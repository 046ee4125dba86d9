/**
 * SASL through real clients against `kbin serve` with a PLAINTEXT listener (for tools) and a
 * SASL_PLAINTEXT one: the first admin is created with `kbin user add --local` before the broker
 * starts, another with `kbin user add` over the protocol; kcat and confluent-kafka-python
 * (librdkafka 2.0) produce and consume with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; KafkaJS with
 * both SCRAM mechanisms; a wrong password fails fast with an authentication error; a client that
 * skips SASL is disconnected and nothing it sent is stored; `kbin user list` and `delete` work.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel, type SASLOptions } from "kafkajs";
import { type BrokerProcess, BUN, MAIN, startBrokerProcess } from "../../support/broker_process.ts";
import { kcatMissing, PYTHON, pythonMissing, run, runJsonDriver, waitFor } from "../shared/kbin.ts";

const CLIENT = fileURLToPath(new URL("./sasl_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka") || kcatMissing();
const MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

describe("SASL_PLAINTEXT through real clients", { skip: MISSING }, () => {
  let dataDir: string;
  let broker: BrokerProcess;
  let sasl = "";

  const kbin = (args: string[], input = "") => run(BUN, [MAIN, ...args], { input, timeoutMs: 60_000 });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "kbin-sasl-"));
    // The first admin, before the broker starts.
    const local = await kbin(
      ["user", "add", "admin", "--local", "--data-dir", dataDir, "--password-stdin"],
      "admin-pw\n",
    );
    assert.equal(local.code, 0, local.stderr);
    broker = await startBrokerProcess({
      dataDir,
      args: [
        "--set",
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "--set",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
      ],
    });
    const m = await waitFor(
      "the SASL listener's port",
      () => /SASL_PLAINTEXT=SASL_PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(broker.log())?.[1],
    );
    sasl = `127.0.0.1:${m}`;
    // Another user, over the protocol (the PLAINTEXT listener).
    const added = await kbin(["user", "add", "alice", "--password-stdin", "-b", broker.bootstrap], "alice-pw\n");
    assert.equal(added.code, 0, added.stderr);
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const mechanism of MECHANISMS) {
    test(`kcat produces and consumes with ${mechanism}`, async () => {
      const auth = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", `sasl.mechanisms=${mechanism}`];
      const topic = `kcat-${mechanism.toLowerCase()}`;
      const p = spawnSync("kcat", [
        "-b",
        sasl,
        ...auth,
        "-X",
        "sasl.username=admin",
        "-X",
        "sasl.password=admin-pw",
        "-P",
        "-t",
        topic,
      ], {
        input: "one\ntwo\n",
        timeout: 30_000,
      });
      assert.equal(p.status, 0, p.stderr.toString());
      const c = spawnSync("kcat", [
        "-b",
        sasl,
        ...auth,
        "-X",
        "sasl.username=alice",
        "-X",
        "sasl.password=alice-pw",
        "-C",
        "-t",
        topic,
        "-e",
        "-q",
      ], {
        timeout: 30_000,
      });
      assert.equal(c.status, 0, c.stderr.toString());
      assert.deepEqual(c.stdout.toString().trim().split("\n"), ["one", "two"]);
    });

    test(`confluent-kafka-python produces and consumes with ${mechanism}; a wrong password fails fast`, async () => {
      const r = await runJsonDriver<{ results: { values?: string[]; error?: string | null; seconds?: number }[] }>(
        PYTHON,
        [CLIENT],
        {
          bootstrap: sasl,
          ops: [
            {
              op: "roundtrip",
              mechanism,
              username: "alice",
              password: "alice-pw",
              topic: `py-${mechanism}`,
              values: ["a", "b", "c"],
            },
            { op: "badlogin", mechanism, username: "alice", password: "wrong" },
          ],
        },
        { broker, timeoutMs: 90_000 },
      );
      assert.deepEqual(r.results[0], { values: ["a", "b", "c"] });
      assert.match(String(r.results[1]!.error), /SASL authentication error: Authentication failed/);
      assert.ok(r.results[1]!.seconds! < 10, `the wrong password took ${r.results[1]!.seconds} s to fail`);
    });
  }

  for (const mechanism of ["scram-sha-256", "scram-sha-512"] as const) {
    test(`KafkaJS produces and consumes with ${mechanism}; a wrong password is rejected`, async () => {
      const kafka = new Kafka({
        brokers: [sasl],
        clientId: `kafkajs-sasl-${mechanism}`,
        logLevel: logLevel.NOTHING,
        sasl: { mechanism, username: "alice", password: "alice-pw" } as SASLOptions,
      });
      const topic = `kafkajs-${mechanism}`;
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: "x" }, { value: "y" }] });
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: `g-${mechanism}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await waitFor("both records", () => (seen.length >= 2 ? seen : undefined), 30_000);
      await consumer.disconnect();
      assert.deepEqual(seen, ["x", "y"]);
      const bad = new Kafka({
        brokers: [sasl],
        clientId: "kafkajs-sasl-bad",
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        sasl: { mechanism, username: "alice", password: "wrong" } as SASLOptions,
      }).admin();
      const t0 = Date.now();
      await assert.rejects(bad.connect(), /SASL .*[Aa]uthentication failed/);
      assert.ok(Date.now() - t0 < 10_000);
    });
  }

  test("a client that skips SASL is disconnected and nothing it sent is stored", async () => {
    const p = spawnSync("kcat", ["-b", sasl, "-P", "-t", "unauthenticated", "-m", "5"], {
      input: "x\n",
      timeout: 30_000,
    });
    assert.notEqual(p.status, 0);
    assert.match(p.stderr.toString(), /Disconnected|transport failure|SASL/);
    await waitFor(
      "the broker's log of the refusal",
      () => /Refused a request before SASL authentication/.test(broker.log()) || undefined,
    );
    // (Listing every topic: asking for this one by name would create it.)
    const list = spawnSync("kcat", ["-b", broker.bootstrap, "-L", "-m", "5"], { timeout: 30_000 });
    assert.equal(list.status, 0, list.stderr.toString());
    assert.doesNotMatch(list.stdout.toString(), /unauthenticated/, "the topic was never created");
  });

  test("kbin's own commands authenticate with --command-config (Kafka client properties) on the SASL listener", async () => {
    const props = join(dataDir, "client.properties");
    writeFileSync(
      props,
      [
        "security.protocol=SASL_PLAINTEXT",
        "sasl.mechanism=SCRAM-SHA-512",
        'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-pw";',
      ].join("\n"),
    );
    const ok = await kbin(["topic", "list", "-b", sasl, "--command-config", props]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /kcat-plain/);
    writeFileSync(
      props,
      "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=admin\nsasl.password=nope\n",
    );
    const bad = await kbin(["topic", "list", "-b", sasl, "--command-config", props]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Cannot authenticate to .* as admin with PLAIN: Authentication failed/);
  });

  test("kbin user list shows both users with their mechanisms; delete removes one, whose logins then fail", async () => {
    const listed = await kbin(["user", "list", "--json", "-b", broker.bootstrap]);
    assert.equal(listed.code, 0, listed.stderr);
    const users = JSON.parse(listed.stdout) as { user: string; mechanisms: { mechanism: string }[] }[];
    assert.deepEqual(users.map((u) => [u.user, u.mechanisms.map((m) => m.mechanism)]), [
      ["admin", ["SCRAM-SHA-256", "SCRAM-SHA-512"]],
      ["alice", ["SCRAM-SHA-256", "SCRAM-SHA-512"]],
    ]);
    const del = await kbin(["user", "delete", "alice", "-b", broker.bootstrap]);
    assert.equal(del.code, 0, del.stderr);
    const r = await runJsonDriver<{ results: { error?: string | null }[] }>(PYTHON, [CLIENT], {
      bootstrap: sasl,
      ops: [{ op: "badlogin", mechanism: "SCRAM-SHA-256", username: "alice", password: "alice-pw" }],
    }, { broker });
    assert.match(String(r.results[0]!.error), /SASL authentication error/);
    const again = await kbin(["user", "delete", "alice", "-b", broker.bootstrap]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /does not exist/);
  });
});
