"""confluent-kafka (librdkafka) over PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL: the contract
in secure_common.py."""

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

import secure_common as c


def conf(a):
    out = {"bootstrap.servers": a.bootstrap, "security.protocol": a.protocol}
    if a.sasl:
        out.update({"sasl.mechanisms": a.mechanism, "sasl.username": a.user,
                    "sasl.password": a.password})
    if a.ca:
        out["ssl.ca.location"] = a.ca
    if a.cert:
        out.update({"ssl.certificate.location": a.cert, "ssl.key.location": a.key})
    return out


def roundtrip(a):
    p = Producer(conf(a))
    acked = []
    for i in range(c.COUNT):
        p.produce(a.topic, key=b"k%d" % i, value=b"v%d" % i, partition=0,
                  on_delivery=lambda err, m: acked.append(err))
    if p.flush(30) != 0 or any(acked):
        c.fail("delivery: %s" % acked)
    c.out("ACKED", len(acked))
    cons = Consumer(dict(conf(a), **{"group.id": "secure-confluent", "enable.auto.commit": False}))
    cons.assign([TopicPartition(a.topic, 0, OFFSET_BEGINNING)])
    values = []
    while len(values) < c.COUNT:
        m = cons.poll(1.0)
        if m is None:
            continue
        if m.error():
            c.fail("consume: %s" % m.error())
        values.append(m.value().decode())
    cons.close()
    c.check_read(values)


def badauth(a):
    errors = []
    p = Producer(dict(conf(a), **{"error_cb": errors.append}))
    p.produce(a.topic, value=b"never")
    p.flush(5)
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    if not auth:
        c.fail("no authentication error, got %s" % errors)
    c.out("AUTHFAILED", "%s: %s" % (auth[0].name(), auth[0].str()))


c.run(roundtrip, badauth)
