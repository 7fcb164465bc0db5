"""A consumer-group member of the next-generation protocol (group.protocol=consumer, KIP-848)
with confluent-kafka (librdkafka), that a test can SIGKILL or stop cleanly ("stop" on stdin, or
stdin closing: the consumer closes and leaves the group).

Usage: confluent_consumer_protocol_member.py BOOTSTRAP GROUP (--topic T | --pattern REGEX)
                                             [--deadline-s N]

Each record is committed synchronously (offset + 1) before the next poll, then printed as
"REC topic partition offset key". "OWN t:p,t:p,..." ("OWN -" when empty) is printed whenever
the owned partitions change, "LEFT" after a clean close. Exits non-zero with "FAIL: ..." on
stderr on any error.
"""

import argparse
import select
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bootstrap")
    parser.add_argument("group")
    parser.add_argument("--topic")
    parser.add_argument("--pattern")
    parser.add_argument("--deadline-s", type=float, default=120)
    args = parser.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "group.protocol": "consumer",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "topic.metadata.refresh.interval.ms": 500,
    })
    # librdkafka subscribes to a regular expression when the name starts with "^".
    consumer.subscribe(["^" + args.pattern] if args.pattern else [args.topic])

    owned = None
    end = time.monotonic() + args.deadline_s
    while time.monotonic() < end:
        if stop_requested():
            consumer.close()
            print("LEFT", flush=True)
            return
        msg = consumer.poll(0.1)
        now_owned = sorted("%s:%d" % (tp.topic, tp.partition) for tp in consumer.assignment())
        if now_owned != owned:
            owned = now_owned
            print("OWN " + (",".join(owned) or "-"), flush=True)
        if msg is None:
            continue
        if msg.error():
            fail("poll: %s" % msg.error())
        tp = TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)
        try:
            consumer.commit(offsets=[tp], asynchronous=False)
        except KafkaException as e:
            fail("commit %s: %s" % (tp, e.args[0]))
        key = msg.key().decode() if msg.key() is not None else "-"
        print("REC %s %d %d %s" % (msg.topic(), msg.partition(), msg.offset(), key), flush=True)
    fail("still running after the %s s deadline" % args.deadline_s)


def stop_requested():
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    if not ready:
        return False
    line = sys.stdin.readline()
    return line == "" or line.strip() == "stop"


def fail(message):
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
