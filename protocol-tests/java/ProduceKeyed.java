import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces keyed records with headers using the producer's defaults (idempotence on, acks=all),
 * optionally compressed.
 *
 * <p>Usage: ProduceKeyed BOOTSTRAP TOPIC COUNT [--keys N] [--compression TYPE] [--value-size N]
 *
 * <p>Record i has key "key-(i % N)", value Cli.value(i, size) and headers seq=i, client=java.
 * Prints one line per acknowledged record, in send order: "ACK partition offset key value",
 * then "produced COUNT".
 */
public final class ProduceKeyed {
    public static void main(String[] args) throws Exception {
        Cli.deadline(90);
        Cli cli = Cli.parse(args, 3,
                "ProduceKeyed BOOTSTRAP TOPIC COUNT [--keys N] [--compression TYPE] [--value-size N]");
        String topic = cli.positional.get(1);
        int count = Integer.parseInt(cli.positional.get(2));
        int keys = Integer.parseInt(cli.option("keys", "7"));
        int valueSize = Integer.parseInt(cli.option("value-size", "0"));

        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cli.positional.get(0));
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, cli.option("compression", "none"));
        // Fail within the deadline instead of retrying for the default two minutes.
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        // Idempotence and acks are left at their defaults (true, all) on purpose.

        List<Future<RecordMetadata>> acks = new ArrayList<>();
        List<String> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            for (int i = 0; i < count; i++) {
                String key = "key-" + (i % keys);
                String value = Cli.value(i, valueSize);
                ProducerRecord<String, String> record = new ProducerRecord<>(topic, key, value);
                record.headers().add("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                record.headers().add("client", "java".getBytes(StandardCharsets.UTF_8));
                acks.add(producer.send(record));
                sent.add(key + " " + value);
            }
            producer.flush();
            for (int i = 0; i < count; i++) {
                RecordMetadata md = acks.get(i).get(30, TimeUnit.SECONDS);
                System.out.println("ACK " + md.partition() + " " + md.offset() + " " + sent.get(i));
            }
        } catch (Exception e) {
            e.printStackTrace();
            Cli.fail("produce failed: " + e);
        }
        System.out.println("produced " + count);
    }
}
