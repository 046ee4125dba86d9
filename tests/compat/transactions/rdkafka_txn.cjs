// librdkafka 2.12 (node-rdkafka) transactions against kbin: one JSON plan on stdin, one JSON result on stdout.
// Usage: node rdkafka_txn.cjs NODE_MODULES_DIR < {"bootstrap", "ops": [...]}
// Ops:
//   version    -> {version}: librdkafka's version string
//   transact   {transactional_id, topic, transactions: [{records: [[partition, value]], commit}]} -> {ok}
//   read       {topic, partitions, isolation} -> {values: [[partition, offset, value]], errors, timed_out}
//   ctp        {transactional_id, group, source, sink, count}: consume-transform-produce: reads `count`
//              records of `source` (read_committed, subscribed), writes them upper-cased to the same partition
//              of `sink` and commits the input offsets in the same transaction (sendOffsetsToTransaction);
//              with `abort_first` the first batch is produced and its offsets sent, then the transaction is
//              aborted and the consumer rewound to the last committed offsets -> {written, aborted}
"use strict";
const path = require("node:path");
const Kafka = require(path.join(process.argv[2], "node-rdkafka"));

const T = 20000;
const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

async function producer(bootstrap, conf) {
  const p = new Kafka.Producer({ "bootstrap.servers": bootstrap, "linger.ms": 5, "dr_msg_cb": true, ...conf });
  p.setPollInterval(10);
  await cb((done) => p.connect({}, done));
  return p;
}

async function transact(bootstrap, op) {
  const p = await producer(bootstrap, { "transactional.id": op.transactional_id });
  await cb((done) => p.initTransactions(T, done));
  for (const t of op.transactions) {
    await cb((done) => p.beginTransaction(done));
    for (const [part, value] of t.records) p.produce(op.topic, part, Buffer.from(value));
    await cb((done) => p.flush(T, done));
    if (t.commit) await cb((done) => p.commitTransaction(T, done));
    else await cb((done) => p.abortTransaction(T, done));
  }
  await cb((done) => p.disconnect(done));
  return { ok: true };
}

async function read(bootstrap, op) {
  const c = new Kafka.KafkaConsumer({
    "bootstrap.servers": bootstrap,
    "group.id": "rk-txn-reader",
    "isolation.level": op.isolation,
    "enable.partition.eof": true,
    "enable.auto.commit": false,
    "fetch.wait.max.ms": 10,
  }, {});
  await cb((done) => c.connect({}, done));
  const values = [];
  const errors = [];
  const eof = new Set();
  c.on("partition.eof", (e) => eof.add(e.partition));
  c.assign(op.partitions.map((partition) => ({ topic: op.topic, partition, offset: 0 })));
  const deadline = Date.now() + 20000;
  while (eof.size < op.partitions.length && Date.now() < deadline) {
    const batch = await cb((done) => c.consume(100, done)).catch((e) => (errors.push(String(e)), []));
    for (const m of batch) values.push([m.partition, m.offset, m.value.toString()]);
  }
  await cb((done) => c.disconnect(done));
  return { values, errors, timed_out: eof.size < op.partitions.length };
}

async function ctp(bootstrap, op) {
  const p = await producer(bootstrap, { "transactional.id": op.transactional_id });
  await cb((done) => p.initTransactions(T, done));
  const c = new Kafka.KafkaConsumer({
    "bootstrap.servers": bootstrap,
    "group.id": op.group,
    "enable.auto.commit": false,
    "isolation.level": "read_committed",
  }, { "auto.offset.reset": "earliest" });
  await cb((done) => c.connect({}, done));
  c.subscribe([op.source]);
  let written = 0;
  let aborted = 0;
  let abortNext = Boolean(op.abort_first);
  const deadline = Date.now() + 30000;
  while (written < op.count && Date.now() < deadline) {
    const batch = await cb((done) => c.consume(10, done));
    if (batch.length === 0) continue;
    await cb((done) => p.beginTransaction(done));
    const next = new Map();
    for (const m of batch) {
      p.produce(op.sink, m.partition, Buffer.from(m.value.toString().toUpperCase()));
      next.set(m.partition, m.offset + 1);
    }
    const offsets = [...next].map(([partition, offset]) => ({ topic: op.source, partition, offset }));
    await cb((done) => p.sendOffsetsToTransaction(offsets, c, T, done));
    if (abortNext) {
      abortNext = false;
      await cb((done) => p.abortTransaction(T, done));
      aborted += batch.length;
      // Back to what the group committed (nothing yet: the earliest offsets), as an aborting processor must.
      const committed = await cb((done) =>
        c.committed(offsets.map(({ topic, partition }) => ({ topic, partition })), T, done)
      );
      for (const tp of committed) {
        await cb((done) =>
          c.seek({ topic: tp.topic, partition: tp.partition, offset: tp.offset >= 0 ? tp.offset : 0 }, T, done)
        );
      }
      continue;
    }
    await cb((done) => p.commitTransaction(T, done));
    written += batch.length;
  }
  await cb((done) => c.disconnect(done));
  await cb((done) => p.disconnect(done));
  return { written, aborted };
}

const OPS = {
  version: () => Promise.resolve({ version: Kafka.librdkafkaVersion }),
  transact,
  read,
  ctp,
};

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
  const plan = JSON.parse(input);
  const results = [];
  for (const op of plan.ops) {
    try {
      results.push(await OPS[op.op](plan.bootstrap, op));
    } catch (e) {
      results.push({ exception: `${e && e.message ? e.message : String(e)} (${JSON.stringify(e)})` });
    }
  }
  process.stdout.write(JSON.stringify({ results }));
  process.exit(0);
});
