"""confluent-kafka AdminClient against kbin: runs every admin call the suite covers and prints
one JSON object of what the client saw. Assertions live in confluent_kafka_test.ts.

Usage: /usr/bin/python3 admin_client.py HOST:PORT

Each outcome is "ok" or {"code": int, "name": str, "str": str} from the KafkaError. A step that
raises something other than a KafkaException is recorded as {"exception": repr}, so one broken
step never hides the others.
"""

import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

TIMEOUT_S = 15


def outcome(future):
    try:
        future.result(TIMEOUT_S)
        return "ok"
    except KafkaException as e:
        err = e.args[0]
        return {"code": err.code(), "name": err.name(), "str": err.str()}
    except Exception as e:  # noqa: BLE001 (recorded for the test to report)
        return {"exception": repr(e)}


def outcomes(futures):
    return {name: outcome(f) for name, f in futures.items()}


def step(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001
        return {"exception": repr(e)}


def cluster(admin):
    md = admin.list_topics(timeout=TIMEOUT_S)
    return {
        "cluster_id": md.cluster_id,
        "controller_id": md.controller_id,
        "orig_broker_id": md.orig_broker_id,
        "brokers": [{"id": b.id, "host": b.host, "port": b.port} for b in md.brokers.values()],
        "topics": {
            t.topic: {
                "error": None if t.error is None else t.error.name(),
                "partitions": [
                    {"id": p.id, "leader": p.leader, "replicas": p.replicas, "isrs": p.isrs,
                     "error": None if p.error is None else p.error.name()}
                    for p in sorted(t.partitions.values(), key=lambda p: p.id)
                ],
            }
            for t in md.topics.values()
        },
    }


def partition_count(admin, topic):
    md = admin.list_topics(timeout=TIMEOUT_S)
    t = md.topics.get(topic)
    return None if t is None else len(t.partitions)


def describe_configs(admin, topic):
    futures = admin.describe_configs([ConfigResource("topic", topic)])
    (future,) = futures.values()
    try:
        entries = future.result(TIMEOUT_S)
    except KafkaException as e:
        err = e.args[0]
        return {"code": err.code(), "name": err.name(), "str": err.str()}
    return {name: {"value": c.value, "source": c.source, "is_default": c.is_default}
            for name, c in entries.items()}


def alter_configs(admin, topic, configs):
    (future,) = admin.alter_configs([ConfigResource("topic", topic, set_config=configs)]).values()
    return outcome(future)


def main():
    admin = AdminClient({"bootstrap.servers": sys.argv[1], "socket.timeout.ms": 10000})
    out = {}

    out["create"] = step(lambda: outcomes(admin.create_topics(
        [NewTopic("ck-compacted", num_partitions=3, replication_factor=1,
                  config={"cleanup.policy": "compact", "retention.ms": "1000"})],
        operation_timeout=10)))

    out["validate_only"] = step(lambda: outcomes(admin.create_topics(
        [NewTopic("ck-validated", num_partitions=2, replication_factor=1)], validate_only=True)))

    out["create_errors"] = step(lambda: outcomes(admin.create_topics([
        NewTopic("ck-compacted", num_partitions=1, replication_factor=1),
        NewTopic("ck-rf3", num_partitions=1, replication_factor=3),
        NewTopic("ck-bad-value", num_partitions=1, replication_factor=1, config={"cleanup.policy": "sideways"}),
        NewTopic("ck-unknown-config", num_partitions=1, replication_factor=1, config={"no.such.config": "1"}),
        NewTopic("ck bad name!", num_partitions=1, replication_factor=1),
        NewTopic("ck-zero", num_partitions=0, replication_factor=1),
    ])))

    out["after_create"] = step(lambda: cluster(admin))

    out["grow"] = step(lambda: outcomes(admin.create_partitions([NewPartitions("ck-compacted", 5)])))
    out["after_grow"] = step(lambda: partition_count(admin, "ck-compacted"))
    out["grow_validate_only"] = step(lambda: outcomes(
        admin.create_partitions([NewPartitions("ck-compacted", 7)], validate_only=True)))
    out["after_grow_validate_only"] = step(lambda: partition_count(admin, "ck-compacted"))
    out["shrink"] = step(lambda: outcomes(admin.create_partitions([NewPartitions("ck-compacted", 2)])))
    out["same_count"] = step(lambda: outcomes(admin.create_partitions([NewPartitions("ck-compacted", 5)])))
    out["grow_missing"] = step(lambda: outcomes(admin.create_partitions([NewPartitions("ck-missing", 2)])))

    out["describe_configs"] = step(lambda: describe_configs(admin, "ck-compacted"))

    # AlterConfigs (the legacy whole-set form): configs left out return to their defaults.
    out["alter_configs"] = step(lambda: alter_configs(admin, "ck-compacted", {"retention.ms": "2000"}))
    out["after_alter_configs"] = step(lambda: describe_configs(admin, "ck-compacted"))
    out["alter_configs_errors"] = step(lambda: {
        "bad-value": alter_configs(admin, "ck-compacted", {"cleanup.policy": "sideways"}),
        "missing": alter_configs(admin, "ck-missing", {"retention.ms": "2000"}),
    })

    out["delete"] = step(lambda: outcomes(admin.delete_topics(["ck-compacted"], operation_timeout=10)))
    out["after_delete"] = step(lambda: sorted(admin.list_topics(timeout=TIMEOUT_S).topics))
    out["delete_missing"] = step(lambda: outcomes(admin.delete_topics(["ck-compacted"])))

    out["collide_first"] = step(lambda: outcomes(admin.create_topics([NewTopic("ck.collide", 1, 1)])))
    out["collide_second"] = step(lambda: outcomes(admin.create_topics([NewTopic("ck_collide", 1, 1)])))

    print(json.dumps(out))


if __name__ == "__main__":
    main()
