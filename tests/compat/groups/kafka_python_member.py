"""One kafka-python KafkaConsumer group member for the group compat tests.

Usage: /usr/bin/python3 kafka_python_member.py HOST:PORT TOPIC GROUP '{"session_timeout_ms": 2000, ...}'

The JSON object holds extra KafkaConsumer arguments. Prints the JSON lines described in
rdkafka_member.py ("ready", "assign"/"revoke" from a ConsumerRebalanceListener (eager), "msg",
"commit", "error", "closed"), plus {"ev": "version", "api_version": [..]} with the broker
version kafka-python inferred from ApiVersions. Every record is committed synchronously right
after it is printed. SIGTERM closes the consumer (LeaveGroup).
"""

import json
import logging
import signal
import sys
import time

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

bootstrap, topic, group, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
running = True


def emit(**kw):
    kw["t"] = round(time.time() * 1000)
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


class ErrorLines(logging.Handler):
    """Reports kafka-python's own ERROR log lines as error events."""

    def emit(self, record):
        emit(ev="error", name=record.name, str=record.getMessage())


logging.getLogger("kafka").addHandler(ErrorLines(level=logging.ERROR))


def stop(_sig, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        emit(ev="revoke", parts=sorted(tp.partition for tp in revoked), owned=[])

    def on_partitions_assigned(self, assigned):
        parts = sorted(tp.partition for tp in assigned)
        emit(ev="assign", parts=parts, owned=parts)


conf = {
    "bootstrap_servers": bootstrap,
    "group_id": group,
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 300,
    "request_timeout_ms": 10000,
    "fetch_max_wait_ms": 100,
    "metadata_max_age_ms": 1000,
}
conf.update(extra)
consumer = KafkaConsumer(**conf)
emit(ev="version", api_version=list(consumer.config["api_version"]))
consumer.subscribe([topic], listener=Listener())
emit(ev="ready")
while running:
    batches = consumer.poll(timeout_ms=100)
    for tp, records in batches.items():
        for r in records:
            if not running:
                break
            emit(ev="msg", p=r.partition, o=r.offset, v=r.value.decode())
            try:
                consumer.commit({TopicPartition(topic, r.partition): OffsetAndMetadata(r.offset + 1, None)})
                emit(ev="commit", p=r.partition, o=r.offset + 1)
            except Exception as e:  # noqa: BLE001 (reported to the test)
                emit(ev="error", name=type(e).__name__, str=str(e))
consumer.close()
emit(ev="closed")
