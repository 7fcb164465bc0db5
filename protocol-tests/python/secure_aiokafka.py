"""aiokafka over PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL: the contract in secure_common.py."""

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.helpers import create_ssl_context

import secure_common as c


def conf(a):
    out = {"bootstrap_servers": a.bootstrap, "security_protocol": a.protocol,
           "request_timeout_ms": 10_000}
    if a.sasl:
        out.update({"sasl_mechanism": a.mechanism, "sasl_plain_username": a.user,
                    "sasl_plain_password": a.password})
    if a.tls:
        out["ssl_context"] = create_ssl_context(cafile=a.ca, certfile=a.cert, keyfile=a.key)
    return out


async def roundtrip_async(a):
    p = AIOKafkaProducer(**conf(a))
    await p.start()
    try:
        for i in range(c.COUNT):
            await p.send_and_wait(a.topic, key=b"k%d" % i, value=b"v%d" % i, partition=0)
    finally:
        await p.stop()
    c.out("ACKED", c.COUNT)
    cons = AIOKafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest", **conf(a))
    await cons.start()
    values = []
    try:
        tp = TopicPartition(a.topic, 0)
        cons.assign([tp])
        await cons.seek_to_beginning(tp)
        while len(values) < c.COUNT:
            batch = await cons.getmany(tp, timeout_ms=1000)
            values += [m.value.decode() for m in batch.get(tp, [])]
    finally:
        await cons.stop()
    c.check_read(values)


async def badauth_async(a):
    log = c.AuthLog()
    p = AIOKafkaProducer(**conf(a))
    try:
        await p.start()
        await p.send_and_wait(a.topic, value=b"never")
    except Exception as exc:  # noqa: BLE001 - the error is what we report
        log.report(exc)
        return
    finally:
        await p.stop()
    c.fail("produced with wrong credentials")


c.run(lambda a: asyncio.run(roundtrip_async(a)), lambda a: asyncio.run(badauth_async(a)))
