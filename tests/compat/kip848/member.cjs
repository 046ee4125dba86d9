// A librdkafka 2.12 consumer (node-rdkafka) in a KIP-848 group (group.protocol=consumer).
// Usage: node member.cjs NODE_MODULES_DIR BOOTSTRAP GROUP CLIENT_ID '["topic","^regex.*"]' '{"extra":"conf"}'
// Prints JSON lines: ready; assign/revoke {parts, owned} ("topic:partition", what the rebalance
// callback got and what is owned after it); msg {topic, p, o, v}; commit {topic, p, o} (the broker
// acknowledged next offset o); error {name, str}; closed. SIGTERM closes (the member leaves the
// group with epoch -1); SIGKILL is a crash.
"use strict";
const path = require("node:path");
const [modules, bootstrap, group, clientId, topicsJson, extraJson] = process.argv.slice(2);
const Kafka = require(path.join(modules, "node-rdkafka"));

const emit = (ev, fields = {}) => process.stdout.write(JSON.stringify({ ev, t: Date.now(), ...fields }) + "\n");
const owned = new Set();
const keys = (tps) => tps.map((tp) => `${tp.topic}:${tp.partition}`).sort();

const consumer = new Kafka.KafkaConsumer({
  "bootstrap.servers": bootstrap,
  "group.id": group,
  "client.id": clientId,
  "group.protocol": "consumer",
  "enable.auto.commit": false,
  "event_cb": true,
  "rebalance_cb": function (err, assignment) {
    const parts = keys(assignment);
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      this.incrementalAssign(assignment);
      parts.forEach((p) => owned.add(p));
      emit("assign", { parts, owned: [...owned].sort(), protocol: this.rebalanceProtocol() });
    } else {
      this.incrementalUnassign(assignment);
      parts.forEach((p) => owned.delete(p));
      emit("revoke", { parts, owned: [...owned].sort() });
    }
  },
  "offset_commit_cb": (err, offsets) => {
    for (const o of offsets) {
      if (err || o.error) {
        emit("error", { name: "commit", str: String(err ?? o.error), topic: o.topic, p: o.partition });
      } else emit("commit", { topic: o.topic, p: o.partition, o: o.offset });
    }
  },
  ...JSON.parse(extraJson),
}, { "auto.offset.reset": "earliest" });

// With "debug" in the extra settings, librdkafka's log goes to stderr.
consumer.on("event.log", (log) => process.stderr.write(`${log.fac} ${log.message}\n`));
consumer.on("event.error", (e) => emit("error", { name: String(e.code), str: e.message }));
consumer.on("ready", () => {
  // node-rdkafka passes a RegExp's source; librdkafka treats a name starting with ^ as a regex.
  consumer.subscribe(JSON.parse(topicsJson).map((t) => (t.startsWith("^") ? new RegExp(t) : t)));
  emit("ready");
  consumer.setDefaultConsumeTimeout(50);
  poll();
});
// Not flowing mode (disconnect() can hang while its loop runs): one consume() at a time, which
// returns after 5 records or 50 ms without one, so SIGTERM closes between two calls.
let closing = false;
function poll() {
  if (closing) return consumer.disconnect(() => (emit("closed"), process.exit(0)));
  consumer.consume(5, (err, messages) => {
    if (err) emit("error", { name: String(err.code), str: err.message });
    for (const m of messages ?? []) {
      emit("msg", { topic: m.topic, p: m.partition, o: m.offset, v: m.value.toString() });
      consumer.commit({ topic: m.topic, partition: m.partition, offset: m.offset + 1 });
    }
    setImmediate(poll);
  });
}
process.on("SIGTERM", () => (closing = true));
consumer.connect();
