"""confluent-kafka (librdkafka) clients for the scale-out test: an idempotent acks=all producer and
a consumer-group member. Both print one JSON line per event on stdout, flushed at once.

Usage:
  /usr/bin/python3 clients.py produce BOOTSTRAP TOPIC PREFIX RATE
      Produces PREFIX-<seq> (key "<seq>") at about RATE records/s until stdin closes, then flushes.
      {"ev": "ack", "v": VALUE, "p": PARTITION, "s": MS, "t": MS}   the broker acknowledged VALUE,
                                                           sent at s, acknowledged at t
      {"ev": "fail", "v": VALUE, "err": NAME}               delivery failed for good
      {"ev": "done", "sent": N}                             flushed after stdin closed
  /usr/bin/python3 clients.py consume BOOTSTRAP TOPIC GROUP
      One member of GROUP; offsets auto-committed every second; exits on SIGTERM.
      {"ev": "assign", "parts": [..]}                       partitions assigned
      {"ev": "msgs", "vs": [VALUE, ..]}                     values received (batched per poll)
  /usr/bin/python3 clients.py eos BOOTSTRAP TRANSACTIONAL_ID GROUP SOURCE SINK TOTAL
      Exactly-once consume-transform-produce: reads SOURCE (read_committed, offsets in the
      transaction via send_offsets_to_transaction), writes each value upper-cased to SINK, one
      transaction per poll; aborts and rewinds to the committed offsets on an abortable error;
      exits once its committed positions cover TOTAL input records.
      {"ev": "txn", "n": N}                                 a transaction committed; N records so far
      {"ev": "txnerr", "err": TEXT}                         a transactional call failed (then retried)
"""

import json
import select
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def produce(bootstrap, topic, prefix, rate):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 60000,
        "socket.timeout.ms": 3000,
        "reconnect.backoff.max.ms": 200,
        "topic.metadata.refresh.interval.ms": 1000,
        "error_cb": lambda err: emit(ev="error", err=err.name(), str=err.str()),
    })

    def report(value, sent):
        def cb(err, msg):
            if err is None:
                emit(ev="ack", v=value, p=msg.partition(), s=sent, t=round(time.time() * 1000))
            else:
                emit(ev="fail", v=value, err=err.name())

        return cb

    seq = 0
    interval = 1.0 / rate
    next_at = time.time()
    while True:
        if select.select([sys.stdin], [], [], 0)[0] and sys.stdin.read(1) == "":
            break
        now = time.time()
        if now < next_at:
            producer.poll(min(next_at - now, 0.05))
            continue
        next_at += interval
        value = "%s-%d" % (prefix, seq)
        try:
            producer.produce(topic, value=value.encode(), key=str(seq).encode(), on_delivery=report(value, round(time.time() * 1000)))
            seq += 1
        except BufferError:
            producer.poll(0.05)
    left = producer.flush(60)
    emit(ev="done", sent=seq, unflushed=left)


def consume(bootstrap, topic, group):
    running = [True]
    signal.signal(signal.SIGTERM, lambda _s, _f: running.__setitem__(0, False))
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
        "error_cb": lambda err: None,
    })
    consumer.subscribe([topic], on_assign=lambda c, ps: emit(ev="assign", parts=sorted(p.partition for p in ps)))
    while running[0]:
        msgs = consumer.consume(500, 0.2)
        values = [m.value().decode() for m in msgs if m.error() is None]
        if values:
            emit(ev="msgs", vs=values)
    consumer.close()


def eos(bootstrap, txn_id, group, source, sink, total):
    common = {
        "bootstrap.servers": bootstrap,
        "socket.timeout.ms": 3000,
        "reconnect.backoff.max.ms": 200,
        "topic.metadata.refresh.interval.ms": 1000,
        "error_cb": lambda err: None,
    }
    consumer = Consumer({
        **common,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 30000,
    })
    producer = Producer({**common, "transactional.id": txn_id, "linger.ms": 5, "transaction.timeout.ms": 30000})
    producer.init_transactions(60)
    consumer.subscribe([source])

    def rewind():
        for tp in consumer.committed(consumer.assignment(), timeout=30):
            consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else -2))

    while True:
        msgs = [m for m in consumer.consume(50, 0.5) if m.error() is None]
        if not msgs:
            continue
        try:
            producer.begin_transaction()
            for m in msgs:
                producer.produce(sink, key=m.key(), value=m.value().upper(), partition=m.partition())
            positions = consumer.position(consumer.assignment())
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 60)
            for attempt in range(20):
                try:
                    producer.commit_transaction(60)
                    break
                except KafkaException as e:
                    if not e.args[0].retriable() or e.args[0].txn_requires_abort():
                        raise
                    emit(ev="txnerr", err=str(e.args[0]))
            else:
                raise RuntimeError("commit_transaction kept failing")
        except KafkaException as e:
            err = e.args[0]
            emit(ev="txnerr", err=str(err))
            if not err.txn_requires_abort():
                raise
            producer.abort_transaction(60)
            rewind()
            continue
        done = sum(p.offset for p in positions if p.offset > 0)
        emit(ev="txn", n=done)
        if done >= total:
            break
    consumer.close()


if __name__ == "__main__":
    if sys.argv[1] == "eos":
        eos(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]))
    elif sys.argv[1] == "produce":
        produce(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
    else:
        consume(sys.argv[2], sys.argv[3], sys.argv[4])
