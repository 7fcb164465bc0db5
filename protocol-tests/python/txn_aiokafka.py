"""aiokafka at an isolation level against weir.

Usage:
  txn_aiokafka.py read BOOTSTRAP TOPIC PARTITIONS ISOLATION
      As txn_confluent.py read (same lines printed).

Exits non-zero with "FAIL: ..." on any failure and never runs longer than DEADLINE_S.
"""

import asyncio
import sys

from aiokafka import AIOKafkaConsumer, TopicPartition

DEADLINE_S = 90


def fail(message):
    sys.stdout.flush()
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


async def read(bootstrap, topic, partitions, isolation):
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level=isolation, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        read = 0
        while True:
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= end[tp] for pos, tp in zip(positions, tps)):
                break
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    print(f"VAL {r.value.decode()}")
                    read += 1
        print(f"READ {read}", flush=True)
    finally:
        await consumer.stop()


def main():
    args = sys.argv[1:]
    if args[:1] == ["read"] and len(args) == 5:
        asyncio.run(asyncio.wait_for(read(args[1], args[2], int(args[3]), args[4]), DEADLINE_S))
    else:
        fail(f"usage: see the docstring; got {args}")


if __name__ == "__main__":
    main()
