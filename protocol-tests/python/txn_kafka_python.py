"""kafka-python's transactional API against weir.

Usage:
  txn_kafka_python.py pipeline BOOTSTRAP IN OUT GROUP TRANSACTIONAL_ID COUNT
  txn_kafka_python.py read BOOTSTRAP TOPIC PARTITIONS ISOLATION
      As txn_confluent.py (same lines printed).

Exits non-zero with "FAIL: ..." on any failure and never runs longer than DEADLINE_S.
"""

import os
import signal
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

DEADLINE_S = 90


def fail(message):
    sys.stdout.flush()
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def on_deadline(_signum, _frame):
    sys.stdout.flush()
    print(f"FAIL: still running after the {DEADLINE_S} s deadline", file=sys.stderr, flush=True)
    os._exit(3)


def pipeline(bootstrap, src, dst, group, txn_id, count):
    plain = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(count):
        plain.send(src, key=f"k{i % 7}".encode(), value=f"in-{i}".encode())
    plain.flush(30)
    plain.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=txn_id)
    producer.init_transactions()
    producer.begin_transaction()
    for i in range(5):
        producer.send(dst, key=f"j{i}".encode(), value=f"junk-{i}".encode())
    producer.flush(30)
    producer.abort_transaction()
    print("ABORTED 5", flush=True)

    consumer = KafkaConsumer(
        src,
        bootstrap_servers=bootstrap,
        group_id=group,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=10,
    )
    done = 0
    while done < count:
        polled = consumer.poll(timeout_ms=500)
        records = [r for rs in polled.values() for r in rs]
        if not records:
            continue
        producer.begin_transaction()
        offsets = {}
        for r in records:
            producer.send(dst, key=r.key, value=b"out:" + r.value)
            offsets[TopicPartition(r.topic, r.partition)] = OffsetAndMetadata(r.offset + 1, "", -1)
        done += len(records)
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        producer.commit_transaction()
        print(f"COMMITTED {done}", flush=True)
    consumer.close()
    producer.close()
    print(f"DONE {done}", flush=True)


def read(bootstrap, topic, partitions, isolation):
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level=isolation, enable_auto_commit=False
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end = consumer.end_offsets(tps)
    read = 0
    while any(consumer.position(tp) < end[tp] for tp in tps):
        for rs in consumer.poll(timeout_ms=500).values():
            for r in rs:
                print(f"VAL {r.value.decode()}")
                read += 1
    consumer.close()
    print(f"READ {read}", flush=True)


def main():
    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(DEADLINE_S)
    args = sys.argv[1:]
    if args[:1] == ["pipeline"] and len(args) == 7:
        pipeline(args[1], args[2], args[3], args[4], args[5], int(args[6]))
    elif args[:1] == ["read"] and len(args) == 5:
        read(args[1], args[2], int(args[3]), args[4])
    else:
        fail(f"usage: see the docstring; got {args}")


if __name__ == "__main__":
    main()
