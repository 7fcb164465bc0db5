"""confluent-kafka's transactional API against weir.

Usage:
  txn_confluent.py pipeline BOOTSTRAP IN OUT GROUP TRANSACTIONAL_ID COUNT
      Produces COUNT records "in-<i>" to IN (not transactional), then: one transaction of 5
      records "junk-<i>" to OUT, aborted ("ABORTED 5"); then a consume-transform-produce loop
      (group GROUP, read_committed) writing "out:" + value to OUT and the input offsets with
      send_offsets_to_transaction, one committed transaction per poll ("COMMITTED n"), until
      COUNT inputs are done ("DONE n").
  txn_confluent.py read BOOTSTRAP TOPIC PARTITIONS ISOLATION
      Reads every partition from the beginning at ISOLATION (read_committed or
      read_uncommitted) to its end; "VAL value" per record, then "READ n".

Exits non-zero with "FAIL: ..." on any failure and never runs longer than DEADLINE_S.
"""

import os
import signal
import sys

from confluent_kafka import Consumer, Producer, TopicPartition

DEADLINE_S = 90
TIMEOUT_S = 30


def fail(message):
    sys.stdout.flush()
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def on_deadline(_signum, _frame):
    sys.stdout.flush()
    print(f"FAIL: still running after the {DEADLINE_S} s deadline", file=sys.stderr, flush=True)
    os._exit(3)


def pipeline(bootstrap, src, dst, group, txn_id, count):
    plain = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        plain.produce(src, key=f"k{i % 7}", value=f"in-{i}")
    if plain.flush(TIMEOUT_S) != 0:
        fail("inputs not delivered")

    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    producer.init_transactions(TIMEOUT_S)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(dst, key=f"j{i}", value=f"junk-{i}")
    producer.flush(TIMEOUT_S)
    producer.abort_transaction(TIMEOUT_S)
    print("ABORTED 5", flush=True)

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    consumer.subscribe([src])
    done = 0
    while done < count:
        batch = consumer.consume(num_messages=10, timeout=0.5)
        if not batch:
            continue
        producer.begin_transaction()
        for m in batch:
            if m.error():
                fail(f"consume: {m.error()}")
            producer.produce(dst, key=m.key(), value=b"out:" + m.value())
        done += len(batch)
        producer.send_offsets_to_transaction(
            consumer.position(consumer.assignment()),
            consumer.consumer_group_metadata(),
            TIMEOUT_S,
        )
        producer.commit_transaction(TIMEOUT_S)
        print(f"COMMITTED {done}", flush=True)
    consumer.close()
    print(f"DONE {done}", flush=True)


def read(bootstrap, topic, partitions, isolation):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "txn-read",
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    at_end = set()
    read = 0
    while len(at_end) < partitions:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                at_end.add(m.partition())
                continue
            fail(f"consume: {m.error()}")
        print(f"VAL {m.value().decode()}")
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
