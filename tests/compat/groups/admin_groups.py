"""Group administration through the Python clients, one step per run, for admin_test.ts.

Usage: /usr/bin/python3 admin_groups.py HOST:PORT STEP [ARGS...]

Prints one JSON value: what the client returned. A Kafka error is {"code": int, "name": str}
(confluent-kafka) or {"error": ClassName, "errno": int} (kafka-python); any other exception is
{"exception": repr}. Steps:
  methods                          confluent-kafka AdminClient group methods that are missing
  ck_list_groups                   confluent AdminClient.list_groups() (ListGroups + DescribeGroups)
  ck_committed GROUP TOPIC N       confluent Consumer.committed() for partitions 0..N-1 (OffsetFetch)
  ck_commit GROUP TOPIC P=O,...    confluent Consumer.commit() without joining the group: what
                                   alter_consumer_group_offsets sends (OffsetCommit, generation -1)
  kp_list                          kafka-python KafkaAdminClient.list_consumer_groups()
  kp_describe GROUP...             kafka-python describe_consumer_groups()
  kp_offsets GROUP                 kafka-python list_consumer_group_offsets() (every topic)
  kp_delete GROUP...               kafka-python delete_consumer_groups()
"""

import json
import struct
import sys

TIMEOUT_S = 15
GROUP_ADMIN = [
    "list_consumer_groups",
    "describe_consumer_groups",
    "delete_consumer_groups",
    "list_consumer_group_offsets",
    "alter_consumer_group_offsets",
    "delete_consumer_group_offsets",
]


def assignment(raw):
    """Decodes a ConsumerProtocolAssignment (v0+): {topic: [partitions]}."""
    if not raw:
        return None
    pos = 2
    (n,) = struct.unpack_from(">i", raw, pos)
    pos += 4
    out = {}
    for _ in range(n):
        (tlen,) = struct.unpack_from(">h", raw, pos)
        pos += 2
        topic = raw[pos:pos + tlen].decode()
        pos += tlen
        (pn,) = struct.unpack_from(">i", raw, pos)
        pos += 4
        out[topic] = sorted(struct.unpack_from(">%di" % pn, raw, pos))
        pos += 4 * pn
    return out


def kafka_error(e):
    err = e.args[0]
    return {"code": err.code(), "name": err.name()}


def ck(step, bootstrap, args):
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient

    if step == "methods":
        return [m for m in GROUP_ADMIN if not hasattr(AdminClient, m)]
    if step == "ck_list_groups":
        admin = AdminClient({"bootstrap.servers": bootstrap})
        try:
            groups = admin.list_groups(timeout=TIMEOUT_S)
        except KafkaException as e:
            return kafka_error(e)
        return {
            g.id: {
                "error": None if g.error is None else g.error.name(),
                "state": g.state,
                "protocol_type": g.protocol_type,
                "protocol": g.protocol,
                "members": [
                    {"id": m.id, "client_id": m.client_id, "client_host": m.client_host,
                     "assignment": assignment(m.assignment)}
                    for m in g.members
                ],
            }
            for g in groups
        }
    group, topic = args[0], args[1]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        if step == "ck_committed":
            tps = [TopicPartition(topic, p) for p in range(int(args[2]))]
            got = consumer.committed(tps, timeout=TIMEOUT_S)
            return {str(tp.partition): tp.offset for tp in got}
        if step == "ck_commit":
            pairs = [kv.split("=") for kv in args[2].split(",")]
            offsets = [TopicPartition(topic, int(p), int(o)) for p, o in pairs]
            got = consumer.commit(offsets=offsets, asynchronous=False)
            errors = {str(tp.partition): tp.error.name() for tp in got if tp.error is not None}
            return errors or "ok"
    except KafkaException as e:
        return kafka_error(e)
    finally:
        consumer.close()
    raise ValueError("unknown step " + step)


def kp(step, bootstrap, args):
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
    try:
        if step == "kp_list":
            return sorted([list(g) for g in admin.list_consumer_groups()])
        if step == "kp_describe":
            return [
                {
                    "error_code": g.error_code,
                    "group": g.group,
                    "state": g.state,
                    "protocol_type": g.protocol_type,
                    "protocol": g.protocol,
                    "members": [
                        {"member_id": m.member_id, "client_id": m.client_id, "client_host": m.client_host,
                         "topics": list(m.member_metadata.subscription) if m.member_metadata else None,
                         "assignment": {t: sorted(ps) for t, ps in m.member_assignment.assignment}
                         if m.member_assignment else None}
                        for m in g.members
                    ],
                }
                for g in admin.describe_consumer_groups(args)
            ]
        if step == "kp_offsets":
            offsets = admin.list_consumer_group_offsets(args[0])
            return sorted([tp.topic, tp.partition, om.offset] for tp, om in offsets.items())
        if step == "kp_delete":
            # kafka-python answers each group with an error class, not an instance.
            return [[g, {"error": err.__name__, "errno": err.errno}] for g, err in admin.delete_consumer_groups(args)]
    finally:
        admin.close()
    raise ValueError("unknown step " + step)


def main():
    bootstrap, step, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        out = kp(step, bootstrap, args) if step.startswith("kp_") else ck(step, bootstrap, args)
    except Exception as e:  # noqa: BLE001 (reported to the test)
        errno = getattr(e, "errno", None)
        out = {"error": type(e).__name__, "errno": errno} if errno is not None else {"exception": repr(e)}
    print(json.dumps(out))


main()
