import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads a topic without a consumer group: assign every partition, seekToBeginning, then apply
 * explicit seeks, and poll until EXPECTED records arrived.
 *
 * <p>Usage: ConsumeAssigned BOOTSTRAP TOPIC EXPECTED [--seek PARTITION:OFFSET]...
 *
 * <p>Prints "REC partition offset key value headers" per record in arrival order (headers as
 * k=v joined by ',', "-" if none), then "consumed N". Exits 1 if fewer than EXPECTED arrive
 * within 40 s, or if more arrive.
 */
public final class ConsumeAssigned {
    public static void main(String[] args) {
        Cli.deadline(90);
        Cli cli = Cli.parse(args, 3, "ConsumeAssigned BOOTSTRAP TOPIC EXPECTED [--seek PARTITION:OFFSET]...");
        String topic = cli.positional.get(1);
        int expected = Integer.parseInt(cli.positional.get(2));

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cli.positional.get(0));
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");

        int consumed = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(20));
            if (infos == null || infos.isEmpty()) {
                Cli.fail("no partitions for topic " + topic);
            }
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : infos) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            for (String seek : cli.all("seek")) {
                String[] parts = seek.split(":");
                consumer.seek(new TopicPartition(topic, Integer.parseInt(parts[0])), Long.parseLong(parts[1]));
            }
            long end = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            // Keep polling a little after reaching EXPECTED so that extra records are noticed.
            long settle = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(end, settle)) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    System.out.println("REC " + r.partition() + " " + r.offset() + " " + r.key() + " "
                            + r.value() + " " + headers(r));
                    consumed++;
                }
                if (consumed >= expected && settle == Long.MAX_VALUE) {
                    settle = System.nanoTime() + Duration.ofMillis(500).toNanos();
                }
            }
        } catch (Exception e) {
            e.printStackTrace();
            Cli.fail("consume failed after " + consumed + " records: " + e);
        }
        System.out.println("consumed " + consumed);
        if (consumed != expected) {
            Cli.fail("expected " + expected + " records, got " + consumed);
        }
    }

    private static String headers(ConsumerRecord<String, String> r) {
        List<String> out = new ArrayList<>();
        for (Header h : r.headers()) {
            out.add(h.key() + "=" + new String(h.value(), StandardCharsets.UTF_8));
        }
        return out.isEmpty() ? "-" : String.join(",", out);
    }
}
