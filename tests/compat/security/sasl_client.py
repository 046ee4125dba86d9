"""confluent-kafka (librdkafka) over SASL, one JSON plan in, one JSON result out.

Ops:
  roundtrip {mechanism, username, password, topic, values}: produces the values, reads them back
            (optional: bootstrap, protocol (default SASL_PLAINTEXT), ca, cert, key file paths)
            -> {values: [...]} or {error}
  badlogin  {mechanism, username, password}: lists topics with a wrong password (or a bad token)
  (mechanism OAUTHBEARER takes {token} (a JWT handed over by oauth_cb) or {principal} (librdkafka's
  unsecured JWT) instead of username and password)
            -> {error: text, seconds: how long until the error}
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient


def conf(b, op):
    c = {
        "bootstrap.servers": op.get("bootstrap", b),
        "security.protocol": op.get("protocol", "SASL_PLAINTEXT"),
    }
    if op.get("mechanism") == "OAUTHBEARER":
        c["sasl.mechanisms"] = "OAUTHBEARER"
        if "token" in op:
            # A token from elsewhere (here: signed by the test), handed over by oauth_cb.
            c["oauth_cb"] = lambda _config: (op["token"], time.time() + 300)
        else:
            # librdkafka's own unsecured JWT (development).
            c["enable.sasl.oauthbearer.unsecure.jwt"] = True
            c["sasl.oauthbearer.config"] = "principal=%s" % op["principal"]
    elif "mechanism" in op:
        c.update({"sasl.mechanisms": op["mechanism"], "sasl.username": op["username"], "sasl.password": op["password"]})
    for key, name in (("ca", "ssl.ca.location"), ("cert", "ssl.certificate.location"), ("key", "ssl.key.location")):
        if key in op:
            c[name] = op[key]
    return c


def roundtrip(b, op):
    p = Producer({**conf(b, op), "linger.ms": 5, "message.timeout.ms": op.get("message_timeout_ms", 300000)})
    errors = []
    for v in op["values"]:
        p.produce(op["topic"], value=v.encode(), on_delivery=lambda e, m: e and errors.append(str(e)))
    if p.flush(30) != 0 or errors:
        return {"error": "produce failed: %s" % errors}
    c = Consumer({**conf(b, op), "group.id": op.get("group", "sasl-" + op["topic"]), "auto.offset.reset": "earliest"})
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
