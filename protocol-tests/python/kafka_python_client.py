"""kafka-python 3 driven with its default config (idempotence on, acks=all), without a group.

Usage:
  kafka_python_client.py produce BOOTSTRAP TOPIC COUNT [--keys N]
      Record i has key "key-(i % N)", value "value-i" and headers seq=i, client=kafka-python.
      Prints "ACK partition offset key value" per record in send order, then "produced COUNT".
  kafka_python_client.py consume BOOTSTRAP TOPIC EXPECTED
      assign() every partition, seek_to_beginning(), poll until EXPECTED records arrived.
      Prints "REC partition offset key value headers" per record (headers as k=v joined by ",",
      "-" if none), then "consumed N". Fails if fewer or more than EXPECTED arrive.

The output matches the Java test programs, so a test can mix clients. Exits non-zero with a
message on any failure and never runs longer than DEADLINE_S.
"""

import argparse
import os
import signal
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

DEADLINE_S = 90


def fail(message):
    sys.stdout.flush()
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def on_deadline(_signum, _frame):
    sys.stdout.flush()
    print(f"FAIL: still running after the {DEADLINE_S} s deadline", file=sys.stderr, flush=True)
    os._exit(3)


def produce(args):
    # Only timeouts are changed from the defaults, so that a failure is quick.
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        key_serializer=str.encode,
        value_serializer=str.encode,
        request_timeout_ms=10_000,
        max_block_ms=20_000,
        delivery_timeout_ms=30_000,
    )
    if not producer.config["enable_idempotence"] or producer.config["acks"] != -1:
        fail(f"expected kafka-python defaults enable_idempotence=True acks=-1, got {producer.config}")
    sent = []
    for i in range(args.count):
        key, value = f"key-{i % args.keys}", f"value-{i}"
        headers = [("seq", str(i).encode()), ("client", b"kafka-python")]
        sent.append((key, value, producer.send(args.topic, key=key, value=value, headers=headers)))
    producer.flush(timeout=30)
    for key, value, future in sent:
        md = future.get(timeout=30)
        print(f"ACK {md.partition} {md.offset} {key} {value}")
    producer.close(timeout=10)
    print(f"produced {args.count}")


def consume(args):
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        enable_auto_commit=False,
        request_timeout_ms=10_000,
    )
    partitions = set()
    deadline = time.monotonic() + 20
    while not partitions and time.monotonic() < deadline:
        partitions = consumer.partitions_for_topic(args.topic)
        if not partitions:
            time.sleep(0.2)
    if not partitions:
        fail(f"no partitions for topic {args.topic}")
    assigned = [TopicPartition(args.topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)

    consumed = 0
    end = time.monotonic() + 40
    settle = None  # keep polling briefly after EXPECTED so that extra records are noticed
    while time.monotonic() < (settle or end):
        for records in consumer.poll(timeout_ms=200).values():
            for r in records:
                headers = ",".join(f"{k}={v.decode()}" for k, v in r.headers) or "-"
                key = r.key.decode() if r.key is not None else None
                value = r.value.decode() if r.value is not None else None
                print(f"REC {r.partition} {r.offset} {key} {value} {headers}")
                consumed += 1
        if consumed >= args.expected and settle is None:
            settle = time.monotonic() + 0.5
    consumer.close()
    print(f"consumed {consumed}")
    if consumed != args.expected:
        fail(f"expected {args.expected} records, got {consumed}")


def main():
    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(DEADLINE_S)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("produce")
    p.add_argument("bootstrap")
    p.add_argument("topic")
    p.add_argument("count", type=int)
    p.add_argument("--keys", type=int, default=7)
    c = sub.add_parser("consume")
    c.add_argument("bootstrap")
    c.add_argument("topic")
    c.add_argument("expected", type=int)
    args = parser.parse_args()
    try:
        produce(args) if args.command == "produce" else consume(args)
    except Exception as exc:  # noqa: BLE001 - any client error fails the test, loudly
        import traceback

        traceback.print_exc()
        fail(f"{args.command} failed: {exc!r}")


if __name__ == "__main__":
    main()
