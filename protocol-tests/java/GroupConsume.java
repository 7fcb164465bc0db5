import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Consumes through a consumer group (classic protocol): subscribe, poll until EXPECTED records
 * arrived (then a little longer, to notice extra ones), commitSync, close.
 *
 * <p>Usage: GroupConsume BOOTSTRAP GROUP TOPIC EXPECTED [--strategy CLASS]
 *
 * <p>Prints "REC partition offset key value -" per record, then "COMMITTED partition offset"
 * for each assigned partition as read back with committed(), then "consumed N". Exits 1 if the
 * count differs from EXPECTED or anything fails.
 */
public final class GroupConsume {
    public static void main(String[] args) {
        Cli.deadline(90);
        Cli cli = Cli.parse(args, 4, "GroupConsume BOOTSTRAP GROUP TOPIC EXPECTED [--strategy CLASS]");
        String topic = cli.positional.get(2);
        int expected = Integer.parseInt(cli.positional.get(3));

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cli.positional.get(0));
        props.put(ConsumerConfig.GROUP_ID_CONFIG, cli.positional.get(1));
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        String strategy = cli.option("strategy", null);
        if (strategy != null) {
            props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, strategy);
        }

        int consumed = 0;
        Set<TopicPartition> assigned = new HashSet<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    assigned.removeAll(partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    assigned.addAll(partitions);
                }
            });
            long end = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            long settle = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(end, settle)) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    System.out.println("REC " + r.partition() + " " + r.offset() + " " + r.key() + " "
                            + r.value() + " -");
                    consumed++;
                }
                if (consumed >= expected && !assigned.isEmpty() && settle == Long.MAX_VALUE) {
                    settle = System.nanoTime() + Duration.ofMillis(500).toNanos();
                }
            }
            consumer.commitSync(Duration.ofSeconds(20));
            Map<TopicPartition, OffsetAndMetadata> committed =
                    consumer.committed(new HashSet<>(assigned), Duration.ofSeconds(20));
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
                long offset = e.getValue() == null ? -1 : e.getValue().offset();
                System.out.println("COMMITTED " + e.getKey().partition() + " " + offset);
            }
        } catch (Exception e) {
            e.printStackTrace();
            Cli.fail("group consume failed after " + consumed + " records: " + e);
        }
        System.out.println("consumed " + consumed);
        if (consumed != expected) {
            Cli.fail("expected " + expected + " records, got " + consumed);
        }
    }
}
