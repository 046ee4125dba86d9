"""The three fastavro functions confluent-kafka 1.7's Avro serializer imports, over Apache Avro.

Debian bookworm packages confluent-kafka 1.7 (python3-confluent-kafka) but not fastavro, which its
AvroSerializer imports; Apache Avro's own Python library (python3-avro) is packaged. This shim is put
on the path by the test only: the serializer's framing (magic byte, schema id), its registry calls
and its subject naming stay confluent-kafka's; the Avro binary encoding is Apache Avro's.
"""
import json

import avro.io
import avro.schema


class _Parsed(dict):
    """A parsed schema: the schema's JSON (as fastavro returns it) carrying Avro's schema object."""


def parse_schema(schema):
    parsed = _Parsed(schema if isinstance(schema, dict) else {"type": schema})
    parsed.avro = avro.schema.parse(json.dumps(schema))
    return parsed


def schemaless_writer(fo, schema, record):
    avro.io.DatumWriter(schema.avro).write(record, avro.io.BinaryEncoder(fo))


def schemaless_reader(fo, writer_schema, reader_schema=None, return_record_name=False):
    reader = avro.io.DatumReader(writer_schema.avro, reader_schema.avro if reader_schema is not None else None)
    return reader.read(avro.io.BinaryDecoder(fo))
