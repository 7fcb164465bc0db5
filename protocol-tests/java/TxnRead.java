import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads every partition of TOPIC from the beginning, without a group, at an isolation level,
 * up to the end offsets the consumer sees at that level (the last stable offsets at
 * read_committed).
 *
 * <p>Usage: TxnRead BOOTSTRAP TOPIC read_committed|read_uncommitted
 *
 * <p>Prints "VAL value" per record, then "READ n".
 */
public final class TxnRead {
    public static void main(String[] args) {
        Cli.deadline(90);
        Cli cli = Cli.parse(args, 3, "TxnRead BOOTSTRAP TOPIC read_committed|read_uncommitted");
        String topic = cli.positional.get(1);
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cli.positional.get(0));
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, cli.positional.get(2));
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        int read = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(20));
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : infos) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (true) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    System.out.println("VAL " + r.value());
                    read++;
                }
                boolean done = true;
                for (TopicPartition tp : partitions) {
                    done &= consumer.position(tp) >= end.get(tp);
                }
                if (done) {
                    break;
                }
            }
        } catch (Exception e) {
            e.printStackTrace();
            Cli.fail("read failed: " + e);
        }
        System.out.println("READ " + read);
    }
}
