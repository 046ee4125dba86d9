/**
 * ACLs enforced through real clients: `kbin serve` with an authorizer, a PLAINTEXT listener for
 * the tools (its anonymous clients are super users) and a SASL_PLAINTEXT listener. alice may
 * write and read `orders` and read group `g` (ACLs made with `kbin acl add`); bob has no ACL.
 * KafkaJS as alice produces and consumes in the group; as bob it gets TOPIC_AUTHORIZATION_FAILED
 * and GROUP_AUTHORIZATION_FAILED; confluent-kafka as bob cannot deliver; alice's metadata lists
 * only what she may describe.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, type SASLOptions } from "kafkajs";
import { type BrokerProcess, BUN, MAIN, startBrokerProcess } from "../../support/broker_process.ts";
import { PYTHON, pythonMissing, run, runJsonDriver, waitFor } from "../shared/kbin.ts";
import { fileURLToPath } from "node:url";

const CLIENT = fileURLToPath(new URL("../security/sasl_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");

describe("ACLs enforced through real clients", { skip: MISSING }, () => {
  let broker: BrokerProcess;
  let sasl = "";
  const kbin = (args: string[], input = "") =>
    run(BUN, [MAIN, ...args, "-b", broker.bootstrap], { input, timeoutMs: 60_000 });
  const kafka = (user: string) =>
    new Kafka({
      brokers: [sasl],
      clientId: `kafkajs-acl-${user}`,
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 100 },
      sasl: { mechanism: "scram-sha-256", username: user, password: `${user}-pw` } as SASLOptions,
    });

  before(async () => {
    broker = await startBrokerProcess({
      args: [
        ...[
          "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
          "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
          "super.users=User:ANONYMOUS",
          "auto.create.topics.enable=false",
        ].flatMap((s) => ["--set", s]),
      ],
    });
    const port = await waitFor(
      "the SASL listener",
      () => /SASL_PLAINTEXT=SASL_PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(broker.log())?.[1],
    );
    sasl = `127.0.0.1:${port}`;
    for (const user of ["alice", "bob"]) {
      const r = await kbin(["user", "add", user, "--mechanism", "SCRAM-SHA-256", "--password-stdin"], `${user}-pw\n`);
      assert.equal(r.code, 0, r.stderr);
    }
    for (const args of [["topic", "create", "orders"], ["topic", "create", "hidden"]]) {
      const r = await kbin(args);
      assert.equal(r.code, 0, r.stderr);
    }
    for (
      const args of [
        ["--operation", "write", "--operation", "read", "--topic", "orders"],
        ["--operation", "read", "--group", "g"],
      ]
    ) {
      const r = await kbin(["acl", "add", "--allow", "--principal", "User:alice", ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await broker?.[Symbol.asyncDispose]();
  });

  test("KafkaJS as alice produces to orders and consumes it in group g; her metadata lists only orders", async () => {
    const producer = kafka("alice").producer();
    await producer.connect();
    await producer.send({ topic: "orders", messages: [{ value: "a1" }, { value: "a2" }] });
    await producer.disconnect();
    const consumer = kafka("alice").consumer({ groupId: "g" });
    await consumer.connect();
    await consumer.subscribe({ topic: "orders", fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor("alice's records", () => (seen.length >= 2 ? seen : undefined), 30_000);
    await consumer.disconnect();
    assert.deepEqual(seen, ["a1", "a2"]);
    const admin = kafka("alice").admin();
    await admin.connect();
    assert.deepEqual(await admin.listTopics(), ["orders"]);
    await admin.disconnect();
  });

  test("KafkaJS as bob is refused: TOPIC_AUTHORIZATION_FAILED to produce, GROUP_AUTHORIZATION_FAILED on the group", async () => {
    const producer = kafka("bob").producer();
    await producer.connect();
    await assert.rejects(
      producer.send({ topic: "orders", messages: [{ value: "b" }] }),
      (e: { type?: string; cause?: { type?: string } }) =>
        e.type === "TOPIC_AUTHORIZATION_FAILED" || e.cause?.type === "TOPIC_AUTHORIZATION_FAILED" ||
        /TOPIC_AUTHORIZATION_FAILED|not authorized to access topics/i.test(String(e)),
    );
    await producer.disconnect();
    const admin = kafka("bob").admin();
    await admin.connect();
    // KafkaJS reports FindCoordinator's GROUP_AUTHORIZATION_FAILED as "Failed to find group coordinator".
    await assert.rejects(admin.describeGroups(["g"]));
    await assert.rejects(admin.fetchOffsets({ groupId: "g", topics: ["orders"] }));
    await admin.disconnect();
    await waitFor(
      "the refusals in the broker's log",
      () =>
        (/Denied an operation principal=User:bob .*resource=TOPIC:orders/.test(
          broker.log(),
        ) &&
          /Denied an operation principal=User:bob .*operation=DESCRIBE resource=GROUP:g/.test(broker.log())) ||
        undefined,
    );
  });

  test("confluent-kafka as bob cannot deliver to orders; as alice it can", async () => {
    const base = { mechanism: "SCRAM-SHA-256", topic: "orders", values: ["c"], message_timeout_ms: 5000 };
    const r = await runJsonDriver<{ results: { values?: string[]; error?: string }[] }>(PYTHON, [CLIENT], {
      bootstrap: sasl,
      ops: [
        { op: "roundtrip", ...base, username: "bob", password: "bob-pw" },
        { op: "roundtrip", ...base, username: "alice", password: "alice-pw", group: "g" },
      ],
    }, { broker, timeoutMs: 120_000 });
    assert.match(String(r.results[0]!.error), /TOPIC_AUTHORIZATION_FAILED|Authorization/i);
    assert.equal(r.results[1]!.error, undefined, String(r.results[1]!.error));
    assert.ok(r.results[1]!.values!.includes("c"), "alice reads back what she wrote");
  });
});
