"""confluent-kafka-python 1.7's Schema Registry client and serializers against kbin, one JSON plan in,
one JSON result out (tests/compat/shared/json_driver.py). The Avro serializer needs fastavro, which
Debian does not package: the test puts ./shim (three functions over Apache Avro) on PYTHONPATH.

Ops:
  register  {subject, schema, schema_type?} -> {id} or {error: {code, status, message}}
  latest    {subject} -> {id, version, schema}
  lookup    {subject, schema, schema_type?} -> {id, version} or {error}
  compatible {subject, schema, schema_type?} -> {compatible}
  set_compat {subject?, level} -> {level}
  delete    {subject, permanent?} -> {versions}
  subjects  -> {subjects}
  produce   {topic, format (avro|json), schema, values} -> {delivered}: a SerializingProducer with
            the format's serializer (auto-registering under <topic>-value)
  consume   {topic, format, count, schema?} -> {values, ids}: a DeserializingConsumer; ids are the
            schema ids the records' wire format carries
"""
import json
import struct
import sys
import os

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared"))
from json_driver import run_plan  # noqa: E402

from confluent_kafka import DeserializingConsumer, SerializingProducer, TopicPartition  # noqa: E402
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.error import SchemaRegistryError  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer  # noqa: E402
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer  # noqa: E402
from confluent_kafka.serialization import StringSerializer  # noqa: E402

URL = os.environ["KBIN_SCHEMA_REGISTRY_URL"]
_client = SchemaRegistryClient({"url": URL})


def _schema(op):
    return Schema(op["schema"], op.get("schema_type", "AVRO"))


def _error(e):
    return {"error": {"code": e.error_code, "status": e.http_status_code, "message": e.error_message}}


def op_register(b, op):
    try:
        return {"id": _client.register_schema(op["subject"], _schema(op))}
    except SchemaRegistryError as e:
        return _error(e)


def op_latest(b, op):
    r = _client.get_latest_version(op["subject"])
    return {"id": r.schema_id, "version": r.version, "schema": r.schema.schema_str, "type": r.schema.schema_type}


def op_lookup(b, op):
    try:
        r = _client.lookup_schema(op["subject"], _schema(op))
        return {"id": r.schema_id, "version": r.version}
    except SchemaRegistryError as e:
        return _error(e)


def op_compatible(b, op):
    return {"compatible": _client.test_compatibility(op["subject"], _schema(op))}


def op_set_compat(b, op):
    return {"level": _client.set_compatibility(op.get("subject"), op["level"])["compatibility"]}


def op_delete(b, op):
    versions = _client.delete_subject(op["subject"])
    if op.get("permanent"):
        versions = _client.delete_subject(op["subject"], permanent=True)
    return {"versions": versions}


def op_subjects(b, op):
    return {"subjects": _client.get_subjects()}


def _serializer(fmt, schema):
    if fmt == "avro":
        return AvroSerializer(_client, schema)
    return JSONSerializer(schema, _client)


def _deserializer(fmt, schema):
    if fmt == "avro":
        return AvroDeserializer(_client, schema)
    return JSONDeserializer(schema)


def op_produce(b, op):
    p = SerializingProducer({
        "bootstrap.servers": b,
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": _serializer(op["format"], op["schema"]),
    })
    delivered = []
    for i, v in enumerate(op["values"]):
        p.produce(op["topic"], key=str(i), value=v, on_delivery=lambda err, msg: delivered.append(err is None))
    p.flush(20)
    return {"delivered": sum(delivered)}


def op_consume(b, op):
    c = DeserializingConsumer({
        "bootstrap.servers": b,
        "group.id": "sr-%s" % op["topic"],
        "auto.offset.reset": "earliest",
        "value.deserializer": _deserializer(op["format"], op.get("schema")),
    })
    raw = __import__("confluent_kafka").Consumer({
        "bootstrap.servers": b, "group.id": "sr-raw-%s" % op["topic"], "auto.offset.reset": "earliest",
    })
    c.subscribe([op["topic"]])
    values = []
    import time
    deadline = time.time() + 30
    while len(values) < op["count"] and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        values.append(m.value())
    c.close()
    raw.assign([TopicPartition(op["topic"], 0, 0)])
    ids = []
    deadline = time.time() + 20
    while len(ids) < op["count"] and time.time() < deadline:
        m = raw.poll(0.5)
        if m is None or m.error():
            continue
        magic, sid = struct.unpack(">bI", m.value()[:5])
        ids.append([magic, sid])
    raw.close()
    return {"values": values, "ids": ids}


if __name__ == "__main__":
    run_plan({name[3:]: fn for name, fn in globals().items() if name.startswith("op_")})
