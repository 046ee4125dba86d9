/**
 * One KafkaJS consumer-group member for the group compat tests, run as its own process so a test
 * can SIGKILL it.
 *
 * Usage: bun kafkajs_member.ts HOST:PORT TOPIC GROUP '{"sessionTimeout": 2000, ...}'
 *
 * The JSON object holds extra `kafka.consumer()` options. Prints the JSON lines described in
 * rdkafka_member.py ("ready", "assign" with the whole assignment since KafkaJS is eager, "msg",
 * "commit", "error", "closed"), plus `{"ev": "request", "api": NAME, "version": VERSION}` the first
 * time KafkaJS sends each API version, and `{"ev": "rebalancing"}`.
 * Every record is committed with `consumer.commitOffsets()` before the next one is processed.
 *
 * @module
 */

import { Kafka, type LogEntry, logLevel } from "kafkajs";

const [bootstrap, topic, group, extra] = process.argv.slice(2) as [string, string, string, string];

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...event, t: Date.now() }) + "\n");
}

const sent = new Set<string>();
function logCreator() {
  return ({ level, log }: LogEntry) => {
    const m = /^Request (\w+)\(key: (\d+), version: (\d+)\)/.exec(log.message ?? "");
    if (m && !sent.has(`${m[1]}/${m[3]}`)) {
      sent.add(`${m[1]}/${m[3]}`);
      emit({ ev: "request", api: m[1], version: Number(m[3]) });
    }
    if (level <= logLevel.ERROR) emit({ ev: "error", name: String(log.error ?? ""), str: log.message ?? "" });
  };
}

const kafka = new Kafka({ brokers: [bootstrap], clientId: "kbin-groups", logLevel: logLevel.DEBUG, logCreator });
const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: 2000,
  heartbeatInterval: 300,
  maxWaitTimeInMs: 100,
  ...JSON.parse(extra),
});
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const owned = [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  emit({ ev: "assign", parts: owned, owned, leader: payload.isLeader, memberId: payload.memberId });
});
consumer.on(consumer.events.REBALANCING, () => emit({ ev: "rebalancing" }));
consumer.on(consumer.events.CRASH, ({ payload }) => emit({ ev: "error", name: "CRASH", str: String(payload.error) }));

let closing = false;
process.on("SIGTERM", async () => {
  closing = true;
  await consumer.disconnect();
  emit({ ev: "closed" });
  process.exit(0);
});

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
emit({ ev: "ready" });
await consumer.run({
  autoCommit: false,
  eachMessage: async ({ partition, message }) => {
    if (closing) return;
    const o = Number(message.offset);
    emit({ ev: "msg", p: partition, o, v: message.value?.toString() });
    await consumer.commitOffsets([{ topic, partition, offset: String(o + 1) }]);
    emit({ ev: "commit", p: partition, o: o + 1 });
  },
});
