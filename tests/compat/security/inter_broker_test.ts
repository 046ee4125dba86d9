/**
 * Two brokers on one PostgreSQL with two SASL_SSL listeners each: CLIENT (SCRAM-SHA-256, for
 * clients) and BROKER (SCRAM-SHA-512, `inter.broker.listener.name`), ACLs on and only the brokers'
 * own principal and the admin as super users. Brokers log in to each other over BROKER with
 * `sasl.mechanism.inter.broker.protocol` and the listener's JAAS credentials, verifying each
 * other's certificate against the trust store; clients are told every broker's CLIENT address.
 * confluent-kafka (librdkafka) commits and aborts transactions whose partitions are led by both
 * brokers — the other broker's markers travel through the inter-broker client — and reads
 * exactly the committed records with read_committed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUN, MAIN } from "../../support/broker_process.ts";
import { makeTestCerts, type TestCerts } from "../../support/certs.ts";
import { postgresBinDir, sharedPostgres, stopSharedPostgres } from "../../support/postgres.ts";
import { PgCluster } from "../scale_out/cluster.ts";
import { PYTHON, pythonMissing, run, runJsonDriver, waitFor } from "../shared/kbin.ts";

after(stopSharedPostgres);

const TXN_CLIENT = fileURLToPath(new URL("../transactions/txn_client.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka") ||
  (postgresBinDir() === null && process.env["CI"] !== "true" ? "PostgreSQL is not installed" : false);

describe("inter-broker SASL_SSL between two brokers on PostgreSQL", { skip: MISSING }, () => {
  let certs: TestCerts;
  let cluster: PgCluster;
  const clientPorts = new Map<number, number>();
  let bootstrap = "";
  let props = "";
  const f = (name: string) => join(certs.dir, name);
  const kbin = (args: string[], input = "") => run(BUN, [MAIN, ...args], { input, timeoutMs: 60_000 });
  let conf: Record<string, string> = {};

  before(async () => {
    certs = makeTestCerts();
    const keystore = f("broker-keystore.pem");
    writeFileSync(keystore, certs.server.key + certs.server.cert);
    const settings = [
      "listeners=CLIENT://127.0.0.1:0,BROKER://127.0.0.1:0",
      "listener.security.protocol.map=CLIENT:SASL_SSL,BROKER:SASL_SSL",
      "inter.broker.listener.name=BROKER",
      "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
      "listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-256",
      "listener.name.broker.sasl.enabled.mechanisms=SCRAM-SHA-512",
      'listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-pw";',
      "ssl.keystore.type=PEM",
      `ssl.keystore.location=${keystore}`,
      "ssl.truststore.type=PEM",
      `ssl.truststore.location=${f("ca.pem")}`,
      "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users=User:broker;User:admin",
      "kbin.cluster.lease.ms=3000",
      "kbin.cluster.heartbeat.ms=200",
    ].flatMap((s) => ["--set", s]);
    // The users exist before the brokers start (kbin user --local on the same storage).
    const url = (await sharedPostgres()).createDatabase(`kbin_inter_broker_${process.pid}`);
    for (const [user, password] of [["broker", "broker-pw"], ["admin", "admin-pw"]]) {
      const added = await kbin(
        ["user", "add", user!, "--local", "--storage", url, "--password-stdin"],
        `${password}\n`,
      );
      assert.equal(added.code, 0, added.stderr);
    }
    cluster = await PgCluster.onDatabase(url, 2, settings);
    for (const b of cluster.brokers) {
      const port = await waitFor(
        "the CLIENT listener",
        () => /CLIENT=SASL_SSL:\/\/127\.0\.0\.1:(\d+)/.exec(b.process.log())?.[1],
      );
      clientPorts.set(b.nodeId, Number(port));
    }
    bootstrap = [...clientPorts.values()].map((p) => `127.0.0.1:${p}`).join(",");
    conf = {
      "security.protocol": "SASL_SSL",
      "ssl.ca.location": f("ca.pem"),
      "sasl.mechanisms": "SCRAM-SHA-256",
      "sasl.username": "admin",
      "sasl.password": "admin-pw",
    };
    props = f("admin.properties");
    writeFileSync(
      props,
      `security.protocol=SASL_SSL\nssl.truststore.location=${f("ca.pem")}\nsasl.mechanism=SCRAM-SHA-256\n` +
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-pw";\n`,
    );
  });
  after(async () => {
    await cluster?.[Symbol.asyncDispose]();
    certs?.remove();
  });

  test("transactions whose partitions both brokers lead commit and abort; markers cross over the BROKER listener", async () => {
    const created = await kbin([
      "topic",
      "create",
      "ib",
      "--partitions",
      "6",
      "-b",
      bootstrap,
      "--command-config",
      props,
    ]);
    assert.equal(created.code, 0, created.stderr);
    // Every broker answers with the CLIENT addresses, and each leads some of the partitions.
    const leaders = await waitFor("partitions led by both brokers", async () => {
      const d = await kbin(["topic", "describe", "ib", "-b", bootstrap, "--command-config", props]);
      const ids = [...d.stdout.matchAll(/Leader: (-?\d+)/g)].map((m) => Number(m[1]));
      return ids.length === 6 && ids.includes(1) && ids.includes(2) ? ids : undefined;
    }, 20_000);
    assert.equal(leaders.length, 6);
    const records = (tag: string) => [0, 1, 2, 3, 4, 5].map((p) => [p, `${tag}-${p}`]);
    const out = await runJsonDriver<{ results: Record<string, any>[] }>(PYTHON, [TXN_CLIENT], {
      bootstrap,
      ops: [
        {
          op: "transact",
          transactional_id: "ib-txn",
          topic: "ib",
          conf,
          transactions: [
            { records: records("kept"), commit: true },
            { records: records("dropped"), commit: false },
            { records: records("kept-too"), commit: true },
          ],
        },
        { op: "read", topic: "ib", partitions: [0, 1, 2, 3, 4, 5], isolation: "read_committed", conf, expect: 12 },
      ],
    }, { timeoutMs: 120_000 });
    const [transacted, read] = out.results;
    const logs = cluster.brokers.map((b) => b.process.log().slice(-3000)).join("\n---\n");
    assert.deepEqual(transacted, { ok: true }, logs);
    assert.equal(read!.timed_out, false, `${JSON.stringify(read)}\n${logs}`);
    assert.deepEqual(read!.errors, []);
    const values = (read!.values as [number, number, string][]).map((v) => v[2]).sort();
    assert.deepEqual(values, [...records("kept"), ...records("kept-too")].map((r) => r[1]).sort());
    for (const b of cluster.brokers) {
      assert.doesNotMatch(b.process.log(), /Denied an operation|SASL authentication failed|Cannot connect/);
    }
  });
});
