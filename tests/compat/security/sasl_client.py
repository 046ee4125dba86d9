"""confluent-kafka (librdkafka) over SASL, one JSON plan in, one JSON result out.

Ops:
  roundtrip {mechanism, username, password, topic, values}: produces the values, reads them back
            -> {values: [...]} or {error}
  badlogin  {mechanism, username, password}: lists topics with a wrong password
            -> {error: text, seconds: how long until the error}
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient


def conf(b, op):
    return {
        "bootstrap.servers": b,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": op["mechanism"],
        "sasl.username": op["username"],
        "sasl.password": op["password"],
    }


def roundtrip(b, op):
    p = Producer({**conf(b, op), "linger.ms": 5})
    errors = []
    for v in op["values"]:
        p.produce(op["topic"], value=v.encode(), on_delivery=lambda e, m: e and errors.append(str(e)))
    if p.flush(30) != 0 or errors:
        return {"error": "produce failed: %s" % errors}
    c = Consumer({**conf(b, op), "group.id": "sasl-" + op["topic"], "auto.offset.reset": "earliest"})
    c.subscribe([op["topic"]])
    got = []
    deadline = time.time() + 30
    while len(got) < len(op["values"]) and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.close()
    return {"values": got}


def badlogin(b, op):
    """librdkafka reports a refused login through error_cb (_AUTHENTICATION); waits for it."""
    start = time.time()
    errors = []
    a = AdminClient({**conf(b, op), "error_cb": lambda e: errors.append(e)})
    while time.time() - start < 20:
        try:
            a.list_topics(timeout=0.5)
            return {"error": None, "seconds": time.time() - start}
        except KafkaException:
            pass
        a.poll(0.1)  # serves error_cb
        auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
        if auth:
            return {"error": auth[0].str(), "seconds": time.time() - start}
    return {"error": "no authentication error within 20 s: %s" % [e.str() for e in errors], "seconds": time.time() - start}


plan = json.load(sys.stdin)
out = []
for op in plan["ops"]:
    out.append({"roundtrip": roundtrip, "badlogin": badlogin}[op["op"]](plan["bootstrap"], op))
print(json.dumps({"results": out}))
