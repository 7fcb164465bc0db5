"""A consumer-group member (confluent-kafka, i.e. librdkafka) that a test can SIGKILL.

Usage: confluent_group_member.py BOOTSTRAP GROUP TOPIC [--strategy S] [--session-ms N]
                                 [--instance ID] [--deadline-s N]

Subscribes to TOPIC in GROUP and polls until killed (or the deadline passes). Each record is
committed synchronously (offset + 1) before the next poll; only then is it printed as
"REC partition offset key". "OWN p,p,..." ("OWN -" when empty) is printed whenever the owned
partitions change, "RETRY error" for a retried commit. Exits non-zero with "FAIL: ..." on
stderr on any other error.
"""

import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bootstrap")
    parser.add_argument("group")
    parser.add_argument("topic")
    parser.add_argument("--strategy", default="range,roundrobin")
    parser.add_argument("--session-ms", default="3000")
    parser.add_argument("--instance")
    parser.add_argument("--deadline-s", type=float, default=90)
    args = parser.parse_args()

    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": int(args.session_ms),
        "heartbeat.interval.ms": 300,
        "fetch.wait.max.ms": 100,
        "partition.assignment.strategy": args.strategy,
    }
    if args.instance:
        config["group.instance.id"] = args.instance
    consumer = Consumer(config)
    consumer.subscribe([args.topic])

    owned = None
    end = time.monotonic() + args.deadline_s
    while time.monotonic() < end:
        msg = consumer.poll(0.1)
        now_owned = sorted(tp.partition for tp in consumer.assignment())
        if now_owned != owned:
            owned = now_owned
            print("OWN " + (",".join(map(str, owned)) or "-"), flush=True)
        if msg is None:
            continue
        if msg.error():
            fail("poll: %s" % msg.error())
        commit(consumer, msg)
        key = msg.key().decode() if msg.key() is not None else "-"
        print("REC %d %d %s" % (msg.partition(), msg.offset(), key), flush=True)
    fail("still running after the %s s deadline" % args.deadline_s)


def commit(consumer, msg):
    tp = TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)
    give_up = time.monotonic() + 15
    while True:
        try:
            consumer.commit(offsets=[tp], asynchronous=False)
            return
        except KafkaException as e:
            err = e.args[0]
            if err.code() != KafkaError.REBALANCE_IN_PROGRESS or time.monotonic() > give_up:
                fail("commit %s: %s" % (tp, err))
            print("RETRY %s" % err.name(), flush=True)
            # No poll here: a record returned now would be lost. librdkafka completes the
            # SyncGroup in the background.
            time.sleep(0.05)


def fail(message):
    sys.stdout.flush()
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
