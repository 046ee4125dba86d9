/**
 * Three kbin brokers on one PostgreSQL, as librdkafka (confluent-kafka-python) and KafkaJS see
 * them. Topics and configs made through one broker are used through the others; then, round after
 * round, an idempotent acks=all producer of each client writes one topic while a consumer group of
 * each client (two members each) reads it, one broker is killed with SIGKILL under that load and
 * restarted with its node id: every acknowledged record reaches both groups, and the restarted
 * broker leads again. Prints how long clients stalled after each kill. Covered and knowingly
 * skipped: ALLOWLIST.md; gaps: FINDINGS.md.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Consumer, Kafka, logLevel, type Producer } from "kafkajs";
import { sharedPostgres, stopSharedPostgres } from "../../support/postgres.ts";
import { followJsonLines, PYTHON, pythonMissing, waitFor } from "../shared/kbin.ts";
import { PgCluster } from "./cluster.ts";
import { KafkaConnection } from "../../../src/client/connection.ts";
import { FIND_COORDINATOR_API } from "../../../src/protocol/generated/10_find_coordinator.ts";
import { connect } from "../../support/runtime.ts";

after(stopSharedPostgres);
const CLIENTS = fileURLToPath(new URL("./clients.py", import.meta.url));
const MISSING = pythonMissing("confluent_kafka");
/** Kill rounds (KBIN_FAILOVER_ROUNDS overrides; the issue asks for 10 in a row with nothing lost). */
const ROUNDS = Number(process.env["KBIN_FAILOVER_ROUNDS"] ?? 10);
const PARTITIONS = 12;

interface PyEvent {
  ev: string;
  v?: string;
  vs?: string[];
  p?: number;
  s?: number;
  t?: number;
  err?: string;
  parts?: number[];
}

/** A confluent-kafka client process of clients.py, its events gathered as they come. */
class PyClient {
  readonly child: ChildProcess;
  readonly events: PyEvent[] = [];
  readonly exited: Promise<number | null>;
  stderr = "";

  constructor(args: string[]) {
    this.child = spawn(PYTHON, [CLIENTS, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    followJsonLines<PyEvent>(this.child.stdout!, (e) => this.events.push(e));
    this.exited = new Promise((resolve) => this.child.on("exit", resolve));
  }

  kill(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    return this.exited;
  }
}

/** A running producer: what the cluster acknowledged: partition, when sent and when acknowledged. */
interface RunningProducer {
  acked: Map<string, { p: number; s: number; t: number }>;
  stop(): Promise<void>;
}

function pythonProducer(bootstrap: string, topic: string): RunningProducer & { client: PyClient } {
  const client = new PyClient(["produce", bootstrap, topic, "py", "150"]);
  const acked = new Map<string, { p: number; s: number; t: number }>();
  const seen = { at: 0 };
  const collect = () => {
    for (; seen.at < client.events.length; seen.at++) {
      const e = client.events[seen.at]!;
      if (e.ev === "ack") acked.set(e.v!, { p: e.p!, s: e.s!, t: e.t! });
    }
  };
  const timer = setInterval(collect, 20);
  return {
    client,
    acked,
    async stop() {
      client.child.stdin!.end();
      const code = await Promise.race([client.exited, new Promise((r) => setTimeout(() => r("timeout"), 70_000))]);
      clearInterval(timer);
      collect();
      assert.equal(code, 0, `the confluent-kafka producer exited with ${code}:\n${client.stderr.slice(-3000)}`);
    },
  };
}

function kafkajsProducer(kafka: Kafka, topic: string): RunningProducer {
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const acked = new Map<string, { p: number; s: number; t: number }>();
  let running = true;
  const loop = (async () => {
    await producer.connect();
    for (let seq = 0; running; seq++) {
      const value = `js-${seq}`;
      const sent = Date.now();
      try {
        const [r] = await producer.send({ topic, acks: -1, messages: [{ key: String(seq), value }] });
        acked.set(value, { p: r!.partition, s: sent, t: Date.now() });
      } catch {
        // Not acknowledged: the record may or may not be in the log, and nothing is claimed about it.
      }
      await new Promise((r) => setTimeout(r, 7));
    }
    await producer.disconnect();
  })();
  return {
    acked,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** A consumer group: what its members received (at least once). */
interface RunningGroup {
  received: Set<string>;
  stop(): Promise<void>;
}

function pythonGroup(bootstrap: string, topic: string, group: string): RunningGroup {
  const members = [0, 1].map(() => new PyClient(["consume", bootstrap, topic, group]));
  const received = new Set<string>();
  const seen = members.map(() => 0);
  const timer = setInterval(() => {
    members.forEach((m, i) => {
      for (; seen[i]! < m.events.length; seen[i]!++) for (const v of m.events[seen[i]!]!.vs ?? []) received.add(v);
    });
  }, 20);
  return {
    received,
    async stop() {
      clearInterval(timer);
      for (const m of members) {
        m.child.kill("SIGTERM");
        await Promise.race([m.exited, new Promise((r) => setTimeout(r, 10_000))]);
        await m.kill();
      }
    },
  };
}

async function kafkajsGroup(kafka: Kafka, topic: string, group: string): Promise<RunningGroup> {
  const received = new Set<string>();
  const members: Consumer[] = [];
  for (let i = 0; i < 2; i++) {
    const c = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: ({ message }) => Promise.resolve(void received.add(message.value!.toString())) });
    members.push(c);
  }
  return {
    received,
    async stop() {
      for (const c of members) await c.disconnect();
    },
  };
}

/** Partition leaders of a topic as KafkaJS's admin sees them. */
async function leaders(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const m = await admin.fetchTopicMetadata({ topics: [topic] });
    return new Map(m.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]));
  } finally {
    await admin.disconnect();
  }
}

describe("scale-out: three brokers on one PostgreSQL", { skip: MISSING }, () => {
  let cluster: PgCluster;
  const kafkaOf = (bootstrap: string, clientId: string) =>
    new Kafka({
      brokers: bootstrap.split(","),
      clientId,
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 200, retries: 12, maxRetryTime: 2000 },
    });

  before(async () => {
    cluster = await PgCluster.start("kbin_scale_out");
  });
  after(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  test("topics and configs made through one broker are used through the others", { timeout: 60_000 }, async () => {
    const [b1, b2, b3] = cluster.brokers.map((b) => b.process.bootstrap) as [string, string, string];
    const admin1 = kafkaOf(b1, "so-admin").admin();
    await admin1.connect();
    assert.equal(await admin1.createTopics({ topics: [{ topic: "so-shared", numPartitions: 6 }] }), true);
    // Every broker learns of the others within a few polls (250 ms) of their joining: two answers
    // in a row list all three.
    let seen = 0;
    await waitFor("broker 1 to list all three brokers", async () => {
      const ids = (await admin1.describeCluster()).brokers.map((b) => b.nodeId).sort().join();
      seen = ids === "1,2,3" ? seen + 1 : 0;
      return seen >= 2 ? true : undefined;
    }, 3000);
    await admin1.disconnect();
    // Leaders are spread over the three brokers; broker 3 knows the topic within a second.
    const led = await waitFor(
      "the topic through broker 3",
      () =>
        leaders(new Kafka({ brokers: [b3], clientId: "so-meta", logLevel: logLevel.NOTHING }), "so-shared")
          .catch(() => undefined),
      1000,
    );
    assert.equal(led.size, 6);
    assert.ok(new Set(led.values()).size >= 2, `six partitions all led by one broker: ${[...led]}`);

    // A config set through broker 2 is seen through broker 3 within a second.
    const admin2 = kafkaOf(b2, "so-admin2").admin();
    await admin2.connect();
    await admin2.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: "so-shared", configEntries: [{ name: "retention.ms", value: "123456" }] }],
    });
    await admin2.disconnect();
    const admin3 = new Kafka({ brokers: [b3], clientId: "so-admin3", logLevel: logLevel.NOTHING }).admin();
    await admin3.connect();
    const t0 = Date.now();
    await waitFor("the config through broker 3", async () => {
      const r = await admin3.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: "so-shared", configNames: ["retention.ms"] }],
      });
      return r.resources[0]!.configEntries[0]?.configValue === "123456" ? true : undefined;
    }, 5000);
    assert.ok(Date.now() - t0 < 1500, `the config took ${Date.now() - t0} ms to reach broker 3`);
    await admin3.disconnect();

    // KafkaJS produces through broker 2 only; confluent-kafka reads through broker 3 only.
    const producer = new Kafka({ brokers: [b2], clientId: "so-p", logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({
      topic: "so-shared",
      acks: -1,
      messages: Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    });
    await producer.disconnect();
    const group = pythonGroup(b3, "so-shared", "so-shared-readers");
    try {
      await waitFor("60 records through broker 3", () => (group.received.size === 60 ? true : undefined), 30_000);
    } finally {
      await group.stop();
    }
  });

  test(`kill -9 one broker under load, ${ROUNDS} times: clients carry on, nothing acknowledged is lost`, {
    timeout: ROUNDS * 90_000,
  }, async () => {
    const stalls: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const topic = `so-round-${round}`;
      const kafka = kafkaOf(cluster.bootstrap, `so-${round}`);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      await admin.disconnect();
      // Brokers take turns; one that happens to lead none of this round's partitions (rendezvous
      // placement can do that) gives its turn to the leader of partition 0.
      const placed = await leaders(kafka, topic);
      const turn = (round % 3) + 1;
      const victim = [...placed.values()].includes(turn) ? turn : placed.get(0)!;
      const victimPartitions = [...placed].filter(([, l]) => l === victim).map(([p]) => p);

      const jsGroup = await kafkajsGroup(kafka, topic, `${topic}-js`);
      const pyGroup = pythonGroup(cluster.bootstrap, topic, `${topic}-py`);
      const py = pythonProducer(cluster.bootstrap, topic);
      const js = kafkajsProducer(kafka, topic);
      try {
        await waitFor(
          "both producers under way",
          () => (py.acked.size > 200 && js.acked.size > 50 ? true : undefined),
          30_000,
        );
        const killedAt = Date.now();
        await cluster.kill(victim);
        // When librdkafka first acknowledged a record sent after the kill to a partition the killed broker led.
        const resumed = await waitFor("the producer to carry on at the new leaders", () => {
          let first = Infinity;
          for (const { p, s, t } of py.acked.values()) {
            if (s > killedAt && victimPartitions.includes(p)) first = Math.min(first, t);
          }
          return first === Infinity ? undefined : first;
        }, 30_000).catch((err) => {
          const fails = py.client.events.filter((e) => e.ev !== "ack").slice(0, 20);
          const last = [...py.acked.values()].sort((a, b) => b.t - a.t)[0];
          throw new Error(
            `${err.message}\nkilled at ${killedAt}, victim partitions ${victimPartitions}; last ack ${
              JSON.stringify(last)
            }; ` +
              `other producer events ${JSON.stringify(fails)}\nproducer stderr: ${py.client.stderr.slice(-3000)}\n` +
              cluster.logs(),
          );
        });
        stalls.push(resumed - killedAt);
        await cluster.restart(victim);
        // The restarted broker rejoins: listed, and leading partitions again.
        await waitFor("the restarted broker to lead again", async () => {
          const led = await leaders(kafka, topic).catch(() => new Map<number, number>());
          return [...led.values()].includes(victim) ? true : undefined;
        }, 30_000);
        const afterRestart = py.acked.size;
        await waitFor(
          "records acknowledged after the restart",
          () => (py.acked.size > afterRestart + 100 ? true : undefined),
          30_000,
        );
      } finally {
        await py.stop();
        await js.stop();
        // A failed round leaves no broker down for the tests after it.
        await cluster.restartKilled();
      }
      const acked = [...py.acked.keys(), ...js.acked.keys()];
      for (const [name, group] of [["KafkaJS", jsGroup], ["confluent-kafka", pyGroup]] as const) {
        await waitFor(`the ${name} group to read every acknowledged record`, () => {
          return acked.every((v) => group.received.has(v)) ? true : undefined;
        }, 60_000).catch((err) => {
          const lost = acked.filter((v) => !group.received.has(v));
          throw new Error(
            `round ${round}: ${name} group misses ${lost.length} of ${acked.length}: ${
              lost.slice(0, 10)
            } (${err.message})`,
          );
        });
      }
      await jsGroup.stop();
      await pyGroup.stop();
      console.log(
        `round ${round}: killed broker ${victim} (led ${victimPartitions.length}/${PARTITIONS} partitions); ` +
          `librdkafka acknowledged its partitions again ${
            stalls[round]
          } ms later; ${py.acked.size} + ${js.acked.size} ` +
          `records acknowledged, 0 lost in either group`,
      );
    }
    const sorted = [...stalls].sort((a, b) => a - b);
    console.log(
      `takeover as librdkafka saw it over ${ROUNDS} kills: min ${sorted[0]} ms, median ${
        sorted[sorted.length >> 1]
      } ms, max ${sorted[sorted.length - 1]} ms`,
    );
  });

  /** Produces with confluent-kafka while `disrupt` runs; every acknowledged record must reach a confluent-kafka group. */
  async function underLoad(topic: string, disrupt: (py: RunningProducer) => Promise<void>): Promise<number> {
    const kafka = kafkaOf(cluster.bootstrap, `so-${topic}`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const group = pythonGroup(cluster.bootstrap, topic, `${topic}-py`);
    const py = pythonProducer(cluster.bootstrap, topic);
    try {
      await waitFor("the producer under way", () => (py.acked.size > 200 ? true : undefined), 30_000);
      await disrupt(py);
      const now = py.acked.size;
      await waitFor("records acknowledged afterwards", () => (py.acked.size > now + 150 ? true : undefined), 60_000);
    } finally {
      await py.stop().catch((err) => {
        const errors = cluster.brokers.map((b) =>
          b.process.log().split("\n").filter((l) => / ERROR | WARN /.test(l)).slice(-15).join("\n")
        );
        throw new Error(`${(err as Error).message}\nbroker warnings and errors:\n${errors.join("\n---\n")}`);
      });
    }
    const acked = [...py.acked.keys()];
    try {
      await waitFor(
        "the group to read every acknowledged record",
        () => acked.every((v) => group.received.has(v)) ? true : undefined,
        60_000,
      ).catch((err) => {
        const lost = acked.filter((v) => !group.received.has(v));
        throw new Error(`the group misses ${lost.length} of ${acked.length}: ${lost.slice(0, 10)} (${err.message})`);
      });
    } finally {
      await group.stop();
    }
    return acked.length;
  }

  test("a broker paused past its lease is fenced, its partitions move, and it rejoins when resumed", {
    timeout: 180_000,
  }, async () => {
    const victim = cluster.broker(2).process;
    let stall = 0;
    const acked = await underLoad("so-paused", async (py) => {
      const meta = kafkaOf(cluster.brokers[0]!.process.bootstrap, "so-pause-meta");
      const victimPartitions = [...(await leaders(meta, "so-paused"))].filter(([, l]) => l === 2).map(([p]) => p);
      const pausedAt = Date.now();
      victim.child.kill("SIGSTOP");
      try {
        // The others expel it once its lease (6 s) expires, and its partitions take writes again.
        const resumed = await waitFor("writes to go on without the paused broker", () => {
          let first = Infinity;
          for (const { p, s, t } of py.acked.values()) {
            if (s > pausedAt && victimPartitions.includes(p)) first = Math.min(first, t);
          }
          return first === Infinity ? undefined : first;
        }, 30_000);
        stall = resumed - pausedAt;
        const led = await leaders(meta, "so-paused");
        assert.ok(![...led.values()].includes(2), `the paused broker still leads: ${[...led]}`);
        assert.ok(victimPartitions.length === 0 || stall >= 6000, `writes went on after ${stall} ms, within the lease`);
      } finally {
        victim.child.kill("SIGCONT");
      }
    });
    // Resumed, it finds its lease gone, registers again and leads again.
    await waitFor("the resumed broker to lead again", async () => {
      const led = await leaders(kafkaOf(cluster.bootstrap, "so-resume-meta"), "so-paused").catch(() => new Map());
      return [...led.values()].includes(2) ? true : undefined;
    }, 30_000);
    assert.match(victim.log(), /lease had expired and its roles moved; registering again/);
    console.log(`paused broker: writes went on ${stall} ms after the pause; ${acked} records acknowledged, 0 lost`);
  });

  test(
    "PostgreSQL restarting under load: writes fail with retriable errors meanwhile, then go on; no broker is expelled",
    {
      timeout: 180_000,
    },
    async () => {
      const pg = await sharedPostgres();
      const logged = cluster.brokers.map((b) => b.process.log().length);
      let restartMs = 0;
      const acked = await underLoad("so-pg-restart", () => {
        const t0 = Date.now();
        pg.restart();
        restartMs = Date.now() - t0;
        return Promise.resolve();
      });
      const admin = kafkaOf(cluster.bootstrap, "so-pg-meta").admin();
      await admin.connect();
      assert.deepEqual((await admin.describeCluster()).brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      await admin.disconnect();
      cluster.brokers.forEach((b, i) => assert.doesNotMatch(b.process.log().slice(logged[i]), /expelled="?\d/));
      console.log(`PostgreSQL restart (${restartMs} ms down): ${acked} records acknowledged, 0 lost`);
    },
  );

  test(
    "a broker whose machine vanished (paused, never resumed) is replaced by a new process with its node id once its lease expired",
    {
      timeout: 120_000,
    },
    async () => {
      const old = cluster.broker(3).process;
      old.child.kill("SIGSTOP");
      const stoppedAt = Date.now();
      // Within the lease the node id is still taken: a second process with it is refused.
      await assert.rejects(cluster.replace(3), /a live broker holds that node id/);
      cluster.broker(3).process = old;
      await new Promise((r) => setTimeout(r, Math.max(0, 7000 - (Date.now() - stoppedAt))));
      const fresh = await cluster.replace(3);
      assert.match(fresh.log(), /Ended the PostgreSQL session of an earlier broker with this node id/);
      const kafka = kafkaOf(cluster.bootstrap, "so-replaced");
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "so-replaced", numPartitions: PARTITIONS }], waitForLeaders: true });
      // Every broker lists the new process as node 3 within a poll of its joining.
      const brokers = await waitFor("node 3 at its new address", async () => {
        const listed = (await admin.describeCluster()).brokers;
        return listed.find((b) => b.nodeId === 3)?.port === fresh.port && listed.length === 3 ? listed : undefined;
      }, 5000);
      await admin.disconnect();
      assert.deepEqual(brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const sent = await producer.send({
        topic: "so-replaced",
        acks: -1,
        messages: Array.from({ length: PARTITIONS * 4 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      });
      await producer.disconnect();
      assert.equal(sent.every((r) => r.errorCode === 0), true);
      // Placement counts node 3 once every broker sees its lease: it then leads some partitions.
      await waitFor(
        "node 3 leading a partition of the new topic",
        async () => [...(await leaders(kafka, "so-replaced")).values()].includes(3) || undefined,
        10_000,
      );
    },
  );

  test(
    "exactly once across a coordinator's death: kill -9 the transaction coordinator's broker under a consume-transform-produce processor; every input record reaches the output once",
    { timeout: 120_000 },
    async () => {
      const kafka = kafkaOf(cluster.bootstrap, "kafkajs-so-eos");
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic: "so-eos-in", numPartitions: 6 }, { topic: "so-eos-out", numPartitions: 6 }],
        waitForLeaders: true,
      });
      await admin.disconnect();
      const TOTAL = 1200;
      const producer = kafka.producer();
      await producer.connect();
      for (let i = 0; i < TOTAL; i += 200) {
        await producer.send({
          topic: "so-eos-in",
          acks: -1,
          messages: Array.from({ length: 200 }, (_, j) => ({ key: `k${i + j}`, value: `r-${i + j}` })),
        });
      }
      await producer.disconnect();
      // The broker that coordinates the processor's transactional id.
      const txnId = "so-eos-processor";
      const conn = await KafkaConnection.open("127.0.0.1", cluster.broker(1).process.port, { connect });
      const found = await conn.request(FIND_COORDINATOR_API, 4, { key: "", keyType: 1, coordinatorKeys: [txnId] });
      conn.close();
      const coordinator = found.coordinators[0]!.nodeId;
      assert.ok([1, 2, 3].includes(coordinator), `coordinator ${coordinator}`);
      const processor = new PyClient([
        "eos",
        cluster.bootstrap,
        txnId,
        "so-eos-group",
        "so-eos-in",
        "so-eos-out",
        String(TOTAL),
      ]);
      try {
        await waitFor(
          "two committed transactions",
          () => processor.events.filter((e) => e.ev === "txn").length >= 2 || undefined,
          60_000,
        );
        await cluster.kill(coordinator);
        const killedAt = processor.events.filter((e) => e.ev === "txn").at(-1)!;
        const code = await Promise.race([processor.exited, new Promise((r) => setTimeout(() => r("timeout"), 90_000))]);
        assert.equal(
          code,
          0,
          `the processor exited with ${code}:\n${processor.stderr.slice(-3000)}\n${cluster.logs()}`,
        );
        const errors = processor.events.filter((e) => e.ev === "txnerr").length;
        console.log(
          `exactly once: coordinator ${coordinator} killed after ${
            JSON.stringify(killedAt)
          }; ${errors} transactional errors met`,
        );
      } finally {
        await processor.kill();
        await cluster.restartKilled();
      }
      // A read_committed reader of the output sees every input exactly once.
      const consumer = kafka.consumer({ groupId: "so-eos-check", readUncommitted: false });
      await consumer.connect();
      await consumer.subscribe({ topic: "so-eos-out", fromBeginning: true });
      const seen: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await waitFor(`${TOTAL} output records`, () => seen.length >= TOTAL || undefined, 60_000);
      await new Promise((r) => setTimeout(r, 1000)); // duplicates, if any, would follow
      await consumer.disconnect();
      const counts = new Map<string, number>();
      for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
      const missing = Array.from({ length: TOTAL }, (_, i) => `R-${i}`).filter((v) => !counts.has(v));
      const twice = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
      assert.deepEqual({ missing: missing.slice(0, 10), twice: twice.slice(0, 10), size: counts.size }, {
        missing: [],
        twice: [],
        size: TOTAL,
      });
    },
  );
});
