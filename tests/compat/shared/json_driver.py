"""The JSON driver protocol the Python compat drivers share (the Go drivers speak the same one).

A driver reads one plan from stdin, {"bootstrap": "host:port", "ops": [{"op": NAME, ...}, ...]},
runs every op once through the client library under test and prints {"results": [...]}: one
result per op, or {"exception": "Type: message"} for an op that raised, so one failure does not
hide the others. Per-op timings go to stderr. Record keys and values travel as base64 (None for null).
"""

import base64
import json
import sys
import time


def b64(b):
    return None if b is None else base64.b64encode(b).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def run_plan(ops):
    """Runs the plan on stdin with `ops`, a dict from op name to fn(bootstrap, op) -> result."""
    plan = json.load(sys.stdin)
    results = []
    for i, op in enumerate(plan["ops"]):
        started = time.time()
        try:
            results.append(ops[op["op"]](plan["bootstrap"], op))
        except Exception as e:  # the test shows it; a crash would hide the other results
            results.append({"exception": "%s: %s" % (type(e).__name__, e)})
        sys.stderr.write("op %d %s %s: %.2f s\n" % (i, op["op"], op.get("topic"), time.time() - started))
        sys.stderr.flush()
    json.dump({"results": results}, sys.stdout)
