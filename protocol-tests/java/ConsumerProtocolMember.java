import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A consumer-group member of the next-generation protocol (group.protocol=consumer, KIP-848)
 * that a test can SIGKILL or stop cleanly (a line "stop" on stdin, or stdin closing: the
 * consumer closes and leaves the group).
 *
 * <p>Usage: ConsumerProtocolMember BOOTSTRAP GROUP (--topic T | --pattern REGEX) [--deadline-s N]
 *
 * <p>Each record is committed synchronously (offset + 1) before the next poll, then printed as
 * "REC topic partition offset key". "OWN t:p,t:p,..." ("OWN -" when empty) is printed whenever
 * the owned partitions change, "LEFT" after a clean close. Exits non-zero on any error.
 */
public final class ConsumerProtocolMember {
    public static void main(String[] args) throws Exception {
        Cli cli = Cli.parse(args, 2, "ConsumerProtocolMember BOOTSTRAP GROUP (--topic T | --pattern REGEX)");
        Cli.deadline(Integer.parseInt(cli.option("deadline-s", "120")));
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cli.positional.get(0));
        props.put(ConsumerConfig.GROUP_ID_CONFIG, cli.positional.get(1));
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "500");
        props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");

        AtomicBoolean stop = new AtomicBoolean(false);
        Thread stdin = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
                    // wait for "stop" or the end of input
                }
            } catch (Exception e) {
                // the end of input is the signal
            }
            stop.set(true);
        }, "stdin");
        stdin.setDaemon(true);
        stdin.start();

        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            String pattern = cli.option("pattern", null);
            if (pattern != null) {
                consumer.subscribe(Pattern.compile(pattern));
            } else {
                consumer.subscribe(List.of(cli.option("topic", "")));
            }
            String owned = null;
            while (!stop.get()) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    consumer.commitSync(Map.of(tp, new OffsetAndMetadata(r.offset() + 1)));
                    System.out.println("REC " + r.topic() + " " + r.partition() + " " + r.offset() + " " + r.key());
                }
                Set<String> now = new TreeSet<>();
                for (TopicPartition tp : consumer.assignment()) {
                    now.add(tp.topic() + ":" + tp.partition());
                }
                String line = now.isEmpty() ? "-" : String.join(",", now);
                if (!line.equals(owned)) {
                    owned = line;
                    System.out.println("OWN " + line);
                }
                System.out.flush();
            }
        } catch (Exception e) {
            e.printStackTrace();
            Cli.fail("consumer-protocol member failed: " + e);
        }
        System.out.println("LEFT");
        System.out.flush();
    }
}
