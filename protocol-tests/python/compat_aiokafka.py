"""aiokafka in the compatibility suite: the contract in compat_common.py."""

import asyncio
import signal
import sys
import time

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka import codec as acodec
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError

import compat_common as c

CLIENT = "aiokafka"
TIMEOUT_MS = 20000


def supported_codecs():
    have = {"gzip": acodec.has_gzip(), "snappy": acodec.has_snappy(), "lz4": acodec.has_lz4(),
            "zstd": acodec.has_zstd()}
    return ["none"] + [k for k, v in have.items() if v]


async def info():
    c.out("VERSION", aiokafka.__version__)
    c.out("CODECS", ",".join(supported_codecs()))


async def topics(bootstrap, auto, admin_topic):
    p = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await p.start()
    await p.send_and_wait(auto, key=b"auto", value=b"auto")
    c.out("AUTO", len(await p.partitions_for(auto)))
    await p.stop()

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_MS)
    await admin.start()
    await admin.create_topics([NewTopic(admin_topic, num_partitions=4, replication_factor=1)])
    desc = await admin.describe_topics([admin_topic])
    c.check(len(desc) == 1 and desc[0]["error_code"] == 0, "describe: %r" % desc)
    c.out("DESCRIBED", len(desc[0]["partitions"]))
    await admin.delete_topics([admin_topic])
    end = time.monotonic() + 20
    while admin_topic in await admin.list_topics():
        c.check(time.monotonic() < end, "deleted topic still listed")
        await asyncio.sleep(0.2)
    c.out("DELETED")
    await admin.close()


async def produce(bootstrap, count, ts_base, *specs):
    count, ts_base = int(count), int(ts_base)
    for topic, codec, idempotent in c.jobs(specs):
        conf = {"bootstrap_servers": bootstrap, "compression_type": None if codec == "none" else codec}
        if idempotent:
            conf["enable_idempotence"] = True
        p = AIOKafkaProducer(**conf)
        await p.start()
        futures = []
        for i in range(count):
            k = c.key(i)
            futures.append(await p.send(topic, key=None if k is None else k.encode(),
                                        value=c.value(topic, i).encode(), headers=c.headers(i, CLIENT),
                                        timestamp_ms=ts_base + i))
        await p.flush()
        for i, f in enumerate(futures):
            md = await asyncio.wait_for(f, 30)
            c.out("ACK", topic, i, md.partition, md.offset)
        await p.stop()


def print_record(r):
    c.rec(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, r.headers)


async def partitions(cons, topic):
    end = time.monotonic() + 20
    while True:
        # What the public topics() reads, keeping the partitions it drops.
        parts = (await cons._client.fetch_all_metadata()).partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        c.check(time.monotonic() < end, "no partitions for " + topic)
        await asyncio.sleep(0.2)


async def consume(bootstrap, *specs):
    wanted = c.topic_counts(specs)
    cons = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                            request_timeout_ms=TIMEOUT_MS)
    await cons.start()
    tps = []
    for topic, _ in wanted:
        tps += [TopicPartition(topic, p) for p in await partitions(cons, topic)]
    cons.assign(tps)
    await cons.seek_to_beginning(*tps)
    total, got = sum(n for _, n in wanted), 0
    end, settle = time.monotonic() + 40, None
    while time.monotonic() < (settle or end):
        for records in (await cons.getmany(timeout_ms=200)).values():
            for r in records:
                print_record(r)
                got += 1
        if got >= total and settle is None:
            settle = time.monotonic() + 0.5
    await cons.stop()


class Listener(ConsumerRebalanceListener):
    async def on_partitions_revoked(self, revoked):
        c.out("ASSIGNED", "-")

    async def on_partitions_assigned(self, assigned):
        c.out("ASSIGNED", ",".join(str(tp.partition) for tp in sorted(assigned)) or "-")


async def member(bootstrap, group, topic):
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    cons = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                            auto_offset_reset="earliest", session_timeout_ms=3000, heartbeat_interval_ms=500,
                            max_poll_interval_ms=20000, request_timeout_ms=TIMEOUT_MS)
    cons.subscribe([topic], listener=Listener())
    await cons.start()
    while not stop.is_set():
        for tp, records in (await cons.getmany(timeout_ms=200)).items():
            for r in records:
                try:
                    await cons.commit({tp: r.offset + 1})
                except (CommitFailedError, KafkaError) as e:
                    print("commit failed, not processed: %r" % e, file=sys.stderr, flush=True)
                    break
                print_record(r)
    await cons.stop()
    c.out("CLOSED")


async def first_after(cons, tp, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for records in (await cons.getmany(tp, timeout_ms=200, max_records=1)).values():
            return records[0].offset
    return -1


async def seek(bootstrap, topic, ts):
    ts = int(ts)
    cons = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                            request_timeout_ms=TIMEOUT_MS)
    await cons.start()
    tp = TopicPartition(topic, 0)
    cons.assign([tp])
    await cons.seek_to_beginning(tp)
    read = 0
    end = time.monotonic() + 20
    while read < 10 and time.monotonic() < end:
        read += sum(len(rs) for rs in (await cons.getmany(timeout_ms=200)).values())
    c.out("READ", read)
    await cons.seek_to_beginning(tp)
    c.out("BEGINNING", await first_after(cons, tp))
    cons.seek(tp, c.SEEK_OFFSET)
    c.out("OFFSET", await first_after(cons, tp))
    found = (await cons.offsets_for_times({tp: ts + c.SEEK_TS_DELTA}))[tp]
    cons.seek(tp, found.offset)
    c.out("TIMESTAMP", await first_after(cons, tp))
    await cons.seek_to_end(tp)
    c.out("ENDPOS", await cons.position(tp))
    late = 0
    end = time.monotonic() + 1
    while time.monotonic() < end:
        late += sum(len(rs) for rs in (await cons.getmany(timeout_ms=200)).values())
    c.out("END", late)
    await cons.stop()


def sync(fn):
    return lambda *args: asyncio.run(fn(*args))


if __name__ == "__main__":
    c.run({"info": sync(info), "topics": sync(topics), "produce": sync(produce), "consume": sync(consume),
           "member": sync(member), "seek": sync(seek)})
