"""A consume-transform-produce processor on confluent-kafka (librdkafka) for the kill -9 tests.

Usage: processor.py BOOTSTRAP TRANSACTIONAL_ID GROUP SOURCE SINK BATCH PAUSE_S

init_transactions() first (which fences an earlier incarnation with the same transactional id and
aborts its open transaction, or waits for its commit to complete), then a static member
(group.instance.id = TRANSACTIONAL_ID) of GROUP subscribes to SOURCE, read_committed. Each
transaction: up to BATCH records; for each a record "<value>@<partition>:<offset>" to the same
partition of SINK; the next offsets through send_offsets_to_transaction; a pause of PAUSE_S seconds
(so that a kill lands inside a transaction); commit. Runs until killed.

Prints one JSON line per event on stdout: {"ev":"ready"} once initialised;
{"ev":"begin","n"} when a transaction of n records starts; {"ev":"commit","offsets":{p: next}}
once it is committed; {"ev":"error","str"} for an error (then exits 1).
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def emit(ev, **fields):
    sys.stdout.write(json.dumps({"ev": ev, "t": time.time(), **fields}) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, txn_id, group, source, sink, batch_size, pause_s = sys.argv[1:8]
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5})
    p.init_transactions(60)
    c = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": txn_id,
        "session.timeout.ms": 6000, "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    })
    c.subscribe([source])
    emit("ready")
    while True:
        batch = [m for m in c.consume(int(batch_size), 0.5) if m.error() is None]
        if not batch:
            continue
        p.begin_transaction()
        emit("begin", n=len(batch))
        nxt = {}
        for m in batch:
            value = f"{m.value().decode()}@{m.partition()}:{m.offset()}"
            p.produce(sink, value=value.encode(), partition=m.partition())
            nxt[m.partition()] = m.offset() + 1
        offsets = [TopicPartition(source, part, o) for part, o in nxt.items()]
        p.send_offsets_to_transaction(offsets, c.consumer_group_metadata(), 30)
        time.sleep(float(pause_s))
        p.commit_transaction(30)
        emit("commit", offsets={str(k): v for k, v in nxt.items()})


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - reported to the test
        emit("error", str=f"{type(e).__name__}: {e}")
        sys.exit(1)
