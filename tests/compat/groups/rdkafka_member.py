"""One confluent-kafka (librdkafka) consumer-group member for the group compat tests.

Usage: /usr/bin/python3 rdkafka_member.py HOST:PORT TOPIC GROUP '{"session.timeout.ms": 2000, ...}'

The JSON object holds extra librdkafka settings (partition.assignment.strategy,
group.instance.id, session.timeout.ms, ...). Besides, "x.cooperative": true tells the script
that callbacks are incremental (confluent-kafka 1.7 has no rebalance_protocol()).

Prints one JSON object per line on stdout, flushed at once, which the TS test reads:
  {"ev": "ready"}                                    subscribed
  {"ev": "assign", "parts": [..], "owned": [..]}     on_assign (parts: what the callback got)
  {"ev": "revoke", "parts": [..], "owned": [..]}     on_revoke
  {"ev": "lost", "parts": [..], "owned": [..]}       on_lost
  {"ev": "msg", "p": P, "o": OFFSET, "v": "VALUE"}   a record, before its commit
  {"ev": "commit", "p": P, "o": NEXT_OFFSET}         a synchronous commit of one record succeeded
  {"ev": "error", "name": .., "str": ..}             a consumer or commit error
  {"ev": "closed"}                                   closed cleanly after SIGTERM
Each record is committed synchronously right after it is printed, so "commit" means the broker
acknowledged it. SIGTERM closes the consumer (LeaveGroup for dynamic members); the tests send
SIGKILL to simulate a crash.
"""

import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

bootstrap, topic, group, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
cooperative = bool(extra.pop("x.cooperative", False))

running = True


def emit(**kw):
    kw["t"] = round(time.time() * 1000)
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def stop(_sig, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)

conf = {
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 2000,
    "heartbeat.interval.ms": 300,
    "topic.metadata.refresh.interval.ms": 1000,
    "error_cb": lambda err: emit(ev="error", name=err.name(), str=err.str()),
}
conf.update(extra)
consumer = Consumer(conf)
owned = set()


def parts_of(partitions):
    return sorted(p.partition for p in partitions)


def on_assign(c, partitions):
    global owned
    parts = parts_of(partitions)
    owned = owned | set(parts) if cooperative else set(parts)
    emit(ev="assign", parts=parts, owned=sorted(owned))


def on_revoke(c, partitions):
    global owned
    parts = parts_of(partitions)
    owned = owned - set(parts) if cooperative else set()
    emit(ev="revoke", parts=parts, owned=sorted(owned))


def on_lost(c, partitions):
    global owned
    parts = parts_of(partitions)
    owned = owned - set(parts)
    emit(ev="lost", parts=parts, owned=sorted(owned))


consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
emit(ev="ready")
while running:
    msg = consumer.poll(0.1)
    if msg is None:
        continue
    if msg.error():
        emit(ev="error", name=msg.error().name(), str=msg.error().str())
        continue
    emit(ev="msg", p=msg.partition(), o=msg.offset(), v=msg.value().decode())
    try:
        consumer.commit(offsets=[TopicPartition(topic, msg.partition(), msg.offset() + 1)], asynchronous=False)
        emit(ev="commit", p=msg.partition(), o=msg.offset() + 1)
    except KafkaException as e:
        err = e.args[0]
        emit(ev="error", name=err.name(), str=err.str())
consumer.close()
emit(ev="closed")
