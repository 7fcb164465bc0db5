import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * The official Java client (kafka-clients 4.3) in the compatibility suite (protocol-tests/compat/):
 * the same subcommands and output lines as protocol-tests/python/compat_common.py describes.
 *
 * <p>Usage: CompatClient {info|topics|produce|consume|member|seek} ARGS...
 */
public final class CompatClient {
    private static final String CLIENT = "java";
    private static final String PAD = "weir".repeat(40);
    private static final int SEEK_OFFSET = 6;
    private static final long SEEK_TS_DELTA = 3500;
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    public static void main(String[] args) {
        Cli.deadline(100);
        if (args.length < 1) {
            Cli.fail("usage: CompatClient {info|topics|produce|consume|member|seek} ARGS...");
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            switch (args[0]) {
                case "info" -> info();
                case "topics" -> topics(rest[0], rest[1], rest[2]);
                case "produce" -> produce(rest);
                case "consume" -> consume(rest);
                case "member" -> member(rest[0], rest[1], rest[2]);
                case "seek" -> seek(rest[0], rest[1], Long.parseLong(rest[2]));
                default -> Cli.fail("unknown subcommand " + args[0]);
            }
        } catch (Exception e) {
            e.printStackTrace();
            Cli.fail(args[0] + " failed: " + e);
        }
        System.out.flush();
        System.exit(0);
    }

    private static void out(Object... parts) {
        StringBuilder sb = new StringBuilder();
        for (Object p : parts) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(p);
        }
        System.out.println(sb);
    }

    private static void info() {
        out("VERSION", AppInfoParser.getVersion());
        out("CODECS", "none,gzip,snappy,lz4,zstd");
    }

    private static void topics(String bootstrap, String auto, String adminTopic) throws Exception {
        try (KafkaProducer<String, String> producer = producer(bootstrap, "none", false)) {
            producer.send(new ProducerRecord<>(auto, "auto", "auto")).get(30, TimeUnit.SECONDS);
            out("AUTO", producer.partitionsFor(auto).size());
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(List.of(new NewTopic(adminTopic, 4, (short) 1))).all().get(20, TimeUnit.SECONDS);
            TopicDescription desc =
                    admin.describeTopics(List.of(adminTopic)).allTopicNames().get(20, TimeUnit.SECONDS).get(adminTopic);
            out("DESCRIBED", desc.partitions().size());
            admin.deleteTopics(List.of(adminTopic)).all().get(20, TimeUnit.SECONDS);
            long end = System.nanoTime() + TIMEOUT.toNanos();
            while (admin.listTopics().names().get(20, TimeUnit.SECONDS).contains(adminTopic)) {
                if (System.nanoTime() > end) {
                    Cli.fail("deleted topic still listed");
                }
                Thread.sleep(200);
            }
            out("DELETED");
        }
    }

    private static KafkaProducer<String, String> producer(String bootstrap, String codec, boolean idempotent) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        if (idempotent) {
            props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true"); // the default anyway
        }
        return new KafkaProducer<>(props);
    }

    private static void produce(String[] args) throws Exception {
        String bootstrap = args[0];
        int count = Integer.parseInt(args[1]);
        long tsBase = Long.parseLong(args[2]);
        for (String spec : Arrays.copyOfRange(args, 3, args.length)) {
            String[] job = spec.split(":");
            String topic = job[0];
            try (KafkaProducer<String, String> producer = producer(bootstrap, job[1], job[2].equals("idempotent"))) {
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    String key = i % 4 == 3 ? null : "k" + (i % 5);
                    ProducerRecord<String, String> record =
                            new ProducerRecord<>(topic, null, tsBase + i, key, topic + "-" + i + "." + PAD);
                    record.headers().add("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                    record.headers().add("client", CLIENT.getBytes(StandardCharsets.UTF_8));
                    acks.add(producer.send(record));
                }
                producer.flush();
                for (int i = 0; i < count; i++) {
                    RecordMetadata md = acks.get(i).get(30, TimeUnit.SECONDS);
                    out("ACK", topic, i, md.partition(), md.offset());
                }
            }
        }
    }

    private static Properties consumerProps(String bootstrap, String group) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        if (group != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        }
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        return props;
    }

    private static void rec(ConsumerRecord<String, String> r) {
        List<String> hs = new ArrayList<>();
        for (Header h : r.headers()) {
            hs.add(h.key() + "=" + new String(h.value(), StandardCharsets.UTF_8));
        }
        out("REC", r.topic(), r.partition(), r.offset(), r.timestamp(), r.key() == null ? "-" : r.key(), r.value(),
                hs.isEmpty() ? "-" : String.join(",", hs));
    }

    private static void consume(String[] args) {
        String bootstrap = args[0];
        int total = 0;
        List<TopicPartition> partitions = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps(bootstrap, null))) {
            for (String spec : Arrays.copyOfRange(args, 1, args.length)) {
                int at = spec.lastIndexOf(':');
                String topic = spec.substring(0, at);
                total += Integer.parseInt(spec.substring(at + 1));
                for (PartitionInfo info : consumer.partitionsFor(topic, TIMEOUT)) {
                    partitions.add(new TopicPartition(topic, info.partition()));
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            int got = 0;
            long end = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            long settle = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(end, settle)) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    rec(r);
                    got++;
                }
                if (got >= total && settle == Long.MAX_VALUE) {
                    settle = System.nanoTime() + Duration.ofMillis(500).toNanos();
                }
            }
        }
    }

    private static String partitionList(Collection<TopicPartition> tps) {
        TreeSet<Integer> ps = new TreeSet<>();
        for (TopicPartition tp : tps) {
            ps.add(tp.partition());
        }
        if (ps.isEmpty()) {
            return "-";
        }
        List<String> s = new ArrayList<>();
        for (int p : ps) {
            s.add(Integer.toString(p));
        }
        return String.join(",", s);
    }

    private static void member(String bootstrap, String group, String topic) throws InterruptedException {
        Properties props = consumerProps(bootstrap, group);
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "3000");
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        props.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "20000");
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.set(true);
            consumer.wakeup();
            try {
                closed.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        try {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    out("ASSIGNED", "-");
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    out("ASSIGNED", partitionList(consumer.assignment()));
                }
            });
            while (!stop.get()) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    try {
                        consumer.commitSync(Map.of(tp, new OffsetAndMetadata(r.offset() + 1)), TIMEOUT);
                    } catch (WakeupException e) {
                        throw e;
                    } catch (KafkaException e) {
                        System.err.println("commit failed, not processed: " + e);
                        break;
                    }
                    rec(r);
                }
            }
        } catch (WakeupException e) {
            // SIGTERM: close below.
        } finally {
            consumer.close();
            out("CLOSED");
            System.out.flush();
            closed.countDown();
        }
    }

    private static long firstAfter(KafkaConsumer<String, String> consumer) {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < end) {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                return r.offset();
            }
        }
        return -1;
    }

    private static void seek(String bootstrap, String topic, long ts) {
        Properties props = consumerProps(bootstrap, null);
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            int read = 0;
            long end = System.nanoTime() + TIMEOUT.toNanos();
            while (read < 10 && System.nanoTime() < end) {
                read += consumer.poll(Duration.ofMillis(200)).count();
            }
            out("READ", read);
            consumer.seekToBeginning(List.of(tp));
            out("BEGINNING", firstAfter(consumer));
            consumer.seek(tp, SEEK_OFFSET);
            out("OFFSET", firstAfter(consumer));
            OffsetAndTimestamp found = consumer.offsetsForTimes(Map.of(tp, ts + SEEK_TS_DELTA), TIMEOUT).get(tp);
            consumer.seek(tp, found.offset());
            out("TIMESTAMP", firstAfter(consumer));
            consumer.seekToEnd(List.of(tp));
            out("ENDPOS", consumer.position(tp, TIMEOUT));
            int late = 0;
            end = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < end) {
                late += consumer.poll(Duration.ofMillis(200)).count();
            }
            out("END", late);
        }
    }
}
