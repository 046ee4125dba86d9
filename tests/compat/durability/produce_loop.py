"""Produces records in a loop with confluent-kafka (acks=all) until stdin closes or a limit is hit,
printing one JSON line per delivery report: {"i": seq, "p": partition, "o": offset, "err": null|str}.

Usage: produce_loop.py BOOTSTRAP TOPIC PARTITIONS MAX_RECORDS MAX_SECONDS

Record seq goes to partition seq % PARTITIONS with key "k<seq % 17>", a value that spells its seq
(record_value in durability_test.ts builds the same bytes) and the header ("seq", "<seq>"). The
test reads the reports while it kills the broker, so each line is flushed as soon as it is known.
"""
import json
import select
import sys
import time

from confluent_kafka import Producer


def value(seq):
    return ("rec-%d-" % seq).encode() + bytes((seq + j) % 256 for j in range(seq % 200))


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    partitions, max_records, max_seconds = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": 2,
        "message.timeout.ms": 1500,
        "socket.timeout.ms": 1000,
        "reconnect.backoff.max.ms": 200,
    })

    def report(seq):
        def cb(err, msg):
            line = {"i": seq, "p": msg.partition(), "o": msg.offset() if err is None else -1,
                    "err": None if err is None else err.name()}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

        return cb

    deadline = time.time() + max_seconds
    seq = 0
    while seq < max_records and time.time() < deadline:
        # Stop producing when the test closes stdin (after it killed the broker).
        if select.select([sys.stdin], [], [], 0)[0] and sys.stdin.read(1) == "":
            break
        try:
            producer.produce(topic, value=value(seq), key=b"k%d" % (seq % 17), partition=seq % partitions,
                             headers=[("seq", str(seq).encode())], on_delivery=report(seq))
            seq += 1
        except BufferError:
            producer.poll(0.01)
            continue
        if seq % 50 == 0:
            producer.poll(0)
            time.sleep(0.001)  # keep a steady stream rather than one burst
    producer.flush(3)


if __name__ == "__main__":
    main()
