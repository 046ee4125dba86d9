"""Drives kafka-python (Debian python3-kafka 2.0.2) against a broker for kafka_python_test.ts.

Reads {"bootstrap": "host:port", "ops": [...]} as JSON on stdin, runs each op in order and prints
{"results": [...]} as JSON on stdout. Records travel as JSON objects with base64 bytes:
{"p": partition, "k": key, "v": value, "h": [[name, value]], "ts": ms, "o": offset}.

Ops (each takes "config", extra KafkaProducer/KafkaConsumer settings such as api_version):
  produce   topic, records -> reports [{p, o, err}] in send order, api_version, requests (names sent)
  consume   topic, partitions, start (offset or "beginning"), expect {partition: count}, timeout_s
            -> records, api_version, requests, error_codes (non-zero codes decoded), timed_out
  offsets   topic, partitions, ts -> beginning, end, for_times [[offset, ts] or null]
It never judges anything: the TypeScript test does.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared"))
from json_driver import b64, run_plan, unb64  # noqa: E402

import kafka.errors
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.conn import BrokerConnection

# The request classes each op sent (ProduceRequest_v2, FetchRequest_v3, …): which versions the
# client picked for the api_version it was given or detected.
SENT = set()
_send = BrokerConnection.send


def _recording_send(self, request, blocking=True):
    SENT.add(type(request).__name__)
    return _send(self, request, blocking)


BrokerConnection.send = _recording_send

# Every non-zero error code the client decoded: kafka-python 2.0.2 maps codes it does not know
# (UNSUPPORTED_COMPRESSION_TYPE, 76) to UnknownError and only logs a warning.
ERROR_CODES = set()
_for_code = kafka.errors.for_code


def _recording_for_code(code):
    if code:
        ERROR_CODES.add(code)
    return _for_code(code)


kafka.errors.for_code = _recording_for_code



def tuple_config(conf):
    if isinstance(conf.get("api_version"), list):
        conf["api_version"] = tuple(conf["api_version"])
    return conf


def produce(bootstrap, op):
    SENT.clear()
    conf = {"bootstrap_servers": bootstrap, "linger_ms": 5, "acks": "all"}
    conf.update(tuple_config(op.get("config", {})))
    producer = KafkaProducer(**conf)
    futures = []
    for r in op["records"]:
        kwargs = {"partition": r["p"], "key": unb64(r["k"]), "value": unb64(r["v"])}
        if r.get("h"):
            kwargs["headers"] = [(k, unb64(v)) for k, v in r["h"]]
        if r.get("ts") is not None and op.get("timestamps", True):
            kwargs["timestamp_ms"] = r["ts"]
        futures.append(producer.send(op["topic"], **kwargs))
    producer.flush(30)
    reports = []
    for f in futures:
        try:
            md = f.get(timeout=30)
            reports.append({"p": md.partition, "o": md.offset, "err": None})
        except Exception as e:
            reports.append({"p": -1, "o": -1, "err": "%s: %s" % (type(e).__name__, e)})
    version = producer.config["api_version"]
    producer.close(10)
    return {"reports": reports, "api_version": list(version), "requests": sorted(SENT)}


def consume(bootstrap, op):
    SENT.clear()
    ERROR_CODES.clear()
    conf = {
        "bootstrap_servers": bootstrap,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "consumer_timeout_ms": 200,
    }
    conf.update(tuple_config(op.get("config", {})))
    consumer = KafkaConsumer(**conf)
    tps = [TopicPartition(op["topic"], p) for p in op["partitions"]]
    consumer.assign(tps)
    start = op.get("start", "beginning")
    if start == "beginning":
        consumer.seek_to_beginning(*tps)
    else:
        for tp in tps:
            consumer.seek(tp, int(start))
    expect = {int(p): n for p, n in op["expect"].items()}
    counts = {p: 0 for p in op["partitions"]}
    records = []
    deadline = time.time() + op.get("timeout_s", 10)
    done = False
    while time.time() < deadline:
        batches = consumer.poll(timeout_ms=200, max_records=2000)
        for tp, msgs in batches.items():
            for m in msgs:
                counts[tp.partition] += 1
                records.append({
                    "p": tp.partition,
                    "o": m.offset,
                    "k": b64(m.key),
                    "v": b64(m.value),
                    "h": [[k, b64(v)] for k, v in (m.headers or [])],
                    "ts": m.timestamp,
                    "tstype": m.timestamp_type,
                })
        if done:
            break
        # One more poll once every partition has what it should, to catch anything extra.
        done = all(counts[p] >= expect.get(p, 0) for p in counts)
    version = consumer.config["api_version"]
    consumer.close()
    return {
        "records": records,
        "api_version": list(version),
        "requests": sorted(SENT),
        "error_codes": sorted(ERROR_CODES),
        "timed_out": not done,
    }


def offsets(bootstrap, op):
    SENT.clear()
    conf = {"bootstrap_servers": bootstrap, "group_id": None, "enable_auto_commit": False}
    conf.update(tuple_config(op.get("config", {})))
    consumer = KafkaConsumer(**conf)
    tps = [TopicPartition(op["topic"], p) for p in op["partitions"]]
    begin = consumer.beginning_offsets(tps)
    end = consumer.end_offsets(tps)
    times = consumer.offsets_for_times({tp: op["ts"] for tp in tps})
    consumer.close()
    return {
        "beginning": [begin[tp] for tp in tps],
        "end": [end[tp] for tp in tps],
        "for_times": [None if times[tp] is None else [times[tp].offset, times[tp].timestamp] for tp in tps],
        "requests": sorted(SENT),
    }


OPS = {"produce": produce, "consume": consume, "offsets": offsets}


if __name__ == "__main__":
    run_plan(OPS)
