"""confluent-kafka (librdkafka) in the compatibility suite: the contract in compat_common.py."""

import signal
import sys
import time

import confluent_kafka
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

import compat_common as c

CLIENT = "confluent-kafka"
TIMEOUT = 20


def info():
    c.out("VERSION", "%s (librdkafka %s)" % (confluent_kafka.__version__, confluent_kafka.libversion()[0]))
    c.out("CODECS", "none,gzip,snappy,lz4,zstd")


def deliver_one(bootstrap, topic):
    p = Producer({"bootstrap.servers": bootstrap})
    errors = []
    p.produce(topic, key=b"auto", value=b"auto", on_delivery=lambda err, _m: err and errors.append(err))
    c.check(p.flush(TIMEOUT) == 0 and not errors, "auto-create produce: %s" % errors)
    return p


def topics(bootstrap, auto, admin_topic):
    p = deliver_one(bootstrap, auto)
    md = p.list_topics(auto, timeout=TIMEOUT)
    c.out("AUTO", len(md.topics[auto].partitions))

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(admin_topic, num_partitions=4, replication_factor=1)],
                        request_timeout=TIMEOUT)[admin_topic].result(TIMEOUT)
    desc = admin.describe_topics(TopicCollection([admin_topic]), request_timeout=TIMEOUT)[admin_topic].result(TIMEOUT)
    c.out("DESCRIBED", len(desc.partitions))
    admin.delete_topics([admin_topic], request_timeout=TIMEOUT)[admin_topic].result(TIMEOUT)
    end = time.monotonic() + TIMEOUT
    while admin_topic in admin.list_topics(timeout=TIMEOUT).topics:
        c.check(time.monotonic() < end, "deleted topic still listed")
        time.sleep(0.2)
    c.out("DELETED")


def produce(bootstrap, count, ts_base, *specs):
    count, ts_base = int(count), int(ts_base)
    for topic, codec, idempotent in c.jobs(specs):
        conf = {"bootstrap.servers": bootstrap, "compression.type": codec}
        if idempotent:
            conf["enable.idempotence"] = True
        p = Producer(conf)
        acks, errors = {}, []

        def report(i):
            def cb(err, msg):
                if err is not None:
                    errors.append((i, err))
                else:
                    acks[i] = (msg.partition(), msg.offset())
            return cb

        for i in range(count):
            k = c.key(i)
            p.produce(topic, key=None if k is None else k.encode(), value=c.value(topic, i).encode(),
                      headers=c.headers(i, CLIENT), timestamp=ts_base + i, on_delivery=report(i))
        c.check(p.flush(30) == 0 and not errors, "delivery of %s: %s" % (topic, errors))
        for i in range(count):
            c.out("ACK", topic, i, *acks[i])


def consumer(bootstrap, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": "compat-confluent-reader",
            "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    conf.update(extra)
    return Consumer(conf)


def print_msg(m):
    c.rec(m.topic(), m.partition(), m.offset(), m.timestamp()[1], m.key(), m.value(), m.headers())


def consume(bootstrap, *specs):
    wanted = c.topic_counts(specs)
    cons = consumer(bootstrap)
    tps = []
    for topic, _ in wanted:
        md = cons.list_topics(topic, timeout=TIMEOUT)
        tps += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.topics[topic].partitions]
    cons.assign(tps)
    total, got = sum(n for _, n in wanted), 0
    end, settle = time.monotonic() + 40, None
    while time.monotonic() < (settle or end):
        m = cons.poll(0.2)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        print_msg(m)
        got += 1
        if got >= total and settle is None:
            settle = time.monotonic() + 0.5
    cons.close()


def member(bootstrap, group, topic):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    cons = consumer(bootstrap, **{"group.id": group, "session.timeout.ms": 3000,
                                  "heartbeat.interval.ms": 500, "max.poll.interval.ms": 20000})

    def on_assign(_c, parts):
        c.out("ASSIGNED", ",".join(str(p.partition) for p in sorted(parts, key=lambda p: p.partition)) or "-")

    def on_revoke(_c, _parts):
        c.out("ASSIGNED", "-")

    cons.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop:
        m = cons.poll(0.2)
        if m is None:
            continue
        if m.error():
            c.out("ERROR", m.error())
            continue
        try:
            cons.commit(offsets=[TopicPartition(m.topic(), m.partition(), m.offset() + 1)], asynchronous=False)
        except KafkaException as e:
            print("commit failed, not processed: %s" % e, file=sys.stderr, flush=True)
            continue
        print_msg(m)
    cons.close()
    c.out("CLOSED")


def first_after(cons, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = cons.poll(0.2)
        if m is not None and not m.error():
            return m.offset()
    return -1


def seek(bootstrap, topic, ts):
    ts = int(ts)
    cons = consumer(bootstrap)
    tp = TopicPartition(topic, 0, OFFSET_BEGINNING)
    cons.assign([tp])
    read = 0
    end = time.monotonic() + 20
    while read < 10 and time.monotonic() < end:
        m = cons.poll(0.2)
        if m is not None and not m.error():
            read += 1
    c.out("READ", read)
    cons.seek(TopicPartition(topic, 0, OFFSET_BEGINNING))
    c.out("BEGINNING", first_after(cons))
    cons.seek(TopicPartition(topic, 0, c.SEEK_OFFSET))
    c.out("OFFSET", first_after(cons))
    found = cons.offsets_for_times([TopicPartition(topic, 0, ts + c.SEEK_TS_DELTA)], timeout=TIMEOUT)[0]
    cons.seek(TopicPartition(topic, 0, found.offset))
    c.out("TIMESTAMP", first_after(cons))
    cons.seek(TopicPartition(topic, 0, OFFSET_END))
    late = 0
    end = time.monotonic() + 1
    while time.monotonic() < end:
        m = cons.poll(0.2)
        if m is not None and not m.error():
            late += 1
    # librdkafka knows a position only once a record arrived after the seek.
    position = cons.position([TopicPartition(topic, 0)])[0].offset
    if position >= 0:
        c.out("ENDPOS", position)
    c.out("END", late)
    cons.close()


if __name__ == "__main__":
    c.run({"info": info, "topics": topics, "produce": produce, "consume": consume,
           "member": member, "seek": seek})
