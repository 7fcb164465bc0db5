import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreatePartitionsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java AdminClient's topic and cluster management against weir, step by step: create topics
 * with configs, describe them (synonyms, sources, types, documentation), alter configs
 * incrementally (SET, DELETE, APPEND, SUBTRACT, validateOnly, refused values), add partitions,
 * delete records, describe the cluster and log dirs, delete topics. Every result is checked here;
 * the values the Rust test checks again are printed as "KEY value..." lines, and each step that
 * passed prints "OK step".
 *
 * <p>Usage: AdminOps BOOTSTRAP TOPIC
 */
public final class AdminOps {
    private static Admin admin;

    public static void main(String[] args) throws Exception {
        Cli.deadline(100);
        Cli cli = Cli.parse(args, 2, "AdminOps BOOTSTRAP TOPIC");
        String bootstrap = cli.positional.get(0);
        String topic = cli.positional.get(1);
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin a = Admin.create(props)) {
            admin = a;
            run(bootstrap, topic);
        }
        System.out.println("DONE");
    }

    private static void run(String bootstrap, String topic) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);

        // Create with configs; CreateTopics v5+ answers with every effective config.
        NewTopic newTopic = new NewTopic(topic, Optional.of(2), Optional.empty())
                .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "delete"));
        CreateTopicsResult created = admin.createTopics(List.of(newTopic));
        created.all().get();
        check(created.numPartitions(topic).get() == 2, "created with 2 partitions");
        Config createdConfig = created.config(topic).get();
        ConfigEntry createdRetention = createdConfig.get("retention.ms");
        check(createdRetention != null && "3600000".equals(createdRetention.value())
                && createdRetention.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                "CreateTopics reports retention.ms as a topic config: " + createdRetention);
        check(createdConfig.get("segment.bytes") != null
                && createdConfig.get("segment.bytes").source() == ConfigEntry.ConfigSource.DEFAULT_CONFIG,
                "CreateTopics reports defaults too: " + createdConfig.get("segment.bytes"));
        System.out.println("CREATE_CONFIGS " + createdConfig.entries().size());
        expect(InvalidConfigurationException.class, admin.createTopics(List.of(
                new NewTopic(topic + "-bad", Optional.of(1), Optional.empty())
                        .configs(Map.of("cleanup.policy", "shred")))).all(), "unknown policy");
        expect(InvalidConfigurationException.class, admin.createTopics(List.of(
                new NewTopic(topic + "-bad", Optional.of(1), Optional.empty())
                        .configs(Map.of("no.such.config", "1")))).all(), "unknown config");
        System.out.println("OK create");

        // Describe with synonyms and documentation.
        Config config = describe(resource);
        ConfigEntry retention = config.get("retention.ms");
        check("3600000".equals(retention.value()), "retention.ms value: " + retention);
        check(retention.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "retention.ms source");
        check(!retention.isReadOnly() && !retention.isSensitive(), "retention.ms flags");
        check(retention.type() == ConfigEntry.ConfigType.LONG, "retention.ms type " + retention.type());
        check(retention.documentation() != null && !retention.documentation().isEmpty(), "retention.ms doc");
        check(retention.synonyms().size() == 2
                && retention.synonyms().get(0).source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG
                && retention.synonyms().get(1).name().equals("log.retention.ms")
                && retention.synonyms().get(1).source() == ConfigEntry.ConfigSource.DEFAULT_CONFIG,
                "retention.ms synonyms " + retention.synonyms());
        ConfigEntry segment = config.get("segment.bytes");
        check(segment.source() == ConfigEntry.ConfigSource.DEFAULT_CONFIG
                && "1073741824".equals(segment.value()), "segment.bytes default: " + segment);
        check(segment.type() == ConfigEntry.ConfigType.INT, "segment.bytes type");
        check(config.get("cleanup.policy").type() == ConfigEntry.ConfigType.LIST, "cleanup.policy type");
        for (String key : List.of("max.message.bytes", "message.timestamp.type", "min.insync.replicas",
                "segment.ms", "retention.bytes", "compression.type")) {
            check(config.get(key) != null, key + " is described");
        }
        System.out.println("TOPIC_CONFIGS " + config.entries().size());

        ConfigResource brokerResource = new ConfigResource(ConfigResource.Type.BROKER, "1");
        Config broker = describe(brokerResource);
        ConfigEntry partitions = broker.get("num.partitions");
        check(partitions != null && partitions.isReadOnly(), "num.partitions read-only: " + partitions);
        System.out.println("BROKER num.partitions " + partitions.value() + " " + partitions.source());
        System.out.println("BROKER log.retention.check.interval.ms "
                + broker.get("log.retention.check.interval.ms").value() + " "
                + broker.get("log.retention.check.interval.ms").source());
        expect(UnknownTopicOrPartitionException.class, admin.describeConfigs(
                List.of(new ConfigResource(ConfigResource.Type.TOPIC, topic + "-missing"))).all(), "describe missing");
        System.out.println("OK describe");

        // Incremental alter: SET, DELETE, APPEND, SUBTRACT.
        alter(resource, List.of(
                op("segment.bytes", "1048576", AlterConfigOp.OpType.SET),
                op("max.message.bytes", "500000", AlterConfigOp.OpType.SET),
                op("retention.ms", null, AlterConfigOp.OpType.DELETE),
                op("leader.replication.throttled.replicas", "0:1,1:1", AlterConfigOp.OpType.APPEND)), false);
        alter(resource, List.of(
                op("leader.replication.throttled.replicas", "0:1", AlterConfigOp.OpType.SUBTRACT)), false);
        config = describe(resource);
        check("1048576".equals(config.get("segment.bytes").value())
                && config.get("segment.bytes").source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                "segment.bytes set: " + config.get("segment.bytes"));
        check("604800000".equals(config.get("retention.ms").value())
                && config.get("retention.ms").source() == ConfigEntry.ConfigSource.DEFAULT_CONFIG,
                "retention.ms deleted: " + config.get("retention.ms"));
        check("1:1".equals(config.get("leader.replication.throttled.replicas").value()),
                "append then subtract: " + config.get("leader.replication.throttled.replicas"));
        alter(resource, List.of(op("segment.bytes", "2097152", AlterConfigOp.OpType.SET)), true);
        check("1048576".equals(describe(resource).get("segment.bytes").value()), "validateOnly changed nothing");
        expect(InvalidConfigurationException.class, alterFuture(resource,
                List.of(op("retention.ms", "soon", AlterConfigOp.OpType.SET))), "bad value");
        expect(InvalidConfigurationException.class, alterFuture(resource,
                List.of(op("no.such.config", "1", AlterConfigOp.OpType.SET))), "unknown key");
        expect(InvalidConfigurationException.class, alterFuture(resource,
                List.of(op("retention.ms", "1", AlterConfigOp.OpType.APPEND))), "append to a non-list");
        // weir reads broker settings at start: refused as Kafka refuses a key that is not dynamic.
        expect(InvalidRequestException.class, alterFuture(brokerResource,
                List.of(op("log.retention.ms", "1", AlterConfigOp.OpType.SET))), "dynamic broker config");
        System.out.println("CONFIG segment.bytes " + config.get("segment.bytes").value());
        System.out.println("CONFIG max.message.bytes " + config.get("max.message.bytes").value());
        System.out.println("OK alter");

        // Add partitions; shrinking and equal counts are refused.
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
        expect(InvalidPartitionsException.class,
                admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all(), "shrink");
        expect(InvalidPartitionsException.class,
                admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all(), "same count");
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(6)),
                new CreatePartitionsOptions().validateOnly(true)).all().get();
        TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        check(description.partitions().size() == 4, "4 partitions: " + description);
        System.out.println("PARTITIONS " + description.partitions().size());
        System.out.println("OK partitions");

        // Produce to a new partition, then delete records.
        TopicPartition p3 = new TopicPartition(topic, 3);
        produce(bootstrap, topic, 3, 10);
        long low = admin.deleteRecords(Map.of(p3, RecordsToDelete.beforeOffset(4)))
                .lowWatermarks().get(p3).get().lowWatermark();
        check(low == 4, "low watermark after deleting before 4: " + low);
        check(offset(p3, OffsetSpec.earliest()) == 4, "earliest offset is 4");
        expect(OffsetOutOfRangeException.class, admin.deleteRecords(
                Map.of(p3, RecordsToDelete.beforeOffset(11))).all(), "delete beyond the high watermark");
        low = admin.deleteRecords(Map.of(p3, RecordsToDelete.beforeOffset(-1)))
                .lowWatermarks().get(p3).get().lowWatermark();
        check(low == 10, "-1 deletes up to the high watermark: " + low);
        check(offset(p3, OffsetSpec.earliest()) == 10 && offset(p3, OffsetSpec.latest()) == 10, "log emptied");
        System.out.println("LOW_WATERMARK " + low);
        System.out.println("OK delete-records");

        // The cluster and its log dirs.
        DescribeClusterResult cluster = admin.describeCluster();
        Collection<Node> nodes = cluster.nodes().get();
        Node controller = cluster.controller().get();
        check(nodes.size() == 1 && controller.id() == 1, "one broker, the controller: " + nodes);
        System.out.println("CLUSTER " + cluster.clusterId().get() + " " + controller.id() + " "
                + controller.host() + ":" + controller.port());
        Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(1)).allDescriptions().get().get(1);
        check(dirs.size() == 1, "one log dir: " + dirs.keySet());
        Map.Entry<String, LogDirDescription> dir = dirs.entrySet().iterator().next();
        check(dir.getValue().error() == null, "log dir error " + dir.getValue().error());
        ReplicaInfo replica = dir.getValue().replicaInfos().get(p3);
        check(replica != null && replica.size() > 0, "partition 3 has a size: " + replica);
        System.out.println("LOG_DIR " + dir.getKey());
        List<String> sizes = new ArrayList<>();
        for (int p = 0; p < 4; p++) {
            ReplicaInfo info = dir.getValue().replicaInfos().get(new TopicPartition(topic, p));
            check(info != null, "partition " + p + " is in the log dir");
            sizes.add(Long.toString(info.size()));
        }
        System.out.println("SIZES " + String.join(" ", sizes));
        System.out.println("OK cluster");

        // Delete the topic.
        admin.deleteTopics(List.of(topic)).all().get();
        Set<String> names = admin.listTopics().names().get();
        check(!names.contains(topic), "deleted: " + names);
        expect(UnknownTopicOrPartitionException.class, admin.describeConfigs(List.of(resource)).all(), "deleted topic");
        System.out.println("OK delete-topic");
    }

    private static Config describe(ConfigResource resource) throws Exception {
        return admin.describeConfigs(List.of(resource),
                new DescribeConfigsOptions().includeSynonyms(true).includeDocumentation(true))
                .all().get().get(resource);
    }

    private static AlterConfigOp op(String key, String value, AlterConfigOp.OpType type) {
        return new AlterConfigOp(new ConfigEntry(key, value), type);
    }

    private static KafkaFuture<Void> alterFuture(ConfigResource resource, List<AlterConfigOp> ops) {
        return admin.incrementalAlterConfigs(Map.of(resource, ops)).all();
    }

    private static void alter(ConfigResource resource, List<AlterConfigOp> ops, boolean validateOnly)
            throws Exception {
        admin.incrementalAlterConfigs(Map.of(resource, ops), new AlterConfigsOptions().validateOnly(validateOnly))
                .all().get();
    }

    private static long offset(TopicPartition tp, OffsetSpec spec) throws Exception {
        return admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get().offset();
    }

    private static void produce(String bootstrap, String topic, int partition, int count) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, partition, "k" + i, Cli.value(i, 100)))
                        .get(20, TimeUnit.SECONDS);
            }
        }
    }

    /** Waits for `future` and fails unless it fails with `expected`. */
    private static void expect(Class<? extends Throwable> expected, KafkaFuture<?> future, String what)
            throws InterruptedException {
        try {
            future.get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (expected.isInstance(e.getCause())) {
                System.out.println("REFUSED " + what.replace(' ', '-') + " " + expected.getSimpleName());
                return;
            }
            fail(what + ": expected " + expected.getSimpleName() + ", got " + e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            fail(what + ": no answer within 20 s");
        }
        fail(what + ": expected " + expected.getSimpleName() + ", but it succeeded");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            fail("check failed: " + what);
        }
    }

    private static void fail(String message) {
        Cli.fail(message);
    }
}
