"""confluent-kafka (librdkafka) transactions against kbin, one JSON plan in, one JSON result out.

Every op takes an optional `conf` ({key: value}) added to its clients' configuration (SASL, TLS).

Ops:
  transact   {transactional_id, topic, transactions: [{records: [[partition, value]], commit}]}
             -> {ok: true} or {error}
  fence      {transactional_id, topic}: a first producer starts a transaction, a second with the same id
             initialises, the first tries to commit -> {first: error text or null}
  read       {topic, partitions, isolation, expect?, timeout_s?} -> {values: [[partition, offset, value]], errors,
             timed_out}: reads until every partition reported its end (and, with `expect`, at least that many
             records came), or `timeout_s` (default 20) passed
  ctp        {transactional_id, group, source, sink, count}: consume-transform-produce: reads `count`
             records of `source`, writes them upper-cased to `sink` and commits the input offsets in the
             same transaction (send_offsets_to_transaction) -> {written}
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def transact(b, op):
    p = Producer({"bootstrap.servers": b, "transactional.id": op["transactional_id"], "linger.ms": 5,
                  **op.get("conf", {})})
    p.init_transactions(20)
    for t in op["transactions"]:
        p.begin_transaction()
        for part, value in t["records"]:
            p.produce(op["topic"], value=value.encode(), partition=part)
        p.flush(20)
        if t["commit"]:
            p.commit_transaction(20)
        else:
            p.abort_transaction(20)
    return {"ok": True}


def fence(b, op):
    first = Producer({"bootstrap.servers": b, "transactional.id": op["transactional_id"], **op.get("conf", {})})
    first.init_transactions(20)
    first.begin_transaction()
    first.produce(op["topic"], value=b"zombie", partition=0)
    first.flush(20)
    second = Producer({"bootstrap.servers": b, "transactional.id": op["transactional_id"], **op.get("conf", {})})
    second.init_transactions(20)
    try:
        first.produce(op["topic"], value=b"zombie-2", partition=0)
        first.commit_transaction(20)
        err = None
    except Exception as e:  # noqa: BLE001 - the error text is the result
        err = str(e)
    second.begin_transaction()
    second.produce(op["topic"], value=b"second", partition=0)
    second.commit_transaction(20)
    return {"first": err}


def read(b, op):
    c = Consumer({
        "bootstrap.servers": b, "group.id": "txn-reader", "isolation.level": op["isolation"], **op.get("conf", {}),
        "enable.partition.eof": True, "enable.auto.commit": False, "fetch.wait.max.ms": 10,
    })
    c.assign([TopicPartition(op["topic"], p, 0) for p in op["partitions"]])
    values, errors, eof = [], [], set()
    expect = op.get("expect", 0)
    deadline = time.time() + op.get("timeout_s", 20)
    while (len(eof) < len(op["partitions"]) or len(values) < expect) and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            else:
                errors.append(str(m.error()))
            continue
        values.append([m.partition(), m.offset(), m.value().decode()])
        eof.discard(m.partition())  # more came after its end: not at the end yet
    c.close()
    return {"values": values, "errors": errors, "timed_out": len(eof) < len(op["partitions"]) or len(values) < expect}


def ctp(b, op):
    c = Consumer({
        "bootstrap.servers": b, "group.id": op["group"], "enable.auto.commit": False, **op.get("conf", {}),
        "auto.offset.reset": "earliest", "isolation.level": "read_committed",
    })
    c.subscribe([op["source"]])
    p = Producer({"bootstrap.servers": b, "transactional.id": op["transactional_id"], **op.get("conf", {})})
    p.init_transactions(20)
    written = 0
    deadline = time.time() + 30
    while written < op["count"] and time.time() < deadline:
        batch = c.consume(10, 0.5)
        batch = [m for m in batch if m.error() is None]
        if not batch:
            continue
        p.begin_transaction()
        for m in batch:
            p.produce(op["sink"], value=m.value().upper(), partition=m.partition())
        offsets = [TopicPartition(m.topic(), m.partition(), m.offset() + 1) for m in batch]
        p.send_offsets_to_transaction(offsets, c.consumer_group_metadata(), 20)
        p.commit_transaction(20)
        written += len(batch)
    c.close()
    return {"written": written}


OPS = {"transact": transact, "fence": fence, "read": read, "ctp": ctp}

if __name__ == "__main__":
    plan = json.load(sys.stdin)
    results = []
    for op in plan["ops"]:
        try:
            results.append(OPS[op["op"]](plan["bootstrap"], op))
        except Exception as e:  # noqa: BLE001 - reported to the test
            results.append({"exception": f"{type(e).__name__}: {e}"})
    json.dump({"results": results}, sys.stdout)
