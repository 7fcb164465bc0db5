"""kafka-python over PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL: the contract in
secure_common.py."""

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import secure_common as c


def conf(a):
    out = {"bootstrap_servers": a.bootstrap, "security_protocol": a.protocol,
           "request_timeout_ms": 10_000}
    if a.sasl:
        out.update({"sasl_mechanism": a.mechanism, "sasl_plain_username": a.user,
                    "sasl_plain_password": a.password})
    if a.ca:
        out["ssl_cafile"] = a.ca
    if a.cert:
        out.update({"ssl_certfile": a.cert, "ssl_keyfile": a.key})
    return out


def roundtrip(a):
    p = KafkaProducer(max_block_ms=20_000, **conf(a))
    futures = [p.send(a.topic, key=b"k%d" % i, value=b"v%d" % i, partition=0)
               for i in range(c.COUNT)]
    p.flush(30)
    for f in futures:
        f.get(timeout=30)
    p.close(timeout=10)
    c.out("ACKED", len(futures))
    cons = KafkaConsumer(enable_auto_commit=False, consumer_timeout_ms=20_000, **conf(a))
    tp = TopicPartition(a.topic, 0)
    cons.assign([tp])
    cons.seek_to_beginning(tp)
    values = []
    for m in cons:
        values.append(m.value.decode())
        if len(values) == c.COUNT:
            break
    cons.close()
    c.check_read(values)


def badauth(a):
    log = c.AuthLog()
    try:
        p = KafkaProducer(max_block_ms=10_000, **conf(a))
        p.send(a.topic, value=b"never").get(timeout=10)
    except Exception as exc:  # noqa: BLE001 - the error is what we report
        log.report(exc)
        return
    c.fail("produced with wrong credentials")


c.run(roundtrip, badauth)
