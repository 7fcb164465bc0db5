import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * An exactly-once consume-transform-produce loop: reads IN at read_committed in group GROUP
 * (static member "pipeline", so a restarted instance takes over at once), writes "out:" +
 * value to OUT and commits the input offsets with sendOffsetsToTransaction, one transaction
 * per poll, until every input record present at the start is consumed.
 *
 * <p>Usage: TxnPipeline BOOTSTRAP IN OUT GROUP TRANSACTIONAL_ID [--halt-after N] [--batch M]
 *
 * <p>With --halt-after the JVM halts (no close, no abort) right after the N-th output record
 * of this run was sent and flushed, in the middle of a transaction: a crashed application.
 * Prints "COMMIT n" after each commit (n records so far), "HALT" before halting, then
 * "DONE n".
 */
public final class TxnPipeline {
    public static void main(String[] args) throws Exception {
        Cli.deadline(100);
        Cli cli = Cli.parse(args, 5,
                "TxnPipeline BOOTSTRAP IN OUT GROUP TRANSACTIONAL_ID [--halt-after N] [--batch M]");
        String bootstrap = cli.positional.get(0);
        String in = cli.positional.get(1);
        String out = cli.positional.get(2);
        int haltAfter = Integer.parseInt(cli.option("halt-after", "-1"));

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, cli.positional.get(3));
        c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "pipeline");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, cli.option("batch", "20"));
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, cli.positional.get(4));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

        int produced = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c);
                KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            consumer.subscribe(List.of(in));
            Map<TopicPartition, Long> end = null;
            while (true) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                Set<TopicPartition> assigned = consumer.assignment();
                if (end == null && !assigned.isEmpty()) {
                    end = consumer.endOffsets(assigned);
                }
                if (!records.isEmpty()) {
                    producer.beginTransaction();
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    for (ConsumerRecord<String, String> r : records) {
                        producer.send(new ProducerRecord<>(out, r.key(), "out:" + r.value()));
                        offsets.put(new TopicPartition(r.topic(), r.partition()),
                                new OffsetAndMetadata(r.offset() + 1));
                        produced++;
                        if (produced == haltAfter) {
                            producer.flush();
                            System.out.println("HALT");
                            System.out.flush();
                            Runtime.getRuntime().halt(0);
                        }
                    }
                    producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                    producer.commitTransaction();
                    System.out.println("COMMIT " + produced);
                }
                if (end != null && caughtUp(consumer, end)) {
                    break;
                }
            }
        } catch (Exception e) {
            e.printStackTrace();
            Cli.fail("pipeline failed: " + e);
        }
        System.out.println("DONE " + produced);
    }

    private static boolean caughtUp(KafkaConsumer<String, String> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
