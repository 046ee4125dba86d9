"""confluent-kafka (librdkafka) for the transaction admin tests, one JSON plan in, one JSON result out.

Ops:
  produce  {topic, partition, values}: plain (non-transactional) records -> {ok: true}
  hang     {transactional_id, topic, partition, values}: a transactional producer (transaction.timeout.ms
           15 minutes) begins a transaction, writes the values and exits without ending it (the process
           ends with os._exit, so librdkafka aborts nothing) -> {ok: true}
  read     {topic, partition, isolation}: reads from offset 0 up to the end the consumer may see (the
           last stable offset under read_committed) -> {values: [[offset, value]], errors, timed_out}
"""
import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def produce(b, op):
    p = Producer({"bootstrap.servers": b, "linger.ms": 0})
    for v in op["values"]:
        p.produce(op["topic"], value=v.encode(), partition=op["partition"])
        p.flush(20)
    return {"ok": True}


def hang(b, op):
    p = Producer({
        "bootstrap.servers": b, "transactional.id": op["transactional_id"],
        "transaction.timeout.ms": 900000, "linger.ms": 0,
    })
    p.init_transactions(20)
    p.begin_transaction()
    for v in op["values"]:
        p.produce(op["topic"], value=v.encode(), partition=op["partition"])
    if p.flush(20) != 0:
        return {"error": "records not delivered"}
    return {"ok": True, "exit": True}


def read(b, op):
    c = Consumer({
        "bootstrap.servers": b, "group.id": "txn-admin-reader", "isolation.level": op["isolation"],
        "enable.partition.eof": True, "enable.auto.commit": False, "fetch.wait.max.ms": 10,
    })
    c.assign([TopicPartition(op["topic"], op["partition"], 0)])
    values, errors, eof = [], [], False
    deadline = time.time() + 20
    while not eof and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof = True
            else:
                errors.append(str(m.error()))
            continue
        values.append([m.offset(), m.value().decode()])
    c.close()
    return {"values": values, "errors": errors, "timed_out": not eof}


OPS = {"produce": produce, "hang": hang, "read": read}

if __name__ == "__main__":
    plan = json.load(sys.stdin)
    results = []
    for op in plan["ops"]:
        try:
            r = OPS[op["op"]](plan["bootstrap"], op)
        except Exception as e:  # noqa: BLE001 - reported to the test
            r = {"exception": f"{type(e).__name__}: {e}"}
        results.append(r)
        if r.get("exit"):
            # Leave the transaction open: no abort, no flush of librdkafka's state on the way out.
            json.dump({"results": results}, sys.stdout)
            sys.stdout.flush()
            os._exit(0)
    json.dump({"results": results}, sys.stdout)
