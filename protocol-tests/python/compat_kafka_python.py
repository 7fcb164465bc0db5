"""kafka-python 3 in the compatibility suite: the contract in compat_common.py."""

import signal
import sys
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata
from kafka import codec as kcodec

import compat_common as c

CLIENT = "kafka-python"
TIMEOUT_MS = 20000


def supported_codecs():
    have = {"gzip": kcodec.has_gzip(), "snappy": kcodec.has_snappy(), "lz4": kcodec.has_lz4(),
            "zstd": kcodec.has_zstd()}
    return ["none"] + [k for k, v in have.items() if v]


def info():
    c.out("VERSION", kafka.__version__)
    c.out("CODECS", ",".join(supported_codecs()))


def topics(bootstrap, auto, admin_topic):
    p = KafkaProducer(bootstrap_servers=bootstrap)
    p.send(auto, key=b"auto", value=b"auto").get(timeout=20)
    c.out("AUTO", len(p.partitions_for(auto)))
    p.close()

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_MS)
    admin.create_topics([NewTopic(admin_topic, num_partitions=4, replication_factor=1)], timeout_ms=TIMEOUT_MS)
    desc = admin.describe_topics([admin_topic])
    c.check(len(desc) == 1 and desc[0].get("error_code", 0) == 0, "describe: %r" % desc)
    c.out("DESCRIBED", len(desc[0]["partitions"]))
    admin.delete_topics([admin_topic], timeout_ms=TIMEOUT_MS)
    end = time.monotonic() + 20
    while admin_topic in admin.list_topics():
        c.check(time.monotonic() < end, "deleted topic still listed")
        time.sleep(0.2)
    c.out("DELETED")
    admin.close()


def produce(bootstrap, count, ts_base, *specs):
    count, ts_base = int(count), int(ts_base)
    for topic, codec, idempotent in c.jobs(specs):
        conf = {"bootstrap_servers": bootstrap, "compression_type": None if codec == "none" else codec}
        if idempotent:
            conf["enable_idempotence"] = True  # already the default in kafka-python 3
        p = KafkaProducer(**conf)
        futures = []
        for i in range(count):
            k = c.key(i)
            futures.append(p.send(topic, key=None if k is None else k.encode(), value=c.value(topic, i).encode(),
                                  headers=c.headers(i, CLIENT), timestamp_ms=ts_base + i))
        p.flush(timeout=30)
        for i, f in enumerate(futures):
            md = f.get(timeout=30)
            c.out("ACK", topic, i, md.partition, md.offset)
        p.close()


def print_record(r):
    c.rec(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value, r.headers)


def consume(bootstrap, *specs):
    wanted = c.topic_counts(specs)
    cons = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                         request_timeout_ms=TIMEOUT_MS)
    tps = []
    for topic, _ in wanted:
        end = time.monotonic() + 20
        parts = None
        while not parts:
            c.check(time.monotonic() < end, "no partitions for " + topic)
            parts = cons.partitions_for_topic(topic)
            time.sleep(0 if parts else 0.2)
        tps += [TopicPartition(topic, p) for p in sorted(parts)]
    cons.assign(tps)
    cons.seek_to_beginning(*tps)
    total, got = sum(n for _, n in wanted), 0
    end, settle = time.monotonic() + 40, None
    while time.monotonic() < (settle or end):
        for records in cons.poll(timeout_ms=200).values():
            for r in records:
                print_record(r)
                got += 1
        if got >= total and settle is None:
            settle = time.monotonic() + 0.5
    cons.close()


class Listener(kafka.ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        c.out("ASSIGNED", "-")

    def on_partitions_assigned(self, assigned):
        c.out("ASSIGNED", ",".join(str(tp.partition) for tp in sorted(assigned)) or "-")


def member(bootstrap, group, topic):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    cons = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", session_timeout_ms=3000, heartbeat_interval_ms=500,
                         max_poll_interval_ms=20000, request_timeout_ms=TIMEOUT_MS)
    cons.subscribe([topic], listener=Listener())
    # kafka-python 3.0.12 can stall for good when it leads a rebalance it started itself
    # because the topic's partitions differ from its last assignment (its first assignment,
    # made before it had the topic's metadata, counts). Its own assignment already makes
    # need_rejoin() false, so a poll() whose timeout ends between its SyncGroup request and the
    # answer leaves the join unfinished, and no later poll() collects it: no heartbeat, no
    # fetch, the session expires and the member never rejoins. Any broker's SyncGroup round
    # trip opens that window (delaying the answer by 300 ms stalls it every time). With the
    # topic's partitions known before the first join, the first assignment is already
    # complete and that rebalance never happens.
    c.check(len(cons.partitions_for_topic(topic)) > 0, "no partitions for " + topic)
    while not stop:
        for tp, records in cons.poll(timeout_ms=200).items():
            for r in records:
                try:
                    cons.commit({tp: OffsetAndMetadata(r.offset + 1, "", -1)})
                except (CommitFailedError, KafkaError) as e:
                    print("commit failed, not processed: %r" % e, file=sys.stderr, flush=True)
                    break
                print_record(r)
    cons.close()
    c.out("CLOSED")


def first_after(cons, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for records in cons.poll(timeout_ms=200, max_records=1).values():
            return records[0].offset
    return -1


def seek(bootstrap, topic, ts):
    ts = int(ts)
    cons = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                         request_timeout_ms=TIMEOUT_MS)
    tp = TopicPartition(topic, 0)
    cons.assign([tp])
    cons.seek_to_beginning(tp)
    read = 0
    end = time.monotonic() + 20
    while read < 10 and time.monotonic() < end:
        read += sum(len(rs) for rs in cons.poll(timeout_ms=200).values())
    c.out("READ", read)
    cons.seek_to_beginning(tp)
    c.out("BEGINNING", first_after(cons))
    cons.seek(tp, c.SEEK_OFFSET)
    c.out("OFFSET", first_after(cons))
    found = cons.offsets_for_times({tp: ts + c.SEEK_TS_DELTA})[tp]
    cons.seek(tp, found.offset)
    c.out("TIMESTAMP", first_after(cons))
    cons.seek_to_end(tp)
    c.out("ENDPOS", cons.position(tp))
    late = 0
    end = time.monotonic() + 1
    while time.monotonic() < end:
        late += sum(len(rs) for rs in cons.poll(timeout_ms=200).values())
    c.out("END", late)
    cons.close()


if __name__ == "__main__":
    c.run({"info": info, "topics": topics, "produce": produce, "consume": consume,
           "member": member, "seek": seek})
