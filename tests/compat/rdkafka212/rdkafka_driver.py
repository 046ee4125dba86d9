"""Drives librdkafka 2.12 through its C API (ctypes) for rdkafka212_test.ts.

librdkafka 2.12 is the one node-rdkafka 3.6.1 builds (scripts/install_node_rdkafka.sh); node-rdkafka
exposes none of its newer admin calls, so this driver calls the shared library directly. The
protocol work (request versions, encoding, retries, fallbacks, KIP-320 offset validation) is all
librdkafka's; this file only passes arguments in and copies results out.

Reads {"bootstrap": "host:port", "ops": [...]} on stdin (tests/compat/shared/json_driver.py), with
the library's path in the KBIN_LIBRDKAFKA environment variable, and prints {"results": [...]}.

Ops (names refer to clients this process keeps until it exits):
  describe_configs    resources [{type, name, keys?}], synonyms -> [{type, name, error, configs}]
  alter_configs       resources [{type, name, configs {k: v}}], validate_only -> [{type, name, error}]
  incremental_alter   resources [{type, name, ops [[op, name, value]]}], validate_only
                      -> [{type, name, error}]; op is SET, DELETE, APPEND or SUBTRACT
  describe_groups     groups, authorized_operations -> [{group, error, state, type, assignor, simple,
                      members [{client_id, consumer_id, instance_id, host, assignment, target}]}]
  produce             topic, partition, values, conf {k: v}? -> {delivered}
  consumer            name, conf {k: v}, subscribe [topics]? -> {}
  wait_assignment     name, count, timeout_s -> {assignment} (polls until `count` partitions)
  assign              name, topic, partition, offset -> {}
  consume             name, count, timeout_s, until_error -> {messages [{p, o, epoch, v}], errors [{name, str}]}
                      (polls until `count` messages, or the first error with until_error, or the timeout)
  seek                name, topic, partition, offset, epoch (rd_kafka_seek_partitions), then consume
                      like `consume` -> also {seek_error}
  close               name -> {}
  signal              path -> {} (creates the file: tells the test this point was reached)
  wait_file           path, timeout_s -> {} (waits until the test creates the file)
Errors travel as {"code", "name", "str"} (None when there is none). It never judges anything: the
TypeScript test does.
"""
import ctypes
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared"))
from json_driver import run_plan  # noqa: E402

lib = ctypes.CDLL(os.environ["KBIN_LIBRDKAFKA"])
P = ctypes.c_void_p
S = ctypes.c_char_p
SZ = ctypes.c_size_t


def fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


class TopicPartition(ctypes.Structure):
    _fields_ = [("topic", S), ("partition", ctypes.c_int32), ("offset", ctypes.c_int64),
                ("metadata", P), ("metadata_size", SZ), ("opaque", P), ("err", ctypes.c_int), ("_private", P)]


class TopicPartitionList(ctypes.Structure):
    _fields_ = [("cnt", ctypes.c_int), ("size", ctypes.c_int), ("elems", ctypes.POINTER(TopicPartition))]


class Message(ctypes.Structure):
    _fields_ = [("err", ctypes.c_int), ("rkt", P), ("partition", ctypes.c_int32), ("payload", P), ("len", SZ),
                ("key", P), ("key_len", SZ), ("offset", ctypes.c_int64), ("_private", P)]


TPL = ctypes.POINTER(TopicPartitionList)
MSG = ctypes.POINTER(Message)

version_str = fn("rd_kafka_version_str", S)
err2name = fn("rd_kafka_err2name", S, ctypes.c_int)
err2str = fn("rd_kafka_err2str", S, ctypes.c_int)
conf_new = fn("rd_kafka_conf_new", P)
conf_set = fn("rd_kafka_conf_set", ctypes.c_int, P, S, S, S, SZ)
kafka_new = fn("rd_kafka_new", P, ctypes.c_int, P, S, SZ)
kafka_destroy = fn("rd_kafka_destroy", None, P)
queue_new = fn("rd_kafka_queue_new", P, P)
queue_poll = fn("rd_kafka_queue_poll", P, P, ctypes.c_int)
event_error = fn("rd_kafka_event_error", ctypes.c_int, P)
event_error_string = fn("rd_kafka_event_error_string", S, P)
event_destroy = fn("rd_kafka_event_destroy", None, P)
error_code = fn("rd_kafka_error_code", ctypes.c_int, P)
error_string = fn("rd_kafka_error_string", S, P)
error_destroy = fn("rd_kafka_error_destroy", None, P)
options_new = fn("rd_kafka_AdminOptions_new", P, P, ctypes.c_int)
options_set_timeout = fn("rd_kafka_AdminOptions_set_request_timeout", ctypes.c_int, P, ctypes.c_int, S, SZ)
options_set_validate_only = fn("rd_kafka_AdminOptions_set_validate_only", ctypes.c_int, P, ctypes.c_int, S, SZ)
options_set_auth_ops = fn("rd_kafka_AdminOptions_set_include_authorized_operations", P, P, ctypes.c_int)
resource_new = fn("rd_kafka_ConfigResource_new", P, ctypes.c_int, S)
resource_set_config = fn("rd_kafka_ConfigResource_set_config", ctypes.c_int, P, S, S)
resource_add_incremental = fn("rd_kafka_ConfigResource_add_incremental_config", P, P, S, ctypes.c_int, S)
resource_destroy_array = fn("rd_kafka_ConfigResource_destroy_array", None, ctypes.POINTER(P), SZ)
resource_name = fn("rd_kafka_ConfigResource_name", S, P)
resource_type = fn("rd_kafka_ConfigResource_type", ctypes.c_int, P)
resource_error = fn("rd_kafka_ConfigResource_error", ctypes.c_int, P)
resource_error_string = fn("rd_kafka_ConfigResource_error_string", S, P)
resource_configs = fn("rd_kafka_ConfigResource_configs", ctypes.POINTER(P), P, ctypes.POINTER(SZ))
entry_name = fn("rd_kafka_ConfigEntry_name", S, P)
entry_value = fn("rd_kafka_ConfigEntry_value", S, P)
entry_source = fn("rd_kafka_ConfigEntry_source", ctypes.c_int, P)
entry_read_only = fn("rd_kafka_ConfigEntry_is_read_only", ctypes.c_int, P)
entry_default = fn("rd_kafka_ConfigEntry_is_default", ctypes.c_int, P)
entry_sensitive = fn("rd_kafka_ConfigEntry_is_sensitive", ctypes.c_int, P)
entry_synonyms = fn("rd_kafka_ConfigEntry_synonyms", ctypes.POINTER(P), P, ctypes.POINTER(SZ))
alter_configs = fn("rd_kafka_AlterConfigs", None, P, ctypes.POINTER(P), SZ, P, P)
incremental_alter_configs = fn("rd_kafka_IncrementalAlterConfigs", None, P, ctypes.POINTER(P), SZ, P, P)
describe_configs = fn("rd_kafka_DescribeConfigs", None, P, ctypes.POINTER(P), SZ, P, P)
alter_result = fn("rd_kafka_event_AlterConfigs_result", P, P)
alter_result_resources = fn("rd_kafka_AlterConfigs_result_resources", ctypes.POINTER(P), P, ctypes.POINTER(SZ))
incremental_result = fn("rd_kafka_event_IncrementalAlterConfigs_result", P, P)
incremental_result_resources = fn("rd_kafka_IncrementalAlterConfigs_result_resources", ctypes.POINTER(P), P,
                                  ctypes.POINTER(SZ))
describe_result = fn("rd_kafka_event_DescribeConfigs_result", P, P)
describe_result_resources = fn("rd_kafka_DescribeConfigs_result_resources", ctypes.POINTER(P), P, ctypes.POINTER(SZ))
describe_groups = fn("rd_kafka_DescribeConsumerGroups", None, P, ctypes.POINTER(S), SZ, P, P)
groups_result = fn("rd_kafka_event_DescribeConsumerGroups_result", P, P)
groups_result_groups = fn("rd_kafka_DescribeConsumerGroups_result_groups", ctypes.POINTER(P), P, ctypes.POINTER(SZ))
group_id = fn("rd_kafka_ConsumerGroupDescription_group_id", S, P)
group_error = fn("rd_kafka_ConsumerGroupDescription_error", P, P)
group_simple = fn("rd_kafka_ConsumerGroupDescription_is_simple_consumer_group", ctypes.c_int, P)
group_assignor = fn("rd_kafka_ConsumerGroupDescription_partition_assignor", S, P)
group_state = fn("rd_kafka_ConsumerGroupDescription_state", ctypes.c_int, P)
group_type = fn("rd_kafka_ConsumerGroupDescription_type", ctypes.c_int, P)
group_member_count = fn("rd_kafka_ConsumerGroupDescription_member_count", SZ, P)
group_member = fn("rd_kafka_ConsumerGroupDescription_member", P, P, SZ)
state_name = fn("rd_kafka_consumer_group_state_name", S, ctypes.c_int)
type_name = fn("rd_kafka_consumer_group_type_name", S, ctypes.c_int)
member_client_id = fn("rd_kafka_MemberDescription_client_id", S, P)
member_consumer_id = fn("rd_kafka_MemberDescription_consumer_id", S, P)
member_instance_id = fn("rd_kafka_MemberDescription_group_instance_id", S, P)
member_host = fn("rd_kafka_MemberDescription_host", S, P)
member_assignment = fn("rd_kafka_MemberDescription_assignment", P, P)
member_target = fn("rd_kafka_MemberDescription_target_assignment", P, P)
assignment_partitions = fn("rd_kafka_MemberAssignment_partitions", TPL, P)
tpl_new = fn("rd_kafka_topic_partition_list_new", TPL, ctypes.c_int)
tpl_add = fn("rd_kafka_topic_partition_list_add", ctypes.POINTER(TopicPartition), TPL, S, ctypes.c_int32)
tpl_destroy = fn("rd_kafka_topic_partition_list_destroy", None, TPL)
tp_set_leader_epoch = fn("rd_kafka_topic_partition_set_leader_epoch", None, ctypes.POINTER(TopicPartition),
                         ctypes.c_int32)
poll_set_consumer = fn("rd_kafka_poll_set_consumer", ctypes.c_int, P)
subscribe = fn("rd_kafka_subscribe", ctypes.c_int, P, TPL)
assign = fn("rd_kafka_assign", ctypes.c_int, P, TPL)
assignment = fn("rd_kafka_assignment", ctypes.c_int, P, ctypes.POINTER(TPL))
seek_partitions = fn("rd_kafka_seek_partitions", P, P, TPL, ctypes.c_int)
consumer_poll = fn("rd_kafka_consumer_poll", MSG, P, ctypes.c_int)
consumer_close = fn("rd_kafka_consumer_close", ctypes.c_int, P)
message_destroy = fn("rd_kafka_message_destroy", None, MSG)
message_leader_epoch = fn("rd_kafka_message_leader_epoch", ctypes.c_int32, MSG)
message_errstr = fn("rd_kafka_message_errstr", S, MSG)
topic_new = fn("rd_kafka_topic_new", P, P, S, P)
topic_destroy = fn("rd_kafka_topic_destroy", None, P)
produce_fn = fn("rd_kafka_produce", ctypes.c_int, P, ctypes.c_int32, ctypes.c_int, P, SZ, P, SZ, P)
flush = fn("rd_kafka_flush", ctypes.c_int, P, ctypes.c_int)
outq_len = fn("rd_kafka_outq_len", ctypes.c_int, P)

PRODUCER, CONSUMER = 0, 1
RESOURCE_TYPES = {"TOPIC": 2, "GROUP": 3, "BROKER": 4}
RESOURCE_NAMES = {v: k for k, v in RESOURCE_TYPES.items()}
OP_TYPES = {"SET": 0, "DELETE": 1, "APPEND": 2, "SUBTRACT": 3}
ADMIN_OP = {"ALTERCONFIGS": 4, "DESCRIBECONFIGS": 5, "DESCRIBECONSUMERGROUPS": 13, "INCREMENTALALTERCONFIGS": 16}
SOURCES = {0: "UNKNOWN", 1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG", 3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
           4: "STATIC_BROKER_CONFIG", 5: "DEFAULT_CONFIG", 6: "GROUP_CONFIG"}
OFFSET_BEGINNING = -2


def text(b):
    return None if b is None else b.decode("utf-8")


def kerr(code, message=None):
    if code == 0:
        return None
    return {"code": code, "name": text(err2name(code)), "str": text(message) if message else text(err2str(code))}


def error_obj(err_ptr):
    """A rd_kafka_error_t (or NULL) as {"code", "name", "str"} (or None)."""
    if not err_ptr:
        return None
    return kerr(error_code(err_ptr), error_string(err_ptr))


def new_client(kind, bootstrap, conf):
    c = conf_new()
    errstr = ctypes.create_string_buffer(512)
    settings = {"bootstrap.servers": bootstrap, "client.id": "kbin-rdkafka212"}
    settings.update(conf)
    for k, v in settings.items():
        if conf_set(c, k.encode(), str(v).encode(), errstr, 512) != 0:
            raise RuntimeError("conf %s=%s: %s" % (k, v, text(errstr.value)))
    rk = kafka_new(kind, c, errstr, 512)
    if not rk:
        raise RuntimeError("rd_kafka_new: %s" % text(errstr.value))
    return rk


_admin = {}


def admin(bootstrap):
    if "rk" not in _admin:
        _admin["rk"] = new_client(PRODUCER, bootstrap, {"client.id": "kbin-rdkafka212-admin"})
        _admin["q"] = queue_new(_admin["rk"])
    return _admin["rk"], _admin["q"]


def options(rk, op_name, validate_only=False, authorized_operations=False):
    opts = options_new(rk, ADMIN_OP[op_name])
    errstr = ctypes.create_string_buffer(512)
    options_set_timeout(opts, 15000, errstr, 512)
    if validate_only:
        options_set_validate_only(opts, 1, errstr, 512)
    if authorized_operations:
        options_set_auth_ops(opts, 1)
    return opts


def wait_event(q, result_fn, timeout_s=30):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        ev = queue_poll(q, 200)
        if not ev:
            continue
        res = result_fn(ev)
        if res:
            return ev, res
        event_destroy(ev)
    raise TimeoutError("no admin result within %d s" % timeout_s)


def resources_array(resources, build):
    arr = (P * len(resources))()
    for i, r in enumerate(resources):
        arr[i] = resource_new(RESOURCE_TYPES[r["type"]], r["name"].encode())
        build(arr[i], r)
    return arr


def read_resources(ptr, cnt, with_configs):
    out = []
    for i in range(cnt.value):
        res = ptr[i]
        item = {"type": RESOURCE_NAMES.get(resource_type(res), resource_type(res)), "name": text(resource_name(res)),
                "error": kerr(resource_error(res), resource_error_string(res))}
        if with_configs:
            n = SZ()
            entries = resource_configs(res, ctypes.byref(n))
            item["configs"] = [read_entry(entries[j]) for j in range(n.value)]
        out.append(item)
    return out


def read_entry(e):
    n = SZ()
    syn = entry_synonyms(e, ctypes.byref(n))
    return {"name": text(entry_name(e)), "value": text(entry_value(e)), "source": SOURCES.get(entry_source(e)),
            "read_only": bool(entry_read_only(e)), "default": bool(entry_default(e)),
            "sensitive": bool(entry_sensitive(e)),
            "synonyms": [{"name": text(entry_name(syn[j])), "value": text(entry_value(syn[j])),
                          "source": SOURCES.get(entry_source(syn[j]))} for j in range(n.value)]}


def run_admin(bootstrap, op, call, result_fn, resources_fn, with_configs, build, op_name):
    rk, q = admin(bootstrap)
    arr = resources_array(op["resources"], build)
    opts = options(rk, op_name, op.get("validate_only", False))
    call(rk, arr, len(op["resources"]), opts, q)
    resource_destroy_array(arr, len(op["resources"]))
    ev, res = wait_event(q, result_fn)
    try:
        top = kerr(event_error(ev), event_error_string(ev))
        if top:
            return {"error": top}
        cnt = SZ()
        return {"error": None, "resources": read_resources(resources_fn(res, ctypes.byref(cnt)), cnt, with_configs)}
    finally:
        event_destroy(ev)


def op_describe_configs(bootstrap, op):
    def build(res, r):
        # Names to describe (librdkafka sends them as configuration_keys; it needs a value, unused).
        for k in r.get("keys", []):
            resource_set_config(res, k.encode(), b"")

    return run_admin(bootstrap, op, describe_configs, describe_result, describe_result_resources, True, build,
                     "DESCRIBECONFIGS")


def op_alter_configs(bootstrap, op):
    def build(res, r):
        for k, v in r["configs"].items():
            resource_set_config(res, k.encode(), None if v is None else v.encode())

    return run_admin(bootstrap, op, alter_configs, alter_result, alter_result_resources, False, build, "ALTERCONFIGS")


def op_incremental_alter(bootstrap, op):
    def build(res, r):
        for kind, name, value in r["ops"]:
            err = resource_add_incremental(res, name.encode(), OP_TYPES[kind],
                                           None if value is None else value.encode())
            if err:
                raise RuntimeError("add_incremental_config: %s" % text(error_string(err)))

    return run_admin(bootstrap, op, incremental_alter_configs, incremental_result, incremental_result_resources,
                     False, build, "INCREMENTALALTERCONFIGS")


def partitions_of(tpl):
    if not tpl:
        return []
    lst = tpl.contents
    return sorted("%s:%d" % (text(lst.elems[i].topic), lst.elems[i].partition) for i in range(lst.cnt))


def op_describe_groups(bootstrap, op):
    rk, q = admin(bootstrap)
    names = (S * len(op["groups"]))(*[g.encode() for g in op["groups"]])
    opts = options(rk, "DESCRIBECONSUMERGROUPS", authorized_operations=op.get("authorized_operations", False))
    describe_groups(rk, names, len(op["groups"]), opts, q)
    ev, res = wait_event(q, groups_result)
    try:
        top = kerr(event_error(ev), event_error_string(ev))
        if top:
            return {"error": top}
        cnt = SZ()
        groups = groups_result_groups(res, ctypes.byref(cnt))
        out = []
        for i in range(cnt.value):
            g = groups[i]
            members = []
            for j in range(group_member_count(g)):
                m = group_member(g, j)
                target = member_target(m)
                members.append({
                    "client_id": text(member_client_id(m)), "consumer_id": text(member_consumer_id(m)),
                    "instance_id": text(member_instance_id(m)), "host": text(member_host(m)),
                    "assignment": partitions_of(assignment_partitions(member_assignment(m))),
                    "target": None if not target else partitions_of(assignment_partitions(target)),
                })
            out.append({"group": text(group_id(g)), "error": error_obj(group_error(g)),
                        "state": text(state_name(group_state(g))), "type": text(type_name(group_type(g))),
                        "assignor": text(group_assignor(g)), "simple": bool(group_simple(g)), "members": members})
        return {"error": None, "groups": out}
    finally:
        event_destroy(ev)


def op_produce(bootstrap, op):
    rk = new_client(PRODUCER, bootstrap, {"client.id": "kbin-rdkafka212-producer", "linger.ms": "0", **op.get("conf", {})})
    rkt = topic_new(rk, op["topic"].encode(), None)
    for v in op["values"]:
        data = v.encode()
        buf = ctypes.create_string_buffer(data, len(data))
        # RD_KAFKA_MSG_F_COPY (2): librdkafka copies the payload.
        if produce_fn(rkt, op["partition"], 2, ctypes.cast(buf, P), len(data), None, 0, None) != 0:
            raise RuntimeError("rd_kafka_produce failed")
    flush(rk, 15000)
    left = outq_len(rk)
    topic_destroy(rkt)
    kafka_destroy(rk)
    return {"delivered": len(op["values"]) if left == 0 else len(op["values"]) - left}


_consumers = {}


def op_consumer(bootstrap, op):
    rk = new_client(CONSUMER, bootstrap, op["conf"])
    poll_set_consumer(rk)
    if op.get("subscribe"):
        tpl = tpl_new(len(op["subscribe"]))
        for t in op["subscribe"]:
            tpl_add(tpl, t.encode(), -1)
        err = subscribe(rk, tpl)
        tpl_destroy(tpl)
        if err:
            raise RuntimeError("subscribe: %s" % text(err2name(err)))
    _consumers[op["name"]] = rk
    return {}


def current_assignment(rk):
    tpl = TPL()
    assignment(rk, ctypes.byref(tpl))
    parts = partitions_of(tpl)
    tpl_destroy(tpl)
    return parts


def op_wait_assignment(bootstrap, op):
    rk = _consumers[op["name"]]
    deadline = time.time() + op.get("timeout_s", 20)
    parts = []
    while time.time() < deadline:
        msg = consumer_poll(rk, 50)
        if msg:
            message_destroy(msg)
        parts = current_assignment(rk)
        if len(parts) >= op["count"]:
            return {"assignment": parts}
    return {"assignment": parts, "timed_out": True}


def op_assign(bootstrap, op):
    rk = _consumers[op["name"]]
    tpl = tpl_new(1)
    tp = tpl_add(tpl, op["topic"].encode(), op["partition"])
    tp.contents.offset = op.get("offset", OFFSET_BEGINNING)
    err = assign(rk, tpl)
    tpl_destroy(tpl)
    if err:
        raise RuntimeError("assign: %s" % text(err2name(err)))
    return {}


def consume(rk, count, timeout_s, until_error=False):
    messages, errors = [], []
    deadline = time.time() + timeout_s
    while len(messages) < count and not (until_error and errors) and time.time() < deadline:
        msg = consumer_poll(rk, 50)
        if not msg:
            continue
        m = msg.contents
        if m.err == 0:
            value = ctypes.string_at(m.payload, m.len).decode() if m.payload else None
            messages.append({"p": m.partition, "o": m.offset, "epoch": message_leader_epoch(msg), "v": value})
        elif text(err2name(m.err)) != "_PARTITION_EOF":
            errors.append({"name": text(err2name(m.err)), "str": text(message_errstr(msg))})
        message_destroy(msg)
    return {"messages": messages, "errors": errors}


def op_consume(bootstrap, op):
    return consume(_consumers[op["name"]], op["count"], op.get("timeout_s", 10), op.get("until_error", False))


def op_seek(bootstrap, op):
    rk = _consumers[op["name"]]
    tpl = tpl_new(1)
    tp = tpl_add(tpl, op["topic"].encode(), op["partition"])
    tp.contents.offset = op["offset"]
    if op.get("epoch") is not None:
        tp_set_leader_epoch(tp, op["epoch"])
    err = seek_partitions(rk, tpl, 5000)
    seek_error = error_obj(err)
    if err:
        error_destroy(err)
    result = tpl.contents.elems[0].err
    tpl_destroy(tpl)
    out = consume(rk, op["count"], op.get("timeout_s", 10), op.get("until_error", False))
    out["seek_error"] = seek_error or kerr(result)
    return out


def op_close(bootstrap, op):
    rk = _consumers.pop(op["name"])
    consumer_close(rk)
    kafka_destroy(rk)
    return {}


def op_signal(bootstrap, op):
    with open(op["path"], "w"):
        pass
    return {}


def op_wait_file(bootstrap, op):
    deadline = time.monotonic() + op.get("timeout_s", 30)
    while not os.path.exists(op["path"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{op['path']} did not appear")
        time.sleep(0.02)
    return {}


def op_version(bootstrap, op):
    return {"version": text(version_str())}


run_plan({
    "version": op_version,
    "describe_configs": op_describe_configs,
    "alter_configs": op_alter_configs,
    "incremental_alter": op_incremental_alter,
    "describe_groups": op_describe_groups,
    "produce": op_produce,
    "consumer": op_consumer,
    "wait_assignment": op_wait_assignment,
    "assign": op_assign,
    "consume": op_consume,
    "seek": op_seek,
    "close": op_close,
    "signal": op_signal,
    "wait_file": op_wait_file,
})
