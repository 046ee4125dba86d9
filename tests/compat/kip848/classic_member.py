"""A classic-protocol consumer (confluent-kafka-python 1.7 on librdkafka 2.0.2: JoinGroup/SyncGroup).

Usage: /usr/bin/python3 classic_member.py BOOTSTRAP TOPIC GROUP
Prints the same JSON lines as member.cjs: ready, assign/revoke {parts, owned} ("topic:partition"),
msg, commit (synchronous, acknowledged), error {name, str}, closed (after SIGTERM).
"""

import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

bootstrap, topic, group = sys.argv[1:4]
running = True


def emit(ev, **kw):
    sys.stdout.write(json.dumps({"ev": ev, "t": round(time.time() * 1000), **kw}) + "\n")
    sys.stdout.flush()


def stop(_sig, _frame):
    global running
    running = False


def keys(partitions):
    return sorted(f"{p.topic}:{p.partition}" for p in partitions)


signal.signal(signal.SIGTERM, stop)
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "error_cb": lambda err: emit("error", name=err.name(), str=err.str()),
})
consumer.subscribe(
    [topic],
    on_assign=lambda c, ps: emit("assign", parts=keys(ps), owned=keys(ps)),
    on_revoke=lambda c, ps: emit("revoke", parts=keys(ps), owned=[]),
)
emit("ready")
while running:
    msg = consumer.poll(0.1)
    if msg is None:
        continue
    if msg.error():
        emit("error", name=msg.error().name(), str=msg.error().str())
        continue
    emit("msg", topic=msg.topic(), p=msg.partition(), o=msg.offset(), v=msg.value().decode())
    try:
        consumer.commit(offsets=[TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)], asynchronous=False)
        emit("commit", topic=msg.topic(), p=msg.partition(), o=msg.offset() + 1)
    except KafkaException as e:
        emit("error", name=e.args[0].name(), str=e.args[0].str())
consumer.close()
emit("closed")
