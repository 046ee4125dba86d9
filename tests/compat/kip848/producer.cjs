// Produces numbered records with librdkafka 2.12 (node-rdkafka): value i goes to partition i % PARTITIONS.
// Usage: node producer.cjs NODE_MODULES_DIR BOOTSTRAP TOPIC PARTITIONS FROM TO INTERVAL_MS
// TO = -1 produces one record every INTERVAL_MS until SIGTERM. Prints a JSON line
// {"ev":"sent","v","p","o"} per acknowledged record, then {"ev":"done"} once all are acknowledged.
"use strict";
const path = require("node:path");
const [modules, bootstrap, topic, partitionsArg, fromArg, toArg, intervalArg] = process.argv.slice(2);
const Kafka = require(path.join(modules, "node-rdkafka"));
const [partitions, from, to, intervalMs] = [partitionsArg, fromArg, toArg, intervalArg].map(Number);

const emit = (ev, fields = {}) => process.stdout.write(JSON.stringify({ ev, t: Date.now(), ...fields }) + "\n");
const producer = new Kafka.Producer({ "bootstrap.servers": bootstrap, "dr_msg_cb": true, "linger.ms": 2, "acks": -1 });
let next = from;
let reports = 0;
let timer = null;
// flush() can call back before the last delivery reports reach JS: wait for all of them.
const finish = () => {
  clearInterval(timer);
  producer.flush(10000, (err) => {
    if (err) emit("error", { name: "flush", str: String(err) });
    const check = setInterval(() => {
      if (reports < next - from) return;
      clearInterval(check);
      emit("done");
      producer.disconnect(() => process.exit(0));
    }, 10);
  });
};
const send = () => producer.produce(topic, next % partitions, Buffer.from(String(next++)));

producer.on("delivery-report", (err, r) => {
  reports++;
  if (err) emit("error", { name: "delivery", str: String(err) });
  else emit("sent", { v: r.value.toString(), p: r.partition, o: r.offset });
});
producer.on("event.error", (e) => emit("error", { name: String(e.code), str: e.message }));
producer.on("ready", () => {
  producer.setPollInterval(20);
  if (to >= 0) {
    while (next < to) send();
    finish();
  } else {
    timer = setInterval(send, intervalMs);
    process.on("SIGTERM", finish);
  }
});
producer.connect();
