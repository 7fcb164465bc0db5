"""Consumes through a consumer group with kafka-python 3: subscribe, poll until EXPECTED
records arrived (then a little longer, to notice extra ones), commit, close.

Usage: kafka_python_group.py BOOTSTRAP GROUP TOPIC EXPECTED

Prints "REC partition offset key value -" per record, then "COMMITTED partition offset" for
each assigned partition as read back with committed(), then "consumed N". Exits non-zero with
"FAIL: ..." on stderr if the count differs from EXPECTED or anything fails.
"""

import sys
import time

from kafka import KafkaConsumer


def main():
    bootstrap, group, topic, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        request_timeout_ms=20000,
    )
    consumer.subscribe([topic])
    # Known partitions before the first join: kafka-python 3.0.12 can otherwise stall for good
    # in the rebalance it starts when they arrive (see compat_kafka_python.py, member()).
    if not consumer.partitions_for_topic(topic):
        fail("no partitions for " + topic)
    consumed = 0
    end = time.monotonic() + 40
    settle = None
    while time.monotonic() < (settle or end):
        batches = consumer.poll(timeout_ms=200)
        for records in batches.values():
            for r in records:
                key = r.key.decode() if r.key is not None else "-"
                value = r.value.decode() if r.value is not None else "-"
                print("REC %d %d %s %s -" % (r.partition, r.offset, key, value), flush=True)
                consumed += 1
        if consumed >= expected and consumer.assignment() and settle is None:
            settle = time.monotonic() + 0.5
    consumer.commit()
    for tp in sorted(consumer.assignment()):
        offset = consumer.committed(tp)
        print("COMMITTED %d %d" % (tp.partition, -1 if offset is None else offset), flush=True)
    consumer.close()
    print("consumed %d" % consumed, flush=True)
    if consumed != expected:
        fail("expected %d records, got %d" % (expected, consumed))


def fail(message):
    sys.stdout.flush()
    print("FAIL: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any failure must fail the test loudly
        import traceback

        traceback.print_exc()
        fail(repr(e))
