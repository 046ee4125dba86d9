"""Drives confluent-kafka-python (librdkafka) against a broker for confluent_kafka_log_test.ts.

Reads {"bootstrap": "host:port", "ops": [...]} as JSON on stdin, runs each op in order and prints
{"results": [...]} (one result per op) as JSON on stdout. Records travel as JSON objects with base64
bytes: {"p": partition, "k": key, "v": value, "h": [[name, value]], "ts": ms, "o": offset}.

Ops:
  produce            topic, records, config  -> reports [{p, o, err}] in send order, flush_left
  consume            topic, partitions, start (offset, or "beginning"/"end"), config, timeout_s
                     -> records, errors [{code, name, str, p}], eof [partitions]
  offsets_for_times  topic, queries [[partition, ts]] -> offsets [[partition, offset, err]]
  watermarks         topic, partitions -> [[low, high]]
It never judges anything: the TypeScript test does.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared"))
from json_driver import b64, run_plan, unb64  # noqa: E402

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, Producer, TopicPartition



def kerr(e, p=None):
    out = {"code": e.code(), "name": e.name(), "str": e.str()}
    if p is not None:
        out["p"] = p
    return out


def produce(bootstrap, op):
    conf = {"bootstrap.servers": bootstrap, "linger.ms": 5}
    conf.update(op.get("config", {}))
    producer = Producer(conf)
    reports = [None] * len(op["records"])

    def on_delivery(i):
        def cb(err, msg):
            if err is not None:
                reports[i] = {"p": msg.partition(), "o": -1, "err": kerr(err)}
            else:
                reports[i] = {"p": msg.partition(), "o": msg.offset(), "err": None}

        return cb

    for i, r in enumerate(op["records"]):
        kwargs = {"partition": r["p"], "on_delivery": on_delivery(i)}
        if r.get("h"):
            kwargs["headers"] = [(k, unb64(v)) for k, v in r["h"]]
        if r.get("ts") is not None:
            kwargs["timestamp"] = r["ts"]
        while True:
            try:
                producer.produce(op["topic"], value=unb64(r["v"]), key=unb64(r["k"]), **kwargs)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    left = producer.flush(op.get("timeout_s", 30))
    return {"reports": reports, "flush_left": left}


def consume(bootstrap, op):
    conf = {
        "bootstrap.servers": bootstrap,
        "enable.partition.eof": True,
        "enable.auto.commit": False,
        "group.id": "unused-assign-only",
        "fetch.wait.max.ms": 10,  # EOF comes with the first empty fetch: do not wait 500 ms for it
    }
    conf.update(op.get("config", {}))
    consumer = Consumer(conf)
    start = op.get("start", "beginning")
    offset = OFFSET_BEGINNING if start == "beginning" else OFFSET_END if start == "end" else int(start)
    parts = op["partitions"]
    consumer.assign([TopicPartition(op["topic"], p, offset) for p in parts])
    records, errors, eof = [], [], set()
    deadline = time.time() + op.get("timeout_s", 20)
    stop_on_error = op.get("stop_on_error", False)
    while len(eof) < len(parts) and time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                eof.add(msg.partition())
                continue
            errors.append(kerr(err, msg.partition()))
            if stop_on_error:
                break
            continue
        eof.discard(msg.partition())
        ts_type, ts = msg.timestamp()
        records.append({
            "p": msg.partition(),
            "o": msg.offset(),
            "k": b64(msg.key()),
            "v": b64(msg.value()),
            "h": [[k, b64(v)] for k, v in (msg.headers() or [])],
            "ts": ts,
            "tstype": ts_type,
        })
    consumer.close()
    return {"records": records, "errors": errors, "eof": sorted(eof), "timed_out": len(eof) < len(parts)}


def offsets_for_times(bootstrap, op):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only"})
    tps = [TopicPartition(op["topic"], p, ts) for p, ts in op["queries"]]
    got = consumer.offsets_for_times(tps, timeout=10)
    consumer.close()
    return {"offsets": [[tp.partition, tp.offset, None if tp.error is None else kerr(tp.error)] for tp in got]}


def watermarks(bootstrap, op):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only"})
    out = [list(consumer.get_watermark_offsets(TopicPartition(op["topic"], p), timeout=10)) for p in op["partitions"]]
    consumer.close()
    return {"watermarks": out}


OPS = {"produce": produce, "consume": consume, "offsets_for_times": offsets_for_times, "watermarks": watermarks}


if __name__ == "__main__":
    run_plan(OPS)
