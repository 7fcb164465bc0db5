"""confluent-kafka's AdminClient (librdkafka) managing topics on weir.

Usage:
  confluent_admin.py scenario BOOTSTRAP TOPIC
      Creates TOPIC with configs, describes it (values, sources, synonyms), alters configs
      incrementally (SET, DELETE, APPEND, SUBTRACT, validate_only, refused values) and with the
      legacy AlterConfigs (replaces the override set), adds partitions, produces and deletes
      records, describes the cluster, deletes the topic. Checks every result; prints
      "KEY value..." lines for the Rust test and "OK step" after each step.
  confluent_admin.py alter BOOTSTRAP TOPIC KEY=VALUE...
      IncrementalAlterConfigs SET of each KEY=VALUE on TOPIC; prints "altered N".
  confluent_admin.py legacy-configs BOOTSTRAP TOPIC
      Topic configs Kafka 3 accepted and Kafka 4 dropped (message.format.version,
      message.downconversion.enable, message.timestamp.difference.max.ms), as older tools and
      librdkafka's own tests set them: accepted on create, incremental and legacy alter, shown by
      describe, a malformed value refused, and produce works as before. Prints "LEGACY key value"
      lines and "OK step" after each step.

Exits non-zero with "FAIL: ..." on stderr on any failure; never runs longer than DEADLINE_S.
"""

import os
import signal
import sys

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

DEADLINE_S = 90
TIMEOUT_S = 20


def fail(message):
    sys.stdout.flush()
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def on_deadline(_signum, _frame):
    sys.stdout.flush()
    print(f"FAIL: still running after the {DEADLINE_S} s deadline", file=sys.stderr, flush=True)
    os._exit(3)


def check(ok, what):
    if not ok:
        fail(f"check failed: {what}")


def wait(futures):
    """Results of a dict of futures (or one future), raising the first failure."""
    if isinstance(futures, dict):
        return {k: f.result(timeout=TIMEOUT_S) for k, f in futures.items()}
    return futures.result(timeout=TIMEOUT_S)


def expect_error(code, futures, what):
    try:
        wait(futures)
    except KafkaException as e:
        err = e.args[0]
        if err.code() == code:
            print(f"REFUSED {what.replace(' ', '-')} {err.name()}")
            return
        fail(f"{what}: expected {KafkaError(code).name()}, got {err}")
    fail(f"{what}: expected {KafkaError(code).name()}, but it succeeded")


def describe(admin, resource):
    return wait(admin.describe_configs([resource], request_timeout=TIMEOUT_S))[resource]


def incremental(admin, topic, ops, validate_only=False):
    entries = [ConfigEntry(k, v, incremental_operation=op) for (k, v, op) in ops]
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
    return admin.incremental_alter_configs([resource], validate_only=validate_only, request_timeout=TIMEOUT_S)


def scenario(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic)

    wait(admin.create_topics(
        [NewTopic(topic, num_partitions=2, replication_factor=1,
                  config={"retention.ms": "3600000", "max.message.bytes": "200000"})],
        request_timeout=TIMEOUT_S))
    expect_error(KafkaError.INVALID_CONFIG, admin.create_topics(
        [NewTopic(topic + "-bad", num_partitions=1, replication_factor=1, config={"cleanup.policy": "shred"})],
        request_timeout=TIMEOUT_S), "unknown policy")
    expect_error(KafkaError.TOPIC_ALREADY_EXISTS, admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1)], request_timeout=TIMEOUT_S), "exists")
    print("OK create")

    configs = describe(admin, resource)
    retention = configs["retention.ms"]
    check(retention.value == "3600000", f"retention.ms {retention}")
    check(retention.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, f"retention.ms source {retention.source}")
    check(not retention.is_read_only and not retention.is_sensitive, "retention.ms flags")
    synonyms = retention.synonyms
    check("log.retention.ms" in synonyms, f"retention.ms synonyms {list(synonyms)}")
    check(synonyms["log.retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value,
          f"log.retention.ms synonym source {synonyms['log.retention.ms'].source}")
    segment = configs["segment.bytes"]
    check(segment.value == "1073741824" and segment.source == ConfigSource.DEFAULT_CONFIG.value,
          f"segment.bytes {segment}")
    check(segment.is_default, "segment.bytes is_default")
    print(f"TOPIC_CONFIGS {len(configs)}")
    broker = describe(admin, ConfigResource(ResourceType.BROKER, "1"))
    check(broker["num.partitions"].is_read_only, "num.partitions read-only")
    print(f"BROKER num.partitions {broker['num.partitions'].value}")
    expect_error(KafkaError.UNKNOWN_TOPIC_OR_PART,
                 admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic + "-missing")],
                                        request_timeout=TIMEOUT_S), "describe missing")
    print("OK describe")

    wait(incremental(admin, topic, [
        ("segment.bytes", "1048576", AlterConfigOpType.SET),
        ("retention.ms", None, AlterConfigOpType.DELETE),
        ("follower.replication.throttled.replicas", "0:1,1:1", AlterConfigOpType.APPEND),
    ]))
    wait(incremental(admin, topic, [("follower.replication.throttled.replicas", "1:1", AlterConfigOpType.SUBTRACT)]))
    wait(incremental(admin, topic, [("segment.bytes", "4096", AlterConfigOpType.SET)], validate_only=True))
    configs = describe(admin, resource)
    check(configs["segment.bytes"].value == "1048576", f"segment.bytes {configs['segment.bytes']}")
    check(configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value, "retention.ms deleted")
    check(configs["follower.replication.throttled.replicas"].value == "0:1", "append then subtract")
    check(configs["max.message.bytes"].value == "200000", "untouched override kept")
    expect_error(KafkaError.INVALID_CONFIG, incremental(admin, topic, [("retention.ms", "-5", AlterConfigOpType.SET)]),
                 "bad value")
    expect_error(KafkaError.INVALID_CONFIG, incremental(admin, topic, [("nope.nope", "1", AlterConfigOpType.SET)]),
                 "unknown key")
    print(f"CONFIG segment.bytes {configs['segment.bytes'].value}")
    print("OK incremental-alter")

    # The legacy AlterConfigs replaces the whole override set.
    legacy = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "7200000"})
    wait(admin.alter_configs([legacy], request_timeout=TIMEOUT_S))
    configs = describe(admin, resource)
    check(configs["retention.ms"].value == "7200000", f"legacy retention.ms {configs['retention.ms']}")
    check(configs["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value, "legacy alter dropped segment.bytes")
    check(configs["max.message.bytes"].value == "1048588", "legacy alter dropped max.message.bytes")
    bad = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "never"})
    expect_error(KafkaError.INVALID_CONFIG, admin.alter_configs([bad], request_timeout=TIMEOUT_S), "legacy bad value")
    print(f"CONFIG retention.ms {configs['retention.ms'].value}")
    print("OK legacy-alter")

    wait(admin.create_partitions([NewPartitions(topic, 4)], request_timeout=TIMEOUT_S))
    expect_error(KafkaError.INVALID_PARTITIONS,
                 admin.create_partitions([NewPartitions(topic, 2)], request_timeout=TIMEOUT_S), "shrink")
    wait(admin.create_partitions([NewPartitions(topic, 8)], validate_only=True, request_timeout=TIMEOUT_S))
    metadata = admin.list_topics(topic, timeout=TIMEOUT_S)
    count = len(metadata.topics[topic].partitions)
    check(count == 4, f"4 partitions, got {count}")
    print(f"PARTITIONS {count}")
    print("OK partitions")

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(8):
        producer.produce(topic, value=f"value-{i}".encode(), partition=3)
    check(producer.flush(TIMEOUT_S) == 0, "produced")
    tp = TopicPartition(topic, 3, 5)
    deleted = wait(admin.delete_records([tp], request_timeout=TIMEOUT_S))
    low = list(deleted.values())[0].low_watermark
    check(low == 5, f"low watermark {low}")
    earliest = wait(admin.list_offsets({TopicPartition(topic, 3): OffsetSpec.earliest()},
                                       request_timeout=TIMEOUT_S))
    check(list(earliest.values())[0].offset == 5, f"earliest {earliest}")
    expect_error(KafkaError.OFFSET_OUT_OF_RANGE,
                 admin.delete_records([TopicPartition(topic, 3, 99)], request_timeout=TIMEOUT_S), "beyond the end")
    print(f"LOW_WATERMARK {low}")
    print("OK delete-records")

    cluster = wait(admin.describe_cluster(request_timeout=TIMEOUT_S))
    check(len(cluster.nodes) == 1 and cluster.controller.id == 1, f"cluster {cluster}")
    print(f"CLUSTER {cluster.cluster_id} {cluster.controller.id}")
    print("OK cluster")

    wait(admin.delete_topics([topic], request_timeout=TIMEOUT_S))
    names = admin.list_topics(timeout=TIMEOUT_S).topics
    check(topic not in names, f"deleted: {list(names)}")
    print("OK delete-topic")


def alter(bootstrap, topic, pairs):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    ops = []
    for pair in pairs:
        key, _, value = pair.partition("=")
        ops.append((key, value, AlterConfigOpType.SET))
    wait(incremental(admin, topic, ops))
    print(f"altered {len(ops)}")


def legacy_configs(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic)

    wait(admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1,
                  config={"message.format.version": "0.10.0", "message.downconversion.enable": "false"})],
        request_timeout=TIMEOUT_S))
    configs = describe(admin, resource)
    for key, value in [("message.format.version", "0.10.0"), ("message.downconversion.enable", "false")]:
        check(key in configs, f"{key} described: {sorted(configs)}")
        check(configs[key].value == value, f"{key} {configs[key]}")
        check(configs[key].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, f"{key} source")
    check("message.timestamp.difference.max.ms" not in configs, "unset legacy configs are not listed")
    print("OK create")

    wait(incremental(admin, topic, [
        ("message.format.version", "2.8-IV0", AlterConfigOpType.SET),
        ("message.timestamp.difference.max.ms", "60000", AlterConfigOpType.SET),
        ("message.downconversion.enable", None, AlterConfigOpType.DELETE),
    ]))
    configs = describe(admin, resource)
    check(configs["message.format.version"].value == "2.8-IV0", f"{configs['message.format.version']}")
    check(configs["message.timestamp.difference.max.ms"].value == "60000", "difference set")
    check("message.downconversion.enable" not in configs, "deleted legacy config no longer listed")
    expect_error(KafkaError.INVALID_CONFIG,
                 incremental(admin, topic, [("message.format.version", "latest", AlterConfigOpType.SET)]),
                 "malformed version")
    print("OK incremental-alter")

    legacy = ConfigResource(ResourceType.TOPIC, topic, set_config={"message.format.version": "3.0-IV1"})
    wait(admin.alter_configs([legacy], request_timeout=TIMEOUT_S))
    configs = describe(admin, resource)
    check(configs["message.format.version"].value == "3.0-IV1", f"{configs['message.format.version']}")
    check("message.timestamp.difference.max.ms" not in configs, "replaced by the legacy alter")
    for key in ["message.format.version", "retention.ms", "segment.bytes"]:
        print(f"LEGACY {key} {configs[key].value}")
    print("OK legacy-alter")

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    delivered = []
    producer.produce(topic, value=b"still v2", on_delivery=lambda err, msg: delivered.append((err, msg)))
    check(producer.flush(TIMEOUT_S) == 0, "produced")
    check(len(delivered) == 1 and delivered[0][0] is None, f"delivery {delivered}")
    print(f"LEGACY offset {delivered[0][1].offset()}")
    print("OK produce")


def create_compacted(bootstrap, topic, pairs):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    config = {"cleanup.policy": "compact"}
    for pair in pairs:
        key, _, value = pair.partition("=")
        config[key] = value
    wait(admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config=config)],
                             request_timeout=TIMEOUT_S))
    configs = describe(admin, ConfigResource(ResourceType.TOPIC, topic))
    check(configs["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, "policy set on the topic")
    print(f"cleanup.policy={configs['cleanup.policy'].value}")


def produce_keyless(bootstrap, topic):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "message.timeout.ms": 10000})
    delivered = []
    producer.produce(topic, value=b"no key", on_delivery=lambda err, msg: delivered.append(err))
    producer.flush(TIMEOUT_S)
    check(len(delivered) == 1 and delivered[0] is not None, f"delivery {delivered}")
    print(f"refused {delivered[0].name()}")


def main():
    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(DEADLINE_S)
    if len(sys.argv) >= 4 and sys.argv[1] == "scenario":
        scenario(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "legacy-configs":
        legacy_configs(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "create-compacted":
        create_compacted(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "produce-keyless":
        produce_keyless(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == "alter":
        alter(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        fail(__doc__)
    print("DONE")


if __name__ == "__main__":
    main()
